"""A third held-out test corpus: "footage" made of real photographs.

Why: the two generated test corpora (``shots.py``) come from one generator, with noise-field
backdrops and drawn actors. This one shares none of their drawing and none of the tune corpora's
(``corpus.py`` / ``render.py``): each *shot* (truth level 1) is a slow pan and zoom over one real
photograph that ships inside scikit-image's wheel (a cat, a rocket, a coffee cup, a microscope
slide, the moon...), and its *actors* are soft-edged cut-outs of other photographs. An *action*
(truth level 0, 1.5-8 s) is what one actor does: rest, slide, bob, turn or pulse, or stay out of
sight; at an action boundary one actor takes up another behaviour from where it is, and now and
then shows another cut-out. Shots are joined by hard cuts, cross-dissolves (0.5-1.5 s) or soft
wipes (0.5-1 s), a gradual transition's truth boundary at its midpoint; every shot boundary is an
action boundary. Slow exposure drift and sensor noise lie over every frame. Use it only as a test set.

CLI: ``python -m pipelines.sample.photos --out DIR --videos N --seed S``.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.sample.corpus import (
    EditedVideo,
    Transition,
    _rate,
    generator_options,
    generator_parser,
    write_shot_corpus,
)

# colour photographs, and grey ones shown in colour by a tint (scikit-image's data folder)
COLOUR_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                 "hubble_deep_field.jpg", "retina.jpg", "ihc.png")
GREY_PHOTOS = ("camera.png", "moon.png", "coins.png", "brick.png", "grass.png", "gravel.png")
PHOTOS = COLOUR_PHOTOS + GREY_PHOTOS
BEHAVIOURS = ("rest", "slide", "bob", "turn", "pulse", "away")
TRANSITIONS = ("cut", "dissolve", "wipe")


@dataclass(frozen=True)
class PhotosOptions:
    videos: int = 6
    seed: int = 0
    min_duration_s: float = 40.0
    max_duration_s: float = 80.0
    fps: tuple[float, ...] = (24.0, 30.0, 15.0)
    size: int = 128
    exact: bool = False  # lossless H.264: the same pixels on every run (corpus.X264_EXACT)


@dataclass(frozen=True)
class Cutout:
    photo: int  # index into photos()
    centre: tuple[float, float]  # (y, x) in the photo, fractions
    side: float  # fraction of the photo's shorter side


@dataclass(frozen=True)
class Move:
    """What one actor does from ``since_s`` on: a behaviour started at ``at`` (frame fractions), angle and
    scale, until one of the shot's actions changes it (the other actor's may change meanwhile)."""

    behaviour: str
    since_s: float
    cutout: Cutout
    at: tuple[float, float]
    angle: float
    scale: float  # fraction of the frame side
    rate: float  # speed (frame fractions/s), frequency (Hz) or turn (rad/s)
    heading: float  # radians: a slide's direction


@dataclass(frozen=True)
class Action:
    start_s: float
    end_s: float
    moves: tuple[Move, ...]  # one per actor

    @property
    def label(self) -> str:
        return "+".join(m.behaviour for m in self.moves)


@dataclass(frozen=True)
class Shot:
    start_s: float
    end_s: float
    photo: int
    view_from: tuple[float, float, float]  # (y, x, side) of the crop, fractions of the photo
    view_to: tuple[float, float, float]
    actions: tuple[Action, ...]

    @property
    def label(self) -> str:
        return PHOTOS[self.photo].split(".")[0]


@functools.lru_cache(maxsize=1)
def photos() -> tuple[np.ndarray, ...]:
    """Every photograph of PHOTOS as [H, W, 3] float32 in 0-255 (grey ones tinted warm or cool in turn)."""
    import skimage  # the photographs ship in its wheel: scripts/setup.sh installs it
    from PIL import Image

    folder = Path(skimage.__file__).parent / "data"
    loaded = []
    for k, name in enumerate(PHOTOS):
        image = np.asarray(Image.open(folder / name).convert("RGB"), np.float32)
        if name in GREY_PHOTOS:
            tint = np.array([1.0, 0.85, 0.7]) if k % 2 else np.array([0.75, 0.9, 1.0])
            image = image * tint.astype(np.float32)
        loaded.append(image)
    return tuple(loaded)


def _lengths(rng: np.random.Generator, total: float, low: float, high: float) -> list[float]:
    """Pieces of ``total`` seconds, each ``low``-``high`` (the last one takes what is left)."""
    pieces = []
    while total > high:
        piece = round(float(rng.uniform(low, min(high, total - low))), 3)
        pieces.append(piece)
        total -= piece
    return [*pieces, round(total, 3)]


def _other_photo(rng: np.random.Generator, not_photo: int) -> int:
    return int(rng.choice([k for k in range(len(PHOTOS)) if k != not_photo]))


def _centre(rng: np.random.Generator, side: float) -> tuple[float, float]:
    """(y, x), fractions: where a square of ``side`` lies wholly inside."""
    return float(rng.uniform(side / 2, 1 - side / 2)), float(rng.uniform(side / 2, 1 - side / 2))


def _cutout(rng: np.random.Generator, not_photo: int) -> Cutout:
    side = float(rng.uniform(0.2, 0.45))
    return Cutout(_other_photo(rng, not_photo), _centre(rng, side), side)


def _move(rng: np.random.Generator, behaviour: str, since_s: float, cutout: Cutout, at, angle: float,
          scale: float) -> Move:
    # bobs and pulses stay well below the 2 Hz at which the presets sample, so no sample rate hides them
    rate = {"slide": rng.uniform(0.06, 0.2), "bob": rng.uniform(0.3, 0.8), "pulse": rng.uniform(0.3, 0.8),
            "turn": rng.uniform(1.0, 3.0) * rng.choice([-1, 1])}.get(behaviour, 0.0)
    return Move(behaviour, since_s, cutout, at, angle, scale, float(rate), float(rng.uniform(0, 2 * math.pi)))


def _next_move(rng: np.random.Generator, move: Move, at_s: float, photo: int) -> Move:
    """Another behaviour from ``at_s`` on, from where ``move`` left the actor; sometimes another cut-out."""
    at, angle, scale = _pose(move, at_s - move.since_s)[:3]
    behaviour = str(rng.choice([b for b in BEHAVIOURS if b != move.behaviour]))
    cutout = _cutout(rng, photo) if rng.random() < 0.3 else move.cutout
    return _move(rng, behaviour, at_s, cutout, at, angle, scale)


def _make_shot(rng: np.random.Generator, start: float, end: float, previous_photo: int) -> Shot:
    photo = _other_photo(rng, previous_photo)
    view = [(*_centre(rng, side), float(side)) for side in rng.uniform(0.45, 0.9, 2)]
    moves = [_move(rng, str(rng.choice(BEHAVIOURS[:-1])), start, _cutout(rng, photo), _centre(rng, 0.5), 0.0,
                   float(rng.uniform(0.15, 0.35))) for _ in range(1 if rng.random() < 0.6 else 2)]
    actions, t = [], start
    for length in _lengths(rng, end - start, 1.5, 8.0):
        if actions:
            changed = int(rng.integers(len(moves)))
            moves[changed] = _next_move(rng, moves[changed], actions[-1].end_s, photo)
        actions.append(Action(round(t, 6), round(t + length, 6), tuple(moves)))
        t += length
    return Shot(start, end, photo, view[0], view[1], tuple(actions))


def make_photo_specs(options: PhotosOptions = PhotosOptions()) -> list[EditedVideo]:
    videos = []
    for index in range(options.videos):
        rng = np.random.default_rng([options.seed, index, 41])
        fps = _rate(float(rng.choice(options.fps)))
        frames = int(float(rng.uniform(options.min_duration_s, options.max_duration_s)) * fps)
        duration = float(frames / fps)
        shots, transitions, t, photo = [], [], 0.0, -1
        for length in _lengths(rng, duration, 8.0, 20.0):
            shots.append(_make_shot(rng, round(t, 6), round(t + length, 6), photo))
            photo, t = shots[-1].photo, t + length
        for shot in shots[1:]:
            kind = str(rng.choice(TRANSITIONS, p=[0.5, 0.3, 0.2]))
            span = {"cut": 0.0, "dissolve": rng.uniform(0.5, 1.5), "wipe": rng.uniform(0.5, 1.0)}[kind]
            transitions.append(Transition(shot.start_s, kind, round(float(span), 3)))
        videos.append(EditedVideo(f"photos/video_{index:03d}.mp4", options.size, fps, frames,
                                  int(rng.integers(1 << 30)), tuple(shots), tuple(transitions)))
    return videos


def _reflect(u: float, low: float, high: float) -> float:
    """``u`` folded back and forth into [low, high] (an actor that slides off an edge comes back)."""
    span = high - low
    phase = (u - low) % (2 * span)
    return low + (phase if phase <= span else 2 * span - phase)


def _pose(move: Move, tau: float) -> tuple[tuple[float, float], float, float, bool]:
    """(position, angle, scale, visible) ``tau`` seconds after a move's ``since_s``."""
    y, x = move.at
    angle, scale = move.angle, move.scale
    if move.behaviour == "slide":
        y = _reflect(y + move.rate * tau * math.sin(move.heading), 0.15, 0.85)
        x = _reflect(x + move.rate * tau * math.cos(move.heading), 0.15, 0.85)
    elif move.behaviour == "bob":
        y = y + 0.08 * math.sin(2 * math.pi * move.rate * tau)
    elif move.behaviour == "turn":
        angle = angle + move.rate * tau
    elif move.behaviour == "pulse":
        scale = scale * (1 + 0.3 * math.sin(2 * math.pi * move.rate * tau))
    return (y, x), angle, scale, move.behaviour != "away"


