"""Segmentation quality of STREAMER presets against the baselines, over several sample corpora.

    python benchmarks/quality.py [--presets paper,default] [--corpora a,b,c] [--videos 12]
                                 [--baselines uniform,scenedetect] [--set preset:section.key=value ...]

Each corpus (`CORPORA`: its own seed, style and frame rates, none of them the tests' seeds) is
written once to `<state dir>/quality/<name>` and decoded once. Each preset learns one pass over
the corpus's videos in order (the training job's rule, in one process) and then segments them
without learning (the segment job's rule); its events and the baselines' are scored by the
evaluation harness (`pipelines.evaluate.job`). Printed: one JSON line per corpus, method and truth
level (boundary F1 at 1 s and MoF per predicted level, and the best level), then a Markdown
table of the means over corpora, the README's.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.data.decode import DecodeSettings
from pipelines.evaluate.job import EvalConfig, evaluate
from pipelines.evaluate.replay import decode_folder, learn_then_segment
from pipelines.results.tables import EVENTS_SCHEMA
from pipelines.runtime.tracking import state_dir
from pipelines.sample.corpus import TRUTH_FILE, CorpusOptions, write_corpus
from streamer_core import load_config

CORPORA = {
    "textured-mixed": CorpusOptions(videos=12, seed=501, min_duration_s=30, max_duration_s=50),
    "flat-12.5": CorpusOptions(videos=12, seed=502, min_duration_s=30, max_duration_s=50, style="flat", fps=(12.5,)),
    "textured-29.97": CorpusOptions(videos=12, seed=503, min_duration_s=30, max_duration_s=50, fps=(29.97, 24.0)),
}


def corpus_folder(name: str, videos: int) -> Path:
    folder = state_dir() / "quality" / f"{name}-{videos}"
    if not (folder / TRUTH_FILE).exists():
        write_corpus(folder, dataclasses.replace(CORPORA[name], videos=videos))
    return folder


def learn_and_segment(label: str, preset: str, overrides: list[str], videos_cache: dict,
                      folder: Path, passes: int = 1) -> tuple[pa.Table, dict]:
    cfg = load_config(preset, overrides=overrides)
    m = cfg.model
    key = (str(folder), m.image_size)
    if key not in videos_cache:
        videos_cache[key] = decode_folder(folder, DecodeSettings(m.snippet_size, m.image_size, cfg.data.chunk_frames))
    videos = videos_cache[key]
    replay = learn_then_segment(cfg, videos, passes)
    frames = sum(len(v.samples) for v in videos)
    rows = [{"run_id": label, **row, "model_version": label} for h in replay.hierarchies for row in h.to_rows()]
    speed = {"learn_frames_per_s": round(passes * frames / replay.learn_s, 2),
             "segment_frames_per_s": round(frames / replay.segment_s, 2)}
    return pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA), speed


def scores(summary, corpus: str, speeds: dict) -> list[dict]:
    """Per method and truth level: F1 at 1 s and MoF of each predicted level and of the best one."""
    out = []
    for (method, truth_level), part in summary[summary["truth_level"] != "all"].groupby(["method", "truth_level"]):
        levels = part[part["pred_level"].str.isdigit()]
        best = part[part["pred_level"] == "best"].iloc[0]
        out.append({"corpus": corpus, "method": method, "truth_level": int(truth_level),
                    "f1_1s": [round(v, 3) for v in levels["f1_1s"]], "mof": [round(v, 3) for v in levels["mof"]],
                    "events": [round(v, 1) for v in levels["pred_events"]],
                    "truth_segments": round(float(levels["truth_segments"].iloc[0]), 1),
                    "best_f1_1s": round(float(best["f1_1s"]), 3), "best_mof": round(float(best["mof"]), 3),
                    **speeds.get(method, {})})
    return out


def markdown(rows: list[dict]) -> str:
    """Means over corpora: per method, truth level, the best level's F1 / MoF and every level's F1."""
    table = {}
    for r in rows:
        table.setdefault((r["method"], r["truth_level"]), []).append(r)
    lines = ["| method | truth level | best F1@1s | best MoF | F1@1s per level (events per video) |",
             "|---|---|---|---|---|"]
    for (method, level), group in sorted(table.items()):
        per_level = np.mean([g["f1_1s"] for g in group], axis=0)
        events = np.mean([g["events"] for g in group], axis=0)
        cells = ", ".join(f"{f:.2f} ({e:.0f})" for f, e in zip(per_level, events))
        lines.append(f"| {method} | {'actions' if level == 0 else 'scenes'} | "
                     f"{np.mean([g['best_f1_1s'] for g in group]):.3f} | {np.mean([g['best_mof'] for g in group]):.3f} "
                     f"| {cells} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="paper,default", help="comma-separated PRESET or LABEL=PRESET")
    p.add_argument("--corpora", default=",".join(CORPORA))
    p.add_argument("--videos", type=int, default=12)
    p.add_argument("--baselines", default="uniform,scenedetect")
    p.add_argument("--passes", type=int, default=1, help="passes over the corpus before segmenting")
    p.add_argument("--set", action="append", default=[], metavar="PRESET:SECTION.KEY=VALUE",
                   help="override for one preset or label (e.g. default:model.z_threshold=2.5)")
    args = p.parse_args()
    presets = {label: preset or label  # label -> preset
               for label, _, preset in (item.partition("=") for item in args.presets.split(","))}
    overrides = {label: [o.split(":", 1)[1] for o in args.set if o.split(":", 1)[0] == label] for label in presets}
    rows, cache = [], {}
    for corpus in args.corpora.split(","):
        folder = corpus_folder(corpus, args.videos)
        out = state_dir() / "quality" / "runs" / corpus
        out.mkdir(parents=True, exist_ok=True)
        tables, speeds = [], {}
        for label, preset in presets.items():
            table, speeds[label] = learn_and_segment(label, preset, overrides[label], cache, folder, args.passes)
            tables.append(table)
        pq.write_table(pa.concat_tables(tables), out / "events.parquet")
        result = evaluate(EvalConfig(truth=str(folder / TRUTH_FILE), results=str(out / "events.parquet"),
                                     baselines=tuple(b for b in args.baselines.split(",") if b),
                                     out=str(out), log_mlflow=False, timelines=2))
        for row in scores(result.summary, corpus, speeds):
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(markdown(rows))


if __name__ == "__main__":
    main()
