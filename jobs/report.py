"""Static HTML pages to watch videos' event hierarchies: `pipelines.results.cli` (also `streamer-report`).

    python jobs/report.py --output s3://results/streamer --video part0/video_000.mp4 [--media URI] --dest DIR
"""
from pipelines.results.cli import report_main

if __name__ == "__main__":
    raise SystemExit(report_main())
