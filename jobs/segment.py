"""Segment footage with a trained model into Parquet tables: `pipelines.segment.cli` (also `streamer-segment`).

    python jobs/segment.py --checkpoint s3://models/model.pt --input s3://footage/ \
        --output s3://results/streamer [--all | --retry-failed] [--batch-videos 4] [--actors 2]
        [--cpus-per-actor 1] [--gpus-per-actor 1] [--compact] [--set ...]
"""
from pipelines.segment.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
