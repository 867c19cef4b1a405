"""Does learning from more footage segment unseen footage better? One model learns the tune
corpora's videos in order; after every few minutes of footage it segments a test corpus without
learning from it (the segment job's rule). Printed: one JSON line per point (minutes learned,
boundary F1 at 0.5 s and 1 s per truth level, the predicted level scored on each being the
benchmark's), then a Markdown table.

    python benchmarks/footage.py [--preset tiny-default] [--test shots-a] [--minutes 0,2,4,8,16,24]
                                 [--set section.key=value ...]
"""
from __future__ import annotations

import argparse
import json

import torch
from quality import CORPORA, load, score

from streamer_core import Learner, Streamer, StreamerModel, StreamSource, load_config

TUNE_VIDEO = [name for name, c in CORPORA.items() if c.role == "tune" and c.kind == "frames"]


def segment(model: StreamerModel, videos) -> dict[str, list[list[float]]]:
    model.eval()
    with torch.no_grad():
        found = {h.video_id: [h.boundaries(lv) for lv in range(len(h.levels))]
                 for h in Streamer(model).run([StreamSource(v.video_id, [v.samples], v.duration_s) for v in videos])}
    model.train()
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny-default")
    p.add_argument("--test", default="shots-a", help="a test corpus of quality.py")
    p.add_argument("--minutes", default="0,2,4,8,16,24", help="minutes of tune footage before each point")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.KEY=VALUE")
    args = p.parse_args()
    cfg = load_config(args.preset, overrides=[f"learn.seed={args.seed}", *args.overrides])
    test = load(args.test)
    test_videos = test.videos(cfg)
    learn_videos = [v for name in TUNE_VIDEO for v in load(name).videos(cfg)]
    torch.manual_seed(cfg.learn.seed)
    model = StreamerModel(cfg.model)
    streamer = Streamer(model, Learner(model, cfg.learn))
    marks = [float(x) * 60 for x in args.minutes.split(",")]
    learned, rows, queue = 0.0, [], list(learn_videos)
    levels = test.corpus.levels
    for mark in marks:
        while queue and learned < mark:
            video = queue.pop(0)
            streamer.learn(StreamSource(video.video_id, [video.samples], video.duration_s))
            learned += video.duration_s
        scores = score(test, segment(model, test_videos), lambda t, _: levels[t][1])
        rows.append({"preset": args.preset, "test": args.test, "minutes_learned": round(learned / 60, 1),
                     "levels": {k: {m: round(v, 3) for m, v in c.items()} for k, c in scores.items()}})
        print(json.dumps(rows[-1]), flush=True)
        if not queue:
            break
    names = list(rows[0]["levels"])
    print("| minutes learned | " + " | ".join(f"{n} F1@0.5s | {n} F1@1s" for n in names) + " |")
    print("|---|" + "---|---|" * len(names))
    for r in rows:
        cells = " | ".join(f"{r['levels'][n]['f1_0.5s']:.2f} | {r['levels'][n]['f1_1s']:.2f}" for n in names)
        print(f"| {r['minutes_learned']} | {cells} |")


if __name__ == "__main__":
    main()
