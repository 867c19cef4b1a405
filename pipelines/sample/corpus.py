"""A deterministic sample corpus with a planted two-level event structure.

Each video is a run of coarse *scenes* (a textured background of its own colour, sometimes
panning) made of finer *actions* (a foreground object whose shape, colour and motion change at
each action boundary, 2-8 s each). Both levels are plain in the pixels, and ``truth.csv`` at
the corpus root states them (level 0 = actions, level 1 = scenes). This module draws the
structure at random (from the seed) and writes it; ``sample_render`` draws the pixels.

CLI: ``python -m pipelines.sample.corpus --out DIR --videos N --seed S [--upload s3://...]``.
"""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from pipelines.data import storage
from pipelines.sample.render import (
    BACKDROPS,
    COLORS,
    CUTOUTS,
    MOTIONS,
    SHAPES,
    TEXTURES,
    TINTS,
    Action,
    Scene,
    VideoSpec,
    render,
)

TRUTH_FILE = "truth.csv"
X264_OPTIONS = {"preset": "veryfast", "crf": "18"}
# x264 does not encode the same frames to the same pixels on every run (measured: one video in four
# differed, a few pixels by up to 38 levels, in one thread too); lossless, the decoded frames are the
# rendered ones whatever it decides, for a corpus that must be the same on every run (a test's)
X264_EXACT = {"preset": "veryfast", "qp": "0"}
TRUTH_HEADER = ("video_id", "level", "start_s", "end_s", "label")


@dataclass(frozen=True)
class CorpusOptions:
    videos: int = 6
    seed: int = 0
    min_duration_s: float = 20.0
    max_duration_s: float = 40.0
    fps: tuple[float, ...] = (10.0, 12.5, 15.0, 25.0)
    size: int = 128
    style: str = "textured"  # "textured" (patterns, some panning) | "flat" (plain colours) | "photo" (photographs:
    #                          backdrops and cut-out objects from Debian's opencv-doc, render.photograph)
    lossless: bool = False  # ffv1 in .mkv (exact pixels) instead of libx264 in .mp4
    vfr: bool = False  # jittered frame times (needs lossless: mkv keeps any timestamps)
    dissolve_s: float = 0.0  # scenes cross-dissolve over this long instead of cutting (truth: the midpoint)
    subtle: bool = False  # each action changes one of the object's shape, colour and motion, not all
    handheld: bool = False  # camera shake, flicker and sensor noise over every frame (sample_render._handheld)
    length_step_s: float = 0.5  # action lengths are multiples of this; 0: any length, so boundaries fall
    #                             between samples as in real footage, not on the 0.5 s sampling grid
    shortest_action_s: float = 2.0  # actions last this long to 8 s


def _split_durations(rng: np.random.Generator, total: float, step_s: float = 0.5,
                     shortest: float = 2.0) -> list[float]:
    """Split ``total`` (>= ``shortest``) into action lengths of ``shortest``-8 s, multiples of ``step_s`` (0: any)."""
    lengths, left = [], total
    while left > 8:
        top = min(8.0, left - shortest)
        step = float(rng.choice(np.arange(shortest, top + step_s / 2, step_s)) if step_s
                     else rng.uniform(shortest, top))
        lengths.append(step)
        left -= step
    return lengths + [left]


def _pick_other(rng: np.random.Generator, options, previous):
    return str(rng.choice([o for o in options if o != previous]))


def _make_actions(rng: np.random.Generator, lengths: list[float], start: float,
                  before: Action | None, subtle: bool = False, colours: tuple[str, ...] = tuple(COLORS)):
    """Each action a new shape and colour (one of ``colours``: a plain colour or a photograph to cut the
    object from) and any motion; `subtle`: only one of shape, colour and motion changes at each boundary,
    the others carried over."""
    actions = []
    shape, color, motion = (before.shape, before.color, before.motion) if before else (None, None, None)
    for length in lengths:
        changed = str(rng.choice(["shape", "color", "motion"])) if subtle and shape is not None else "all"
        if changed in ("all", "shape"):
            shape = _pick_other(rng, SHAPES, shape)
        if changed in ("all", "color"):
            color = _pick_other(rng, colours, color)
        if changed == "all":
            motion = str(rng.choice(MOTIONS))
        elif changed == "motion":
            motion = _pick_other(rng, MOTIONS, motion)
        actions.append(Action(start, start + length, shape, color, motion, float(rng.uniform(0, 2 * math.pi))))
        start += length
    return tuple(actions)


