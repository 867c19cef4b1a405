"""Draw one video's event timeline from the segment job's tables: `pipelines.results.cli` (also `streamer-plot`).

    python jobs/plot.py --output s3://results/streamer --video part0/video_000.mp4 [--model-version V] \
        [--out timeline.png]
"""
from pipelines.results.cli import plot_main

if __name__ == "__main__":
    raise SystemExit(plot_main())
