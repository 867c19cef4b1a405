"""A held-out test corpus: edited "footage" of shots joined by cuts, fades and dissolves.

Why: the sample corpus (``corpus.py`` / ``render.py``) was used to tune options, so it cannot
measure them. This generator shares none of its drawing: each *shot* (truth level 1) is a smooth
value-noise backdrop (clouds, haze or mottle in one hue family, with soft colour blobs) seen by
a camera that stays, pans, zooms or shakes, with brightness flicker and sensor noise on every
frame. Shots are joined by hard cuts, fades through black (0.5-1 s) or cross-dissolves
(0.5-1.5 s); a gradual transition's truth boundary is its midpoint. Inside a shot, *actions*
(truth level 0, 1.5-10 s, ragged) are what one or two actors (soft blobs, polygons or textured
sprites, 4-30 % of the frame side) do; an action boundary starts, stops, turns or speeds up an
actor, switches actors, or grows, shrinks or recolours one (eased over 0.3 s), so some
boundaries are subtle. Every shot boundary is an action boundary. Use it only as a test set.

CLI: ``python -m pipelines.sample.shots --out DIR --videos N --seed S``.
"""

from __future__ import annotations

import colorsys
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
    numbers,
    write_shot_corpus,
)

TRANSITIONS = ("cut", "fade", "dissolve")
CAMERAS = ("still", "pan", "zoom-in", "zoom-out", "shake")
BACKDROPS = {"clouds": (3, 6, 12, 24), "haze": (2, 4), "mottle": (8, 16, 32)}  # lattice cells
ACTORS = ("blob", "poly", "sprite")
MOTIONS = ("still", "drift", "circle", "spin")
EASE_S = 0.3  # size, colour and visibility changes take this long


@dataclass(frozen=True)
class ShotsOptions:
    videos: int = 6
    seed: int = 0
    min_duration_s: float = 40.0
    max_duration_s: float = 90.0
    fps: tuple[float, ...] = (25.0, 29.97, 12.0)
    size: int = 128
    transitions: tuple[float, float, float] = (0.4, 0.3, 0.3)  # weights: cut, fade, dissolve
    exact: bool = False  # lossless H.264: the same pixels on every run (corpus.X264_EXACT)


@dataclass(frozen=True)
class Actor:
    kind: str  # one of ACTORS
    size: float  # diameter as a fraction of the frame side (at scale 1)
    sides: int  # polygons
    aspect: float
    seed: int  # wobble and texture


@dataclass(frozen=True)
class Pose:
    """What one actor does during one action (positions in frame fractions, unfolded)."""

    motion: str
    visible: bool
    u0: tuple[float, float]
    velocity: tuple[float, float]  # per second
    orbit: float  # circling radius
    omega: float  # rad/s: circling and self-rotation
    phase: float
    rot0: float
    scale: float
    color: tuple[float, float, float]  # RGB 0-255


@dataclass(frozen=True)
class ShotAction:
    start_s: float
    end_s: float
    label: str
    poses: tuple[Pose, ...]


