"""Train STREAMER over a corpus with Ray Train workers: `pipelines.train.cli` (also `streamer-train`).

    python jobs/train.py [--input s3://bucket/prefix | DIR] [--preset tiny|default|paper] [--config FILE]
        [--set section.key=value ...] [--workers N] [--checkpoint-dir URI] [--tracking-uri URI] [--resume [RUN]]
    ray job submit --address http://HEAD:8265 --working-dir . -- python jobs/train.py ...
"""
from pipelines.train.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