def _make_scenes(rng: np.random.Generator, lengths: list[float], options: CorpusOptions):
    groups, i = [], 0
    while i < len(lengths):
        n = int(rng.integers(2, 5))
        groups.append(lengths[i:i + n])
        i += n
    if len(groups) > 1 and len(groups[-1]) == 1:
        last = groups.pop()
        groups[-1] += last
    scenes, start, tint = [], 0.0, None
    for group in groups:
        tint = _pick_other(rng, list(TINTS), tint)
        textured, photo = options.style in ("textured", "photo"), options.style == "photo"
        pan = float(rng.choice([0.0, 3.0, -4.0])) if textured else 0.0
        actions = _make_actions(rng, group, start, scenes[-1].actions[-1] if scenes else None, options.subtle,
                                CUTOUTS if photo else tuple(COLORS))
        backdrop = _pick_other(rng, BACKDROPS, scenes[-1].texture if scenes else None) if photo else None
        scenes.append(Scene(start, actions[-1].end_s, backdrop or str(rng.choice(TEXTURES)), tint,
                            float(rng.uniform(2, 6)) if textured else 0.0,
                            float(rng.uniform(0, math.pi)), pan, actions))
        start = actions[-1].end_s
    return tuple(scenes)


def _frame_times(rng: np.random.Generator, fps: Fraction, total: float, vfr: bool):
    if not vfr:
        return tuple(float(k / fps) for k in range(math.ceil(total * fps)))
    times, t = [], 0.0
    while t < total:
        times.append(round(t, 3))  # mkv keeps milliseconds
        t += float(rng.uniform(0.5, 1.5) / fps)
    return tuple(times)


def _rate(fps: float) -> Fraction:
    """Exact frame rate; NTSC-style rates (29.97, 23.976, 59.94) become N*1000/1001."""
    ntsc = round(fps * 1.001)
    if abs(fps - ntsc / 1.001) < 1e-3 and abs(fps - round(fps)) > 1e-3:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(1000)


def make_specs(options: CorpusOptions = CorpusOptions()) -> list[VideoSpec]:
    """The corpus as specs; the same options always give the same videos."""
    if options.vfr and not options.lossless:
        raise ValueError("vfr needs lossless=True (frame times are kept exactly in .mkv)")
    specs = []
    for i in range(options.videos):
        rng = np.random.default_rng([options.seed, i])
        total = float(rng.choice(np.arange(options.min_duration_s, options.max_duration_s + 0.25,
                                           0.5)))
        fps = _rate(options.fps[int(rng.integers(len(options.fps)))])
        suffix = "mkv" if options.lossless else "mp4"
        specs.append(VideoSpec(
            video_id=f"part{i % 2}/video_{i:03d}.{suffix}", size=options.size, fps=fps,
            lossless=options.lossless,
            scenes=_make_scenes(rng, _split_durations(rng, max(total, 2.0), options.length_step_s,
                                                  options.shortest_action_s), options),
            frame_times=_frame_times(rng, fps, max(total, 2.0), options.vfr), dissolve_s=options.dissolve_s,
            handheld=options.handheld))
    return specs


def write_video(spec: VideoSpec, path: str | Path) -> None:
    """Encode with PyAV: libx264 .mp4, or lossless ffv1 .mkv (RGB kept exactly)."""
    vfr = any(abs(t - k / spec.fps) > 1e-6 for k, t in enumerate(spec.frame_times))
    time_base = Fraction(1, 1000) if vfr else 1 / spec.fps
    with av.open(str(path), "w") as container:
        if spec.lossless:
            stream = container.add_stream("ffv1", rate=spec.fps)
            stream.pix_fmt = "bgr0"
        else:
            stream = container.add_stream("libx264", rate=spec.fps, options=X264_OPTIONS)
            stream.pix_fmt = "yuv420p"
        stream.width = stream.height = spec.size
        stream.codec_context.time_base = time_base
        for k, t in enumerate(spec.frame_times):
            frame = av.VideoFrame.from_ndarray(render(spec, t), format="rgb24")
            frame.pts, frame.time_base = (round(t * 1000) if vfr else k), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def truth_rows(spec: VideoSpec) -> list[tuple]:
    """``(video_id, level, start_s, end_s, label)``; each level tiles [0, duration_s]."""
    rows = []
    for level, spans in ((0, [a for s in spec.scenes for a in s.actions]), (1, spec.scenes)):
        for i, span in enumerate(spans):
            end = spec.duration_s if i == len(spans) - 1 else span.end_s
            rows.append((spec.video_id, level, round(span.start_s, 6), round(end, 6), span.label))
    return rows


def write_truth(folder: str | Path, rows) -> Path:
    """``truth.csv`` (TRUTH_HEADER, then ``rows`` of its fields) at the root of a corpus folder."""
    path = Path(folder) / TRUTH_FILE
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([TRUTH_HEADER, *rows])
    return path


@dataclass(frozen=True)
class Transition:
    """Where a held-out generator's shot joins the next (``shots.py``, ``photos.py``)."""

    at_s: float  # the truth boundary (the midpoint of a gradual transition)
    kind: str  # "cut", or one of the generator's gradual kinds
    length_s: float  # 0 for a cut


@dataclass(frozen=True)
class EditedVideo:
    """One video of a held-out generator: shots, each made of actions, joined by transitions."""

    video_id: str
    size: int
    fps: Fraction
    frames: int
    seed: int
    shots: tuple  # the generator's shots: start_s, end_s, label, actions (each start_s, end_s, label)
    transitions: tuple[Transition, ...]  # transitions[i] joins shots[i] and shots[i + 1]

    @property
    def duration_s(self) -> float:
        return float(self.frames / self.fps)