@dataclass(frozen=True)
class Shot:
    start_s: float
    end_s: float
    backdrop: str
    camera: str
    hue: float
    dark: bool
    seed: int
    camera_args: tuple[float, ...]  # pan velocity (px/s) or zoom ends or shake amplitude/phases
    actors: tuple[Actor, ...]
    actions: tuple[ShotAction, ...]

    @property
    def label(self) -> str:
        return f"{'dark' if self.dark else 'light'}-{self.backdrop}-{self.camera}"


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    return tuple(255.0 * c for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _split(rng: np.random.Generator, total: float, lo: float, hi: float) -> list[float]:
    """Cut points (ms-rounded, ragged) splitting [0, total] into pieces of lo-hi s."""
    cuts, t = [], 0.0
    while total - t > hi:
        t = round(t + float(rng.uniform(lo, min(hi, total - t - lo))), 3)
        cuts.append(t)
    return cuts


def _set_motion(rng: np.random.Generator, st: dict, motion: str) -> None:
    angle, sign, speed = rng.uniform(0, 2 * math.pi), 1.0 if rng.random() < 0.5 else -1.0, rng.uniform(0.06, 0.25)
    st.update(motion=motion, velocity=(0.0, 0.0), orbit=0.0, omega=0.0)
    if motion == "drift":
        st["velocity"] = (speed * math.cos(angle), speed * math.sin(angle))
    elif motion == "circle":
        st.update(orbit=rng.uniform(0.08, 0.2), omega=sign * rng.uniform(1.2, 3.0))
    elif motion == "spin":
        st["omega"] = sign * rng.uniform(1.5, 4.0)


def _change(rng: np.random.Generator, states: list[dict], actors: tuple[Actor, ...], looks: bool | None) -> str:
    """Apply one random change (of looks, of motion, or either when None); returns its name."""
    shown = [i for i, s in enumerate(states) if s["visible"]]
    moving = [i for i in shown if states[i]["motion"] != "still"]
    options = ["recolor", "resize"] + ["stop", "speed"] * bool(moving)
    options += ["start"] * (len(moving) < len(shown))
    options += ["turn"] * any(states[i]["motion"] == "drift" for i in shown)
    options += ["switch", "toggle"] * (len(states) == 2)
    what = str(rng.choice([o for o in options if looks is None or (o in ("recolor", "resize")) == looks]))
    st = states[i := int(rng.choice(shown))]
    if what == "stop":
        _set_motion(rng, states[int(rng.choice(moving))], "still")
    elif what == "start":
        _set_motion(rng, states[int(rng.choice([j for j in shown if j not in moving]))],
                    str(rng.choice(MOTIONS[1:])))
    elif what == "turn":
        st = states[int(rng.choice([j for j in shown if states[j]["motion"] == "drift"]))]
        a = rng.uniform(math.pi / 3, math.pi) * (1 if rng.random() < 0.5 else -1)
        vx, vy = st["velocity"]
        st["velocity"] = (vx * math.cos(a) - vy * math.sin(a), vx * math.sin(a) + vy * math.cos(a))
    elif what == "speed":
        st = states[int(rng.choice(moving))]
        f = rng.uniform(0.3, 0.5) if rng.random() < 0.5 else rng.uniform(2.0, 2.8)
        st.update(velocity=tuple(f * v for v in st["velocity"]), omega=f * st["omega"])
    elif what == "switch":  # the actors trade what they do (one stops, the other goes)
        a, b = states
        moved = {k: a[k] for k in ("motion", "velocity", "orbit", "omega")}
        a.update({k: b[k] for k in moved}), b.update(moved)
        if a["motion"] == b["motion"] == "still":
            _set_motion(rng, a, "drift")
        a["visible"] = b["visible"] = True
    elif what == "toggle":  # one actor enters or leaves (eased)
        j = int(rng.choice(shown)) if len(shown) == 2 else 1 - shown[0]
        states[j]["visible"] = len(shown) < 2
    elif what == "resize":
        big = actors[i].size * st["scale"] * 1.6 > 0.34 or rng.random() < 0.4
        st["scale"] *= rng.uniform(0.5, 0.7) if big else rng.uniform(1.4, 1.8)
    else:
        h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in st["color"]))
        old, st["color"] = st["color"], _hsv(h + rng.uniform(0.25, 0.75), s, v)
        for _ in range(20):  # plainly another colour
            if max(abs(a - b) for a, b in zip(old, st["color"])) > 100 * v:
                break
            st["color"] = _hsv(h + rng.uniform(0.25, 0.75), s, v)
    return what


def _unfolded(st: dict, tau: float) -> tuple[float, float]:
    a = st["phase"] + st["omega"] * tau
    r, p = st["orbit"], st["phase"]
    return (st["u0"][0] + st["velocity"][0] * tau + r * (math.cos(a) - math.cos(p)),
            st["u0"][1] + st["velocity"][1] * tau + r * (math.sin(a) - math.sin(p)))


