"""Is level 0's penalty what the fine level lacks on footage nobody tuned on? A preset's model learns each
corpus once per seed (as benchmarks/quality.py has it), then segments it at each of --penalties
(model.refine, which a trained model may take at segmentation: `jobs/segment.py --set model.refine=0.3`).
Printed: one JSON line per corpus (the fine level's F1 at 0.5 s at each penalty, the mean over the seeds;
and what a user who labels --labelled of its videos and picks the penalty best on them gets on the
others, against the preset's own penalty on those same videos, over every choice of labelled videos and
every seed), then a Markdown table of them.

    python benchmarks/penalty.py [--corpora test] [--preset tiny-default] [--labelled 2] [--seeds 0,1,2]
                                 [--penalties 0.1,0.15,0.2,0.25,0.3,0.4,0.6]
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys

import numpy as np
from quality import Loaded, load, pick, preset_config, score

from pipelines.cli import Parser, command
from pipelines.evaluate.replay import boundaries_by_video, learned, segmented
from streamer_core.config import with_placement


def fine_f1(loaded: Loaded, preset: str, seed: int, penalties: list[float]) -> np.ndarray:
    """[penalties, videos] F1 at 0.5 s of the fine truth level, one learned model placed at each penalty."""
    cfg = preset_config(loaded, preset, [], seed)
    videos = loaded.videos(cfg)
    model = learned(cfg, videos)
    trained, (name, level) = model.cfg, loaded.corpus.levels[0]
    rows = []
    for penalty in penalties:
        model.cfg = with_placement(trained, {"refine": penalty})[0]
        found = boundaries_by_video(segmented(model, videos))
        rows.append(score(loaded, found, lambda *_: level)[name]["f1_0.5s_videos"])
    return np.array(rows)


def best(scores: np.ndarray, penalties: list[float], own: float) -> int:
    """The index of the penalty that scores best, of those tied the one nearest ``own``."""
    return max(range(len(penalties)), key=lambda i: (round(float(scores[i]), 9), -abs(penalties[i] - own)))


def calibrated(f1: list[np.ndarray], penalties: list[float], shipped: float, labelled: int) -> dict:
    """Over every seed's [penalties, videos] F1 and every choice of ``labelled`` videos: the mean F1 on the
    other videos at the penalty best on the labelled ones (ties to the one nearest ``shipped``), and at
    ``shipped``; and how often each penalty was picked."""
    own, videos = penalties.index(shipped), f1[0].shape[1]
    picked, at_pick, at_own = [], [], []
    for table in f1:
        for chosen in itertools.combinations(range(videos), labelled):
            rest = [v for v in range(videos) if v not in chosen]
            index = best(table[:, list(chosen)].mean(1), penalties, shipped)
            picked.append(penalties[index])
            at_pick.append(table[index, rest].mean())
            at_own.append(table[own, rest].mean())
    return {"calibrated": round(float(np.mean(at_pick)), 3), "shipped_on_the_rest": round(float(np.mean(at_own)), 3),
            "picked": {f"{p:g}": picked.count(p) for p in penalties}}


def markdown(rows: list[dict], labelled: int) -> str:
    lines = [f"| corpus: truth level | own penalty | best penalty | {labelled} labelled: picked on them, the rest "
             "| own, the rest | penalties picked |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        by, own, top = r["f1_0.5s_by_penalty"], f"{r['own']:g}", f"{r['best_penalty']:g}"
        calib = r.get("calibration") or {}
        picked = ", ".join(f"{p} x{n}" for p, n in calib.get("picked", {}).items() if n)
        lines.append(f"| {r['corpus']}: {r['truth_level']} | {own}: {by[own]:.3f} "
                     f"| {top}: {by[top]:.3f} | {calib.get('calibrated', '-')} | "
                     f"{calib.get('shipped_on_the_rest', '-')} | {picked or '-'} |")
    return "\n".join(lines)


@command
def main(argv: list[str] | None = None) -> int:
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default="test", help="tune, test, all, or comma-separated names")
    p.add_argument("--preset", default="tiny-default")
    p.add_argument("--penalties", default="0.1,0.15,0.2,0.25,0.3,0.4,0.6", help="model.refine values")
    p.add_argument("--labelled", type=int, default=2, help="videos a user labels to pick the penalty on")
    p.add_argument("--seeds", default="0,1,2", help="learn.seed values")
    args = p.parse_args(argv)
    if args.labelled < 1:
        p.error("--labelled: at least 1")
    penalties = sorted(float(x) for x in args.penalties.split(","))
    if not penalties or min(penalties) < 0:
        p.error("--penalties: comma-separated values of at least 0")
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in pick(args.corpora):
        loaded = load(name)
        own = preset_config(loaded, args.preset, [], seeds[0]).model.refine
        tried = sorted({*penalties, own})
        f1 = [fine_f1(loaded, args.preset, seed, tried) for seed in seeds]
        mean = np.mean([table.mean(1) for table in f1], axis=0)
        row = {"corpus": name, "role": loaded.corpus.role, "preset": args.preset,
               "truth_level": loaded.corpus.levels[0][0], "own": own,
               "f1_0.5s_by_penalty": {f"{pen:g}": round(float(m), 3) for pen, m in zip(tried, mean)},
               "best_penalty": tried[best(mean.round(3), tried, own)],
               "labelled": args.labelled, "calibration": None}
        if f1[0].shape[1] > args.labelled:
            row["calibration"] = calibrated(f1, tried, own, args.labelled)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(markdown(rows, args.labelled))
    return 0


if __name__ == "__main__":
    sys.exit(main())