def shot_truth_rows(video: EditedVideo) -> list[tuple]:
    """``(video_id, level, start_s, end_s, label)`` of a held-out generator's video (``shots.py``,
    ``photos.py``): its actions at level 0, its shots (each made of actions) at level 1."""
    rows = []
    for level, spans in ((0, [a for s in video.shots for a in s.actions]), (1, video.shots)):
        rows += [(video.video_id, level, round(s.start_s, 6), round(s.end_s, 6), s.label) for s in spans]
    return rows


def write_shot_corpus(folder: str | Path, videos: list[EditedVideo], render, exact: bool = False) -> Path:
    """A held-out generator's ``videos`` below ``folder``, each a libx264 .mp4 at its constant frame
    rate with frame k drawn by ``render(video, k / fps)`` (``exact``: lossless), and ``truth.csv``
    (shot_truth_rows) at the root; returns the truth path."""
    root = Path(folder)
    for video in videos:
        path = root / video.video_id
        path.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=video.fps, options=X264_EXACT if exact else X264_OPTIONS)
            stream.pix_fmt, stream.width, stream.height = "yuv420p", video.size, video.size
            stream.codec_context.time_base = 1 / video.fps
            for k in range(video.frames):
                frame = av.VideoFrame.from_ndarray(render(video, float(k / video.fps)), format="rgb24")
                frame.pts, frame.time_base = k, 1 / video.fps
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
    return write_truth(root, [row for video in videos for row in shot_truth_rows(video)])


def write_corpus(out_dir: str | Path, options: CorpusOptions = CorpusOptions()) -> list[VideoSpec]:
    """Write every video below ``out_dir`` and ``truth.csv`` at its root."""
    root = Path(out_dir)
    specs = make_specs(options)
    for spec in specs:
        path = root / spec.video_id
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(spec, path)
    write_truth(root, [row for spec in specs for row in truth_rows(spec)])
    return specs


def numbers(text: str) -> tuple[float, ...]:
    """``"29.97,12.5"`` -> ``(29.97, 12.5)``."""
    return tuple(float(x) for x in text.split(","))


def generator_parser(prog: str, doc: str, defaults) -> argparse.ArgumentParser:
    """The options every corpus generator's CLI takes, with ``defaults`` from its options class."""
    parser = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to write the corpus into")
    parser.add_argument("--videos", type=int, default=defaults.videos, help="videos to write")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="what the corpus is drawn from")
    parser.add_argument("--min-duration", type=float, default=defaults.min_duration_s, help="seconds")
    parser.add_argument("--max-duration", type=float, default=defaults.max_duration_s, help="seconds")
    parser.add_argument("--fps", type=numbers, default=defaults.fps,
                        help="comma-separated frame rates to draw from, e.g. 29.97,12.5")
    parser.add_argument("--size", type=int, default=defaults.size, help="frame width and height")
    return parser


def generator_options(args: argparse.Namespace) -> dict:
    """The options of generator_parser's arguments, as every generator's options class names them."""
    return dict(videos=args.videos, seed=args.seed, min_duration_s=args.min_duration,
                max_duration_s=args.max_duration, fps=args.fps, size=args.size)


def main(argv: list[str] | None = None) -> int:
    defaults = CorpusOptions()
    parser = generator_parser("python -m pipelines.sample.corpus", __doc__, defaults)
    parser.add_argument("--style", choices=["textured", "flat", "photo"], default=defaults.style)
    parser.add_argument("--lossless", action="store_true", help="ffv1 .mkv instead of x264 .mp4")
    parser.add_argument("--vfr", action="store_true", help="variable frame rate (with --lossless)")
    parser.add_argument("--dissolve", type=float, default=defaults.dissolve_s,
                        help="seconds over which scenes cross-dissolve (0: hard cuts)")
    parser.add_argument("--length-step", type=float, default=defaults.length_step_s,
                        help="action lengths are multiples of this many seconds (0: any length)")
    parser.add_argument("--handheld", action="store_true", help="camera shake, flicker and sensor noise")
    parser.add_argument("--subtle", action="store_true", help="each action changes one of shape, colour, motion")
    parser.add_argument("--upload", help="also copy the corpus to this s3:// prefix or folder")
    args = parser.parse_args(argv)
    options = CorpusOptions(
        **generator_options(args), style=args.style, lossless=args.lossless, vfr=args.vfr,
        dissolve_s=args.dissolve, length_step_s=args.length_step, handheld=args.handheld, subtle=args.subtle)
    specs = write_corpus(args.out, options)
    total = sum(s.duration_s for s in specs)
    print(f"wrote {len(specs)} videos ({total:.1f} s) and {TRUTH_FILE} to {args.out}")
    if args.upload:
        written = storage.upload_dir(args.out, args.upload)
        print(f"uploaded {len(written)} files to {args.upload}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