def _make_shot(rng, spans, start, end, hue, dark) -> Shot:
    actors = tuple(Actor(str(rng.choice(ACTORS)), float(rng.uniform(*rng.choice(
        [(0.04, 0.1), (0.12, 0.2), (0.22, 0.3)]))), int(rng.integers(3, 8)),
        float(rng.uniform(0.7, 1.4)), int(rng.integers(2 ** 31))) for _ in range(rng.integers(1, 3)))
    states = []
    for k in range(len(actors)):
        st = dict(visible=k == 0 or rng.random() < 0.7, u0=(rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)),
                  phase=rng.uniform(0, 2 * math.pi), rot0=rng.uniform(0, 2 * math.pi), scale=1.0,
                  color=_hsv(hue + rng.uniform(0.3, 0.7), rng.uniform(0.55, 1.0),
                             rng.uniform(0.85, 1.0) if dark else rng.uniform(0.3, 0.5)))
        _set_motion(rng, st, str(rng.choice(MOTIONS)))
        states.append(st)
    actions = []
    for k, (s, e) in enumerate(spans):
        changes = [] if k == 0 else [_change(rng, states, actors, None)]
        if changes and rng.random() < 0.3:  # sometimes a change of looks and of motion at once
            changes.append(_change(rng, states, actors, changes[0] not in ("recolor", "resize")))
        doing = ",".join(f"{a.kind}-{st['motion']}" for a, st in zip(actors, states) if st["visible"])
        actions.append(ShotAction(s, e, f"{'+'.join(changes) or 'enter'}:{doing}",
                                  tuple(Pose(**{k: st[k] for k in Pose.__dataclass_fields__})
                                        for st in states)))
        for st in states:  # carry every actor on to the next action without a jump
            st.update(u0=_unfolded(st, e - s), rot0=st["rot0"] + st["omega"] * (e - s),
                      phase=st["phase"] + st["omega"] * (e - s))
    camera = str(rng.choice(CAMERAS, p=[0.4, 0.15, 0.15, 0.1, 0.2]))
    speed, angle = rng.uniform(3, 8), rng.uniform(0, 2 * math.pi)
    args = {"pan": (speed * math.cos(angle), speed * math.sin(angle)),
            "zoom-in": (1.0, rng.uniform(0.55, 0.7)),
            "zoom-out": (rng.uniform(0.6, 0.75), rng.uniform(1.15, 1.35)),
            "shake": (rng.uniform(1.0, 2.5), *rng.uniform(0, 2 * math.pi, 2)), "still": ()}[camera]
    return Shot(start, end, str(rng.choice(list(BACKDROPS))), camera, hue, dark,
                int(rng.integers(2 ** 31)), tuple(float(a) for a in args), actors, tuple(actions))


def make_shot_specs(options: ShotsOptions = ShotsOptions()) -> list[EditedVideo]:
    """The corpus as specs; the same options always give the same videos."""
    videos, weights = [], np.asarray(options.transitions, float) / sum(options.transitions)
    for i in range(options.videos):
        rng = np.random.default_rng([options.seed, i, 0x5407])
        fps = _rate(options.fps[int(rng.integers(len(options.fps)))])
        frames = max(1, round(rng.uniform(options.min_duration_s, options.max_duration_s) * fps))
        total = float(frames / fps)
        bounds = [0.0] + _split(rng, total, 1.5, 10.0) + [total]
        groups, k = [], 0  # shots of 1-4 actions
        while k < len(bounds) - 1:
            n = int(rng.choice([1, 2, 2, 3, 3, 4]))
            groups.append(bounds[k:k + n + 1])
            k += n
        shots, hue, dark = [], rng.random(), bool(rng.random() < 0.5)
        for g in groups:
            hue, dark = hue + rng.uniform(0.25, 0.75), (not dark) if rng.random() < 0.7 else dark
            shots.append(_make_shot(rng, list(zip(g, g[1:])), g[0], g[-1], hue % 1.0, dark))
        transitions = []
        for shot in shots[1:]:
            kind = str(rng.choice(TRANSITIONS, p=weights))
            length = {"cut": 0.0, "fade": rng.uniform(0.5, 1.0), "dissolve": rng.uniform(0.5, 1.5)}[kind]
            transitions.append(Transition(shot.start_s, kind, round(float(length), 3)))
        videos.append(EditedVideo(f"set{i % 2}/shots_{i:03d}.mp4", options.size, fps, frames,
                                  int(rng.integers(2 ** 31)), tuple(shots), tuple(transitions)))
    return videos


def _periodic_noise(rng: np.random.Generator, n: int, cells: int) -> np.ndarray:
    """Smooth value noise [n, n] that tiles (a random lattice, smoothstep-interpolated)."""
    lattice, u = rng.random((cells, cells)), np.arange(n) * cells / n
    i0 = u.astype(int)
    f, i1 = (u - i0) ** 2 * (3 - 2 * (u - i0)), (i0 + 1) % cells
    rows = lattice[i0] * (1 - f)[:, None] + lattice[i1] * f[:, None]
    return rows[:, i0] * (1 - f) + rows[:, i1] * f