def _bilinear(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``image`` [H, W, 3] read at fractional pixel rows ``ys`` and columns ``xs`` (clamped to the edge)."""
    height, width = image.shape[:2]
    ys, xs = np.clip(ys, 0, height - 1.001), np.clip(xs, 0, width - 1.001)
    y0, x0 = ys.astype(np.int64), xs.astype(np.int64)
    wy, wx = (ys - y0)[..., None], (xs - x0)[..., None]
    top = image[y0, x0] * (1 - wx) + image[y0, x0 + 1] * wx
    bottom = image[y0 + 1, x0] * (1 - wx) + image[y0 + 1, x0 + 1] * wx
    return top * (1 - wy) + bottom * wy


def _view(shot: Shot, size: int, t: float) -> np.ndarray:
    """The camera's crop of the shot's photo at ``t``: pan and zoom from view_from to view_to, eased."""
    image = photos()[shot.photo]
    p = min(max((t - shot.start_s) / max(shot.end_s - shot.start_s, 1e-6), 0.0), 1.0)
    p = p * p * (3 - 2 * p)
    cy, cx, side = (a + (b - a) * p for a, b in zip(shot.view_from, shot.view_to))
    short = min(image.shape[:2])
    grid = (np.arange(size) + 0.5) / size - 0.5
    ys = (cy * image.shape[0] + grid * side * short)[:, None].repeat(size, 1)
    xs = (cx * image.shape[1] + grid * side * short)[None, :].repeat(size, 0)
    return _bilinear(image, ys, xs)


def _paste(frame: np.ndarray, move: Move, tau: float) -> None:
    """The actor's cut-out, turned and scaled, blended in through a soft round edge."""
    (y, x), angle, scale, visible = _pose(move, tau)
    if not visible:
        return
    size = frame.shape[0]
    radius = scale * size / 2
    lo_y, hi_y = max(int(y * size - radius) - 1, 0), min(int(y * size + radius) + 2, size)
    lo_x, hi_x = max(int(x * size - radius) - 1, 0), min(int(x * size + radius) + 2, size)
    if lo_y >= hi_y or lo_x >= hi_x:
        return
    dy = (np.arange(lo_y, hi_y) + 0.5 - y * size)[:, None] / radius
    dx = (np.arange(lo_x, hi_x) + 0.5 - x * size)[None, :] / radius
    u = dx * math.cos(angle) + dy * math.sin(angle)  # the cut-out's own axes, -1..1 across
    v = -dx * math.sin(angle) + dy * math.cos(angle)
    alpha = np.clip((1.0 - np.hypot(u, v)) / 0.15, 0.0, 1.0)[..., None]
    cut, image = move.cutout, photos()[move.cutout.photo]
    short = min(image.shape[:2])
    ys = cut.centre[0] * image.shape[0] + v * cut.side * short / 2
    xs = cut.centre[1] * image.shape[1] + u * cut.side * short / 2
    patch = frame[lo_y:hi_y, lo_x:hi_x]
    frame[lo_y:hi_y, lo_x:hi_x] = patch * (1 - alpha) + _bilinear(image, ys, xs) * alpha


def _shot_frame(shot: Shot, size: int, t: float) -> np.ndarray:
    frame = _view(shot, size, t)
    action = next((a for a in reversed(shot.actions) if a.start_s <= t), shot.actions[0])  # joins reach past a shot
    for move in action.moves:
        _paste(frame, move, t - move.since_s)
    return frame


def _joined(video: EditedVideo, k: int, p: float, t: float) -> np.ndarray:
    """Shots k and k + 1 at ``t``, ``p`` of the way (0 -> 1) through the gradual join between them."""
    before, after = (_shot_frame(shot, video.size, t) for shot in video.shots[k:k + 2])
    if video.transitions[k].kind == "wipe":
        edge = (np.arange(video.size) + 0.5) / video.size
        front = 1.2 * p - 0.1  # the soft edge sweeps left to right, half the frame at the boundary
        p = np.clip((front - edge) / 0.1 + 0.5, 0.0, 1.0)[None, :, None]
    return before * (1 - p) + after * p


def render_photo_frame(video: EditedVideo, t: float) -> np.ndarray:
    """[size, size, 3] uint8 at ``t`` seconds: the shot (or two, across a gradual join), exposure drift
    and sensor noise."""
    i = next((k for k, shot in enumerate(video.shots) if t < shot.end_s), len(video.shots) - 1)
    frame = None
    for k in (i - 1, i):  # a gradual join straddles the boundary between shots k and k + 1
        if 0 <= k < len(video.transitions) and video.transitions[k].kind != "cut":
            join = video.transitions[k]
            p = (t - join.at_s) / join.length_s + 0.5  # 0 -> 1 across the join
            if 0.0 <= p <= 1.0:
                frame = _joined(video, k, p, t)
    if frame is None:
        frame = _shot_frame(video.shots[i], video.size, t)
    gain = 1 + 0.04 * math.sin(0.4 * t + video.seed % 11)
    noise = np.random.default_rng([video.seed, round(t * 1000)]).normal(0.0, 2.5, frame.shape)
    return np.clip(np.rint(frame * gain + noise), 0, 255).astype(np.uint8)


def write_photos_corpus(folder: str | Path, options: PhotosOptions = PhotosOptions()) -> Path:
    """Every video below ``folder`` and ``truth.csv`` at its root; returns the truth path."""
    return write_shot_corpus(folder, make_photo_specs(options), render_photo_frame, options.exact)


def main(argv: list[str] | None = None) -> int:
    parser = generator_parser("python -m pipelines.sample.photos", __doc__, PhotosOptions())
    args = parser.parse_args(argv)
    options = PhotosOptions(**generator_options(args))
    truth = write_photos_corpus(args.out, options)
    print(f"wrote {options.videos} videos and {truth.name} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
