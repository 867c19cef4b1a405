"""Draw the event timeline of one video from the segment job's tables (PNG: one row per level).

    python jobs/plot.py --output s3://results/streamer --video part0/video_000.mp4 [--model-version V] \
        [--out timeline.png]
"""
from __future__ import annotations

import argparse

from pipelines.results import plots, query


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output", required=True, help="the segment job's --output")
    p.add_argument("--video", required=True, help="video_id, as in the tables")
    p.add_argument("--model-version", help="default: the latest model that segmented the video")
    p.add_argument("--out", help="PNG path (default: <video id with __ for />.png)")
    a = p.parse_args(argv)
    path = plots.draw_video(query.connect(a.output), a.video, a.out or plots.file_name(a.video), a.model_version)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