@functools.lru_cache(maxsize=32)
def _canvas(shot: Shot, size: int) -> np.ndarray:
    """The shot's backdrop: a tiling float64 [2 size, 2 size, 3] canvas the camera looks at."""
    rng, n = np.random.default_rng(shot.seed), 2 * size
    field = sum(0.6 ** k * _periodic_noise(rng, n, c) for k, c in enumerate(BACKDROPS[shot.backdrop]))
    field = (field - field.min()) / (np.ptp(field) + 1e-9)
    lo, hi = (0.1, 0.4) if shot.dark else (0.5, 0.85)
    c0 = np.array(_hsv(shot.hue, rng.uniform(0.45, 0.9), lo))
    c1 = np.array(_hsv(shot.hue + rng.uniform(-0.12, 0.12), rng.uniform(0.2, 0.6), hi))
    img = c0 + field[..., None] * (c1 - c0)
    yy, xx = np.mgrid[0:n, 0:n] / n
    for _ in range(int(rng.integers(2, 6))):  # soft colour blobs (wrapped, so still tiling)
        cy, cx, sigma = rng.random(), rng.random(), rng.uniform(0.06, 0.18)
        d2 = np.minimum(abs(yy - cy), 1 - abs(yy - cy)) ** 2 + np.minimum(abs(xx - cx), 1 - abs(xx - cx)) ** 2
        w = rng.uniform(0.3, 0.6) * np.exp(-d2 / (2 * sigma ** 2))
        img += w[..., None] * (np.array(_hsv(shot.hue + rng.uniform(0.3, 0.6), 0.5, (lo + hi) / 2)) - img)
    return img


def _view(shot: Shot, size: int, t: float) -> np.ndarray:
    """What the camera sees at ``t``: bilinear samples of the tiling canvas."""
    canvas, tau, a = _canvas(shot, size), t - shot.start_s, shot.camera_args
    n, z, ox, oy = 2 * size, 1.0, size / 2, size / 2
    if shot.camera == "pan":
        ox, oy = ox + a[0] * tau, oy + a[1] * tau
    elif shot.camera.startswith("zoom"):
        frac = min(max(tau / (shot.end_s - shot.start_s), 0.0), 1.0)
        z = a[0] + (a[1] - a[0]) * frac
        ox = oy = size - z * size / 2
    elif shot.camera == "shake":
        ox += a[0] * (math.sin(11 * tau + a[1]) + 0.4 * math.sin(27 * tau))
        oy += a[0] * (math.sin(13 * tau + a[2]) + 0.4 * math.cos(23 * tau))
    xs, ys = ox + z * np.arange(size), oy + z * np.arange(size)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0)[None, :, None], (ys - y0)[:, None, None]
    rows = canvas[y0 % n] * (1 - fy) + canvas[(y0 + 1) % n] * fy
    return rows[:, x0 % n] * (1 - fx) + rows[:, (x0 + 1) % n] * fx


@functools.lru_cache(maxsize=64)
def _texture(seed: int) -> np.ndarray:
    return _periodic_noise(np.random.default_rng(seed), 32, 5) ** 2 * 1.3


def _fold(u: float, margin: float) -> float:
    """Bounce an unfolded coordinate off the frame's edges (a triangle wave)."""
    span = 1 - 2 * margin
    x = (u - margin) % (2 * span)
    return margin + (2 * span - x if x > span else x)


