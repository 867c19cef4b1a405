"""Does learning from more footage segment unseen footage better? One model learns the tune
corpora's videos in order; after every few minutes of footage it segments a test corpus without
learning from it (the segment job's rule). Each seed is its own model. Printed: one JSON line per
seed and point (minutes learned, boundary F1 at 0.5 s and 1 s per truth level, the predicted level
scored on each being the benchmark's), then a Markdown table of the mean over the seeds (± their
spread at 0.5 s) and of the change since the first point, with its interval over the test videos.

    python benchmarks/footage.py [--preset tiny-default] [--test shots-a] [--minutes 0,2,4,8,16,24]
                                 [--seeds 0,1,2] [--set section.key=value ...]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch
from quality import CORPORA, Loaded, load, mean_spread, score

from pipelines.cli import Parser, UnknownNameError, command
from pipelines.evaluate.margins import paired_interval
from pipelines.evaluate.replay import DecodedVideo, boundaries_by_video, segmented
from streamer_core import Config, Learner, Streamer, StreamerModel, StreamSource, load_config

TUNE_VIDEO = [name for name, c in CORPORA.items() if c.role == "tune" and c.kind == "frames"]


def curve(preset: str, cfg: Config, test: Loaded, learn_videos: list[DecodedVideo], marks_s: list[float]) -> list[dict]:
    """One model of `preset` (`cfg`, seeded by learn.seed) learning `learn_videos` in order, scored on
    `test` at each mark."""
    torch.manual_seed(cfg.learn.seed)
    model = StreamerModel(cfg.model)
    streamer = Streamer(model, Learner(model, cfg.learn))
    learned, points, queue = 0.0, [], list(learn_videos)
    levels = test.corpus.levels
    for mark in marks_s:
        while queue and learned < mark:
            video = queue.pop(0)
            streamer.learn(StreamSource(video.video_id, [video.samples], video.duration_s))
            learned += video.duration_s
        scores = score(test, boundaries_by_video(segmented(model, test.videos(cfg))), lambda t, _: levels[t][1])
        points.append({"preset": preset, "seed": cfg.learn.seed, "test": test.name,
                       "minutes_learned": round(learned / 60, 1),
                       "levels": mean_spread([scores])})
        print(json.dumps(points[-1]), flush=True)
        if not queue:
            break
    return points


def table(points: list[dict]) -> str:
    """Markdown: per point, each truth level's F1 at 0.5 s (mean ± spread over the seeds) and at 1 s,
    and its change at 0.5 s since the first point with a 95 % interval over the test videos (each
    video's mean over the seeds, paired: pipelines.evaluate.margins.paired_interval). Why: the spread
    over seeds cannot say whether a curve this flat has moved at all."""
    names = list(points[0]["levels"])
    first = min(p["minutes_learned"] for p in points)
    lines = ["| minutes learned | " + " | ".join(f"{n} F1@0.5s | {n} F1@1s | {n} since {first:g} min (95 %)"
                                               for n in names) + " |",
             "|---|" + "---|---|---|" * len(names)]
    for minutes in sorted({p["minutes_learned"] for p in points}):
        at = [p["levels"] for p in points if p["minutes_learned"] == minutes]
        cells = []
        for n in names:
            fine, coarse = [a[n]["f1_0.5s"] for a in at], [a[n]["f1_1s"] for a in at]
            now, then = _per_video(points, minutes, n), _per_video(points, first, n)
            low, high = paired_interval(now, then)
            cells.append(f"{np.mean(fine):.2f} ±{np.std(fine):.2f} | {np.mean(coarse):.2f} | "
                         f"{np.mean(now - then):+.2f} ({low:+.2f} to {high:+.2f})")
        lines.append(f"| {minutes} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _per_video(points: list[dict], minutes: float, level: str) -> np.ndarray:
    """Each test video's F1 at 0.5 s at one point, the mean over the seeds."""
    return np.mean([p["levels"][level]["f1_0.5s_videos"] for p in points if p["minutes_learned"] == minutes], axis=0)


@command
def main(argv: list[str] | None = None) -> int:
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny-default")
    p.add_argument("--test", default="shots-a", help="a test corpus of quality.py")
    p.add_argument("--minutes", default="0,2,4,8,16,24", help="minutes of tune footage before each point")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.KEY=VALUE")
    args = p.parse_args(argv)
    videos = [n for n, c in CORPORA.items() if c.role == "test" and c.kind == "frames"]
    if args.test not in videos:
        raise UnknownNameError(f"--test: {args.test} is not a test video corpus of quality.py ({', '.join(videos)})")
    marks = [float(x) * 60 for x in args.minutes.split(",")]
    test, tune, points = load(args.test), [load(name) for name in TUNE_VIDEO], []
    for seed in (int(s) for s in args.seeds.split(",")):
        cfg = load_config(args.preset, overrides=[f"learn.seed={seed}", *args.overrides])
        points += curve(args.preset, cfg, test, [v for corpus in tune for v in corpus.videos(cfg)], marks)
    print(table(points))
    return 0


if __name__ == "__main__":
    sys.exit(main())
