"""Compact the segment job's tables into few large files: `pipelines.results.compact_cli` (also `streamer-compact`).

    python jobs/compact.py --output s3://results/streamer [--target-mb 256] [--grace-minutes 60]
"""
from pipelines.results.compact_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