def _draw_actor(frame: np.ndarray, actor: Actor, pose: Pose, before: Pose, tau: float) -> None:
    size = frame.shape[0]
    e = min(max(tau / EASE_S, 0.0), 1.0) ** 2 * (3 - 2 * min(max(tau / EASE_S, 0.0), 1.0))
    shown = (1 - e) * before.visible + e * pose.visible
    if shown <= 0:
        return
    cx, cy = (_fold(u, min(0.5 * actor.size, 0.4)) * size for u in _unfolded(vars(pose), tau))
    r = 0.5 * actor.size * ((1 - e) * before.scale + e * pose.scale) * size
    color = (1 - e) * np.array(before.color, np.float64) + e * np.array(pose.color, np.float64)
    x0, x1 = max(int(cx - 1.5 * r - 2), 0), min(int(cx + 1.5 * r + 3), size)
    y0, y1 = max(int(cy - 1.5 * r - 2), 0), min(int(cy + 1.5 * r + 3), size)
    if x1 <= x0 or y1 <= y0:
        return
    dx = (np.arange(x0, x1, dtype=np.float64) + 0.5 - cx)[None, :]
    dy = (np.arange(y0, y1, dtype=np.float64) + 0.5 - cy)[:, None]
    rot = pose.rot0 + pose.omega * tau
    xr = (dx * math.cos(rot) + dy * math.sin(rot)) / actor.aspect
    yr = -dx * math.sin(rot) + dy * math.cos(rot)
    fill = np.broadcast_to(color, (y1 - y0, x1 - x0, 3))
    if actor.kind == "blob":  # soft-edged, wobbly outline
        ang, w = np.arctan2(yr, xr), actor.seed % 628 / 100
        edge = r * (1 + 0.15 * np.sin((2 + actor.sides % 3) * ang + w) + 0.08 * np.sin(5 * ang - w))
        alpha = np.clip((edge - np.hypot(xr, yr)) / (0.35 * r + 1), 0, 1)
    elif actor.kind == "poly":  # anti-aliased polygon: the farthest edge half-plane
        k = np.arange(actor.sides) * 2 * math.pi / actor.sides
        dist = (xr[..., None] * np.cos(k) + yr[..., None] * np.sin(k)).max(-1)
        alpha = np.clip(r * math.cos(math.pi / actor.sides) - dist + 0.5, 0, 1)
    else:  # sprite: an ellipse whose mottled texture turns and travels with it
        tex = _texture(actor.seed)
        ix = np.floor(xr / max(r, 1) * 10).astype(int) % 32
        iy = np.floor(yr / max(r, 1) * 10).astype(int) % 32
        fill = np.minimum(color * (0.25 + 1.1 * tex[iy, ix])[..., None] + 20, 255)
        alpha = np.clip((1 - np.hypot(xr, yr) / max(r, 1)) * r / 1.5, 0, 1)
    patch = frame[y0:y1, x0:x1]
    patch += (shown * alpha)[..., None] * (fill - patch)


def _shot_frame(video: EditedVideo, shot: Shot, t: float) -> np.ndarray:
    frame = _view(shot, video.size, t)
    j = max(0, sum(a.start_s <= t for a in shot.actions) - 1)
    action = shot.actions[j]
    for i, actor in enumerate(shot.actors):
        before = shot.actions[j - 1].poses[i] if j else action.poses[i]
        _draw_actor(frame, actor, action.poses[i], before, t - action.start_s)
    return frame


@functools.lru_cache(maxsize=8)
def _sensor_noise(seed: int, size: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2.5, (8, size, size, 3))


def render_shot_frame(video: EditedVideo, t: float) -> np.ndarray:
    """The frame of ``video`` shown at ``t`` seconds: uint8 RGB ``[size, size, 3]``."""
    i = max(0, sum(s.start_s <= t for s in video.shots) - 1)
    frame = None
    for k, tr in enumerate(video.transitions):
        a = (t - tr.at_s) / tr.length_s + 0.5 if tr.length_s else -1.0
        if 0 <= a < 1:
            before, after = video.shots[k], video.shots[k + 1]
            if tr.kind == "fade":
                frame = (_shot_frame(video, before, t) * (1 - 2 * a) if a < 0.5
                         else _shot_frame(video, after, t) * (2 * a - 1))
            else:
                frame = (_shot_frame(video, before, t) * (1 - a) + _shot_frame(video, after, t) * a)
    if frame is None:
        frame = _shot_frame(video, video.shots[i], t)
    gain = 1 + 0.012 * math.sin(4.4 * t + video.seed % 7) + 0.006 * math.sin(14.5 * t)
    frame = frame * gain + _sensor_noise(video.seed, video.size)[(round(t * 1000) * 2654435761 >> 16) % 8]
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def write_shots_corpus(folder: str | Path, options: ShotsOptions = ShotsOptions()) -> Path:
    """Write every video below ``folder`` and ``truth.csv`` at its root; returns the truth path."""
    return write_shot_corpus(folder, make_shot_specs(options), render_shot_frame, options.exact)


def main(argv: list[str] | None = None) -> int:
    parser = generator_parser("python -m pipelines.sample.shots", __doc__, ShotsOptions())
    parser.add_argument("--transitions", type=numbers, default=ShotsOptions().transitions,
                        help="weights of cut,fade,dissolve")
    args = parser.parse_args(argv)
    options = ShotsOptions(**generator_options(args), transitions=args.transitions)
    truth = write_shots_corpus(args.out, options)
    print(f"wrote {options.videos} videos and {truth.name} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
