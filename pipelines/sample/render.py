"""Drawing the sample corpus: what a planted video shows at any instant.

A scene is a textured background of its own tint (sometimes panning); an action is a
foreground object with its own shape, colour and motion. In the photograph style the backdrop
is a window onto a real photograph and the object is cut out of another one (``_cutout``), as
detailed as real footage. ``render(spec, t)`` is exact and deterministic, so tests can compare
decoded frames with what was planted.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

COLORS = {"red": (230, 40, 40), "green": (40, 210, 70), "blue": (50, 90, 240),
          "yellow": (245, 225, 40), "magenta": (225, 40, 225), "white": (250, 250, 250)}
TINTS = {"teal": (0.2, 0.7, 0.7), "amber": (0.9, 0.6, 0.2), "violet": (0.55, 0.35, 0.85),
         "olive": (0.55, 0.65, 0.25), "rose": (0.85, 0.4, 0.5), "slate": (0.4, 0.5, 0.6)}
SHAPES = ("circle", "square", "diamond", "cross")
MOTIONS = ("orbit", "bounce", "zigzag", "pulse")
TEXTURES = ("stripes", "checker", "rings", "waves")
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")  # Debian's opencv-doc: its sample photographs
# the photograph style's backdrops (wide views) and cut-outs (close views); none of them is a photograph of a
# test corpus (scikit-image's, pipelines/sample/photos.py)
BACKDROPS = ("building.jpg", "home.jpg", "aero1.jpg", "leuvenA.jpg", "graf1.png", "board.jpg", "stuff.jpg",
             "messi5.jpg", "starry_night.jpg")
CUTOUTS = ("baboon.jpg", "fruits.jpg", "butterfly.jpg", "orange.jpg", "apple.jpg", "squirrel_cls.jpg",
           "HappyFish.jpg", "smarties.png", "rubberwhale1.png")
TURN_RAD_S = 2 * math.pi / 5  # a pulsing cut-out also turns, once in 5 s


@dataclass(frozen=True)
class Action:
    start_s: float
    end_s: float
    shape: str
    color: str
    motion: str
    phase: float  # radians; varies where the object starts

    @property
    def label(self) -> str:
        return f"{self.color}-{self.shape}-{self.motion}"


@dataclass(frozen=True)
class Scene:
    start_s: float
    end_s: float
    texture: str
    tint: str
    frequency: float  # texture periods across the frame
    angle: float  # radians
    pan_px_s: float  # 0 for a still camera
    actions: tuple[Action, ...]

    @property
    def label(self) -> str:
        return f"{self.tint}-{self.texture}"


@dataclass(frozen=True)
class VideoSpec:
    """Everything needed to draw one video; ``frame_times`` are the exact presentation times."""

    video_id: str
    size: int
    fps: Fraction
    lossless: bool
    scenes: tuple[Scene, ...]
    frame_times: tuple[float, ...] = field(repr=False)
    dissolve_s: float = 0.0  # scenes cross-dissolve over this long, centred on their boundary; 0: cuts
    handheld: bool = False  # a shaking camera, flickering light and sensor noise (`_handheld`)

    @property
    def duration_s(self) -> float:
        """Container duration: the last frame ends one nominal interval after it starts."""
        return self.frame_times[-1] + float(1 / self.fps)


def _at(spans, t: float):
    return next((s for s in spans if s.start_s <= t < s.end_s), spans[-1])


@functools.lru_cache(maxsize=4)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    # float64 throughout: float32 SIMD results can differ by an ulp with array alignment,
    # which would flip a rounded pixel and break exact-pixel tests.
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    return x, y


@functools.lru_cache(maxsize=32)
def photograph(name: str, size: int) -> np.ndarray:
    """The photograph ``name`` of OPENCV_DATA as float64 RGB [size, size, 3]: its centre square, resized."""
    if not (OPENCV_DATA / name).exists():
        raise FileNotFoundError(f"{OPENCV_DATA / name}: Debian's opencv-doc is not installed (apt-get install "
                                "opencv-doc, or scripts/setup-debian.sh as root)")
    with Image.open(OPENCV_DATA / name) as image:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        square = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BOX)
    return np.asarray(square, np.float64)


def _photo_background(scene: Scene, t: float, size: int) -> np.ndarray:
    """A window of ``size`` px onto the backdrop held at twice that size, from where ``scene.angle``
    puts it, panning back and forth at ``pan_px_s``."""
    travel = (scene.angle / math.pi * size + scene.pan_px_s * (t - scene.start_s)) % (2 * size)
    left = int(round(min(travel, 2 * size - travel)))  # reflected: the window stays inside the photograph
    top = size // 2
    return photograph(scene.texture, 2 * size)[top:top + size, left:left + size]


def _background(scene: Scene, t: float, size: int) -> np.ndarray:
    if scene.texture in BACKDROPS:
        return _photo_background(scene, t, size)
    x, y = _grid(size)
    tint = np.array(TINTS[scene.tint], np.float64)
    if scene.frequency == 0:
        return np.broadcast_to(tint * 160, (size, size, 3))
    shift = scene.pan_px_s * (t - scene.start_s)
    u = ((x + shift) * math.cos(scene.angle) + y * math.sin(scene.angle)) / size
    v = (-(x + shift) * math.sin(scene.angle) + y * math.cos(scene.angle)) / size
    k = 2 * math.pi * scene.frequency
    value = {
        "stripes": lambda: np.sin(k * u),
        "checker": lambda: np.sign(np.sin(k * u) * np.sin(k * v)),
        "rings": lambda: np.sin(k * np.hypot(u - 0.5, v - 0.5)),
        "waves": lambda: np.sin(k * u + 2 * np.sin(2 * math.pi * v)),
    }[scene.texture]()
    return (0.4 + 0.25 * value)[..., None] * tint * 255


def _object_place(action: Action, t: float, size: int) -> tuple[float, float, float]:
    """Where the object is at ``t``: its centre and radius, by its motion."""
    tau, c, radius = t - action.start_s, size / 2, size / 8
    wave = lambda period: abs(((tau / period + action.phase / (2 * math.pi)) % 1) * 2 - 1)
    if action.motion == "orbit":
        angle = action.phase + 2 * math.pi * tau / 3
        cx, cy = c + size / 4 * math.cos(angle), c + size / 4 * math.sin(angle)
    elif action.motion == "bounce":
        cx, cy = radius + wave(2.5) * (size - 2 * radius), c + size / 5 * math.sin(action.phase)
    elif action.motion == "zigzag":
        cx, cy = radius + wave(3) * (size - 2 * radius), radius + wave(1.3) * (size - 2 * radius)
    else:  # pulse
        cx, cy, radius = c, c, radius * (1 + 0.4 * math.sin(2 * math.pi * tau / 1.5))
    return cx, cy, radius


def _object_mask(action: Action, t: float, size: int) -> np.ndarray:
    x, y = _grid(size)
    cx, cy, radius = _object_place(action, t, size)
    dx, dy = np.abs(x - cx), np.abs(y - cy)
    return {
        "circle": lambda: dx ** 2 + dy ** 2 <= radius ** 2,
        "square": lambda: np.maximum(dx, dy) <= radius * 0.85,
        "diamond": lambda: dx + dy <= radius * 1.2,
        "cross": lambda: (np.minimum(dx, dy) <= radius * 0.35) & (np.maximum(dx, dy) <= radius),
    }[action.shape]()


def _cutout(action: Action, t: float, size: int, mask: np.ndarray) -> np.ndarray:
    """The object's pixels (``mask``) cut out of the photograph ``action.color``: the photograph moves
    with the object, half of it across the object, and grows with a pulsing one, which also turns.
    Why: a textured object that turns shows other pixels at every frame, as a real one does, and one
    that slides carries its texture over the backdrop's; a plain-coloured shape turned looks the same
    (the 44th round's striped shapes at 32 px did not over-cut where photos' cut-outs did)."""
    cx, cy, radius = _object_place(action, t, size)
    angle = action.phase + (TURN_RAD_S * (t - action.start_s) if action.motion == "pulse" else 0.0)
    x, y = _grid(size)
    dx, dy = x[mask] - cx, y[mask] - cy
    scale = size / (4 * radius)  # the object's diameter spans half the photograph
    u = (math.cos(angle) * dx + math.sin(angle) * dy) * scale + size / 2
    v = (-math.sin(angle) * dx + math.cos(angle) * dy) * scale + size / 2
    columns, rows = np.clip(np.rint(u), 0, size - 1).astype(int), np.clip(np.rint(v), 0, size - 1).astype(int)
    return photograph(action.color, size)[rows, columns]


def _scene_frame(scene: Scene, t: float, size: int) -> np.ndarray:
    """Float RGB of ``scene`` at ``t``; outside the scene, its nearest action goes on moving."""
    action = scene.actions[0] if t < scene.start_s else _at(scene.actions, t)
    frame = np.array(_background(scene, t, size), dtype=np.float64)
    mask = _object_mask(action, t, size)
    frame[mask] = COLORS[action.color] if action.color in COLORS else _cutout(action, t, size, mask)
    return frame


def render(spec: VideoSpec, t: float) -> np.ndarray:
    """The frame shown at ``t`` seconds: uint8 RGB ``[size, size, 3]``; within ``dissolve_s / 2`` of a
    scene boundary, the two scenes mixed in proportion to the time through the dissolve."""
    k = spec.scenes.index(_at(spec.scenes, t))
    frame = _scene_frame(spec.scenes[k], t, spec.size)
    half = spec.dissolve_s / 2
    for other in (k - 1, k + 1):
        if 0 <= other < len(spec.scenes) and half > 0:
            boundary = spec.scenes[max(k, other)].start_s
            if abs(t - boundary) < half:
                weight = 0.5 - abs(t - boundary) / spec.dissolve_s  # of the other scene: 0.5 at the boundary
                frame = (1 - weight) * frame + weight * _scene_frame(spec.scenes[other], t, spec.size)
    if spec.handheld:
        frame = _handheld(frame, spec.video_id, t)
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def _handheld(frame: np.ndarray, video_id: str, t: float) -> np.ndarray:
    """What real footage adds that no event causes: the camera shakes (a smooth wander of up to
    1/32 of the frame), the light flickers (+-8 % brightness) and the sensor adds noise (sd 6 grey
    levels), each drawn from the video's id and the time, so a frame is the same at every render."""
    phases = np.random.default_rng(zlib.crc32(video_id.encode())).uniform(0, 2 * math.pi, 5)
    def wander(slow: float, fast: float, phase: float, other: float) -> float:  # in [-1, 1]
        return 0.7 * math.sin(2 * math.pi * slow * t + phase) + 0.3 * math.sin(2 * math.pi * fast * t + other)

    reach = frame.shape[0] / 32
    dx = round(reach * wander(0.9, 2.3, phases[0], phases[1]))
    dy = round(reach * wander(0.7, 1.9, phases[2], phases[3]))
    gain = 1 + 0.08 * math.sin(2 * math.pi * 0.6 * t + phases[4])
    noise = np.random.default_rng([zlib.crc32(video_id.encode()), round(t * 1000)]).normal(0, 6, frame.shape)
    return np.roll(frame, (dy, dx), axis=(0, 1)) * gain + noise
