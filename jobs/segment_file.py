"""Segment one or a few video files, no Ray and no store: `pipelines.segment.file_cli` (also `streamer-segment-file`).

    python jobs/segment_file.py --checkpoint model.pt cooking.mp4 [more.mp4 ...] [--format json|csv|vtt|otio] \
        [--out DIR]
"""
from pipelines.segment.file_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
