"""The whole product on one machine (README command 1, via scripts/demo.sh): a local Ray and S3
store, the sample corpus, the tiny preset trained, the corpus segmented, a DuckDB summary, and
where the timelines and the MLflow store are; then it stops what it started.

    python jobs/demo.py [--videos 6] [--set section.key=value ...] [--keep-running]

State (the store's data, MLflow, plots) goes to $STREAMER_STATE_DIR, default ./.state. The last
stdout line is a JSON summary.
"""
from __future__ import annotations

import argparse
import dataclasses
import json

from pipelines.demo import DemoOptions, describe, report_json, run_demo
from pipelines.sample.corpus import CorpusOptions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=CorpusOptions().videos, help="sample videos to generate")
    p.add_argument("--min-duration", type=float, default=CorpusOptions().min_duration_s)
    p.add_argument("--max-duration", type=float, default=CorpusOptions().max_duration_s)
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="training config override (tiny preset), repeatable")
    p.add_argument("--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI, else .state/mlflow)")
    p.add_argument("--keep-running", action="store_true", help="leave the S3 store running afterwards")
    a = p.parse_args(argv)
    corpus = dataclasses.replace(CorpusOptions(), videos=a.videos, min_duration_s=a.min_duration,
                                 max_duration_s=a.max_duration)
    report = run_demo(DemoOptions(corpus, tuple(a.set), a.tracking_uri, a.keep_running))
    print(describe(report))
    print(json.dumps(report_json(report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
