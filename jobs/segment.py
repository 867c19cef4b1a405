"""Segment the footage under --input with a trained model into Parquet tables under --output.

    python jobs/segment.py --checkpoint s3://models/model.pt --input s3://footage/ \
        --output s3://results/streamer [--all | --retry-failed] [--batch-videos 4] [--actors 2] [--tracking-uri URI]

Nightly by default: only videos with no result for this model version and ETag yet (new or
changed footage); --retry-failed also retries videos that failed, --all redoes everything. Joins the
cluster in RAY_ADDRESS (as `ray job submit` sets it), else starts a local one, once the
checkpoint has been checked and there is work to do. The last stdout
line is a JSON summary.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from pipelines.segment.job import SegmentOptions, segment
from streamer_core import CheckpointError
from streamer_core.config import InferenceConfig


def parse_args(argv: list[str] | None = None) -> SegmentOptions:
    defaults = SegmentOptions(checkpoint="", input="", output="")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="model.pt (s3:// or local), from jobs/train.py")
    p.add_argument("--input", required=True, help="corpus: s3://bucket/prefix or a folder")
    p.add_argument("--output", required=True, help="results: s3://bucket/prefix or a folder")
    p.add_argument("--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI, else .state/mlflow)")
    p.add_argument("--all", action="store_true", help="segment every video, not only new ones")
    p.add_argument("--retry-failed", action="store_true", help="also retry videos that failed before")
    p.add_argument("--batch-videos", type=int, default=defaults.inference.batch_videos,
                   help="videos advanced together per forward pass")
    p.add_argument("--actors", type=int, default=defaults.inference.actors, help="model replicas")
    p.add_argument("--chunk-frames", type=int, default=defaults.chunk_frames, help="samples decoded at once")
    p.add_argument("--plots", type=int, default=defaults.plots, help="timelines logged to MLflow")
    a = p.parse_args(argv)
    if a.batch_videos < 1 or a.actors < 1:
        p.error("--batch-videos and --actors must be >= 1")
    return dataclasses.replace(
        defaults, checkpoint=a.checkpoint, input=a.input, output=a.output, tracking_uri=a.tracking_uri,
        redo_all=a.all, retry_failed=a.retry_failed,
        inference=InferenceConfig(batch_videos=a.batch_videos, actors=a.actors),
        chunk_frames=a.chunk_frames, plots=a.plots)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        summary = segment(options)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(dataclasses.asdict(summary)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
