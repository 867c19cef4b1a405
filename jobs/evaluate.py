"""Score STREAMER's events and the baselines against ground truth: `pipelines.evaluate.cli` (also `streamer-evaluate`).

    python jobs/evaluate.py --results out/results --truth corpus/truth.csv \
        --baselines uniform,scenedetect,twfinch,abd [--video-dir corpus] [--out out/evaluate]
"""
from pipelines.evaluate.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
