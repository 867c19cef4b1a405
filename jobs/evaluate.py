"""Score STREAMER's events and the baselines against ground truth; see pipelines/evaluate.py.

    python jobs/evaluate.py --results out/events --truth corpus/truth.csv \
        --baselines uniform,scenedetect,twfinch,abd [--video-dir corpus] [--out out/evaluate]
"""
from __future__ import annotations

import argparse
import dataclasses

from pipelines.evaluate.baselines import BASELINES
from pipelines.evaluate.job import EvalConfig, evaluate
from pipelines.evaluate.scoring import ScoreSettings


def parse_args(argv: list[str] | None = None) -> EvalConfig:
    defaults, score = EvalConfig(truth=""), ScoreSettings()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--truth", required=True, help="truth CSV/JSON, narration CSV, or folder of per-frame labels")
    p.add_argument("--results", help="events table: Parquet file or folder, local or s3://")
    p.add_argument("--baselines", default="", help=f"comma-separated, of: {','.join(BASELINES)}")
    p.add_argument("--video-dir", help="videos for the baselines (default: the truth's folder)")
    p.add_argument("--out", default=defaults.out)
    p.add_argument("--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI, else .state/mlflow)")
    p.add_argument("--experiment", default=defaults.experiment)
    p.add_argument("--no-mlflow", action="store_true")
    p.add_argument("--truth-format", default=defaults.truth_format,
                   choices=["auto", "plain", "narrations", "frames"])
    p.add_argument("--fps", type=float, help="frame rate of per-frame label files")
    p.add_argument("--video-suffix", default="", help="appended to ids from label files / narrations")
    p.add_argument("--snippet-size", type=float, default=defaults.snippet_size)
    p.add_argument("--timelines", type=int, default=defaults.timelines, help="videos to draw")
    p.add_argument("--resolution", type=float, default=score.resolution_s, help="frame bin, seconds")
    p.add_argument("--tolerance", type=float, default=score.tolerance_s, help="boundary tolerance, s")
    p.add_argument("--fraction", type=float, default=score.fraction, help="relative boundary tolerance")
    a = p.parse_args(argv)
    return EvalConfig(
        truth=a.truth, results=a.results, baselines=tuple(b for b in a.baselines.split(",") if b),
        video_dir=a.video_dir, out=a.out, tracking_uri=a.tracking_uri, experiment=a.experiment,
        log_mlflow=not a.no_mlflow, truth_format=a.truth_format, fps=a.fps, video_suffix=a.video_suffix,
        snippet_size=a.snippet_size, timelines=a.timelines,
        score_settings=dataclasses.replace(score, resolution_s=a.resolution, tolerance_s=a.tolerance,
                                    fraction=a.fraction))


def main(argv: list[str] | None = None) -> int:
    evaluate(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
