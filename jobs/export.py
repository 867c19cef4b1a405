"""Export event hierarchies from the segment job's tables: `pipelines.results.cli` (also `streamer-export`).

    python jobs/export.py --output s3://results/streamer --video part0/video_000.mp4 --format vtt --dest DIR
    python jobs/export.py --output s3://results/streamer --all --format otio --dest DIR
"""
from pipelines.results.cli import export_main

if __name__ == "__main__":
    raise SystemExit(export_main())
