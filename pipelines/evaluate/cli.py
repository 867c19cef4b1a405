"""Score STREAMER's events and the baselines against ground truth (the stages: pipelines.evaluate.job).

    streamer-evaluate --results s3://results/streamer --truth corpus/truth.csv \
        --baselines uniform,scenedetect,twfinch,abd [--video-dir corpus] [--out out/evaluate] [--tolerance 2]

--results takes the segment job's --output (its latest committed events, as streamer-query sees
them) or a plain events table (a Parquet file or folder). Truth ids match video ids with or without
the file extension (clip_000 for clip_000.mp4) when that is unambiguous. Boundary F1 columns are
named by their tolerance (f1_0.5s, f1_1s; --tolerance replaces them, repeatable). The summary
table goes to stdout, warnings to the log and <out>/warnings.txt.
"""
from __future__ import annotations

from pipelines import cli
from pipelines.evaluate.scoring import ScoreSettings


def parser() -> cli.Parser:
    from pipelines.evaluate.baselines import BASELINES
    from pipelines.evaluate.job import EvalConfig

    defaults, score = EvalConfig(truth=""), ScoreSettings()
    p = cli.parser(__doc__, cli.tracking_options())
    p.add_argument("--truth", required=True, help="truth CSV/JSON, narration CSV, or folder of per-frame labels")
    p.add_argument("--results", help="the segment job's --output, or an events table: Parquet file or folder, "
                                     "local or s3://")
    p.add_argument("--baselines", default="", help=f"comma-separated, of: {','.join(BASELINES)}")
    p.add_argument("--video-dir", help="videos for the baselines (default: the truth's folder)")
    p.add_argument("--out", default=defaults.out, help="folder for the tables, timelines and warnings")
    p.add_argument("--experiment", default=defaults.experiment, help="MLflow experiment")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    p.add_argument("--truth-format", default=defaults.truth_format, choices=["auto", "plain", "narrations", "frames"],
                   help="auto tells them apart by the file's header (a folder is per-frame labels)")
    p.add_argument("--fps", type=float, help="frame rate of per-frame label files")
    p.add_argument("--video-suffix", default="", help="appended to ids from label files / narrations")
    p.add_argument("--snippet-size", type=float, default=defaults.snippet_size,
                   help="seconds per sample of the feature baselines")
    p.add_argument("--timelines", type=int, default=defaults.timelines, help="videos to draw")
    p.add_argument("--resolution", type=float, default=score.resolution_s, help="frame bin, seconds")
    p.add_argument("--tolerance", type=float, action="append", metavar="SECONDS",
                   help=f"boundary F1 tolerance, repeatable; a column f1_<t>s each (default: {score.tolerances_s})")
    p.add_argument("--fraction", type=float, default=score.fraction,
                   help="relative boundary tolerance (column f1_5pct)")
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    from pipelines.evaluate.job import EvalConfig, evaluate
    from pipelines.evaluate.margins import format_margins
    from pipelines.evaluate.scoring import format_table

    a = cli.parse(parser(), argv)
    try:
        score = ScoreSettings(resolution_s=a.resolution, tolerances_s=tuple(a.tolerance or ScoreSettings.tolerances_s),
                              fraction=a.fraction)
    except ValueError as exc:
        raise cli.UserError(f"--tolerance: {exc}") from None
    result = evaluate(EvalConfig(
        truth=a.truth, results=a.results, baselines=tuple(b for b in a.baselines.split(",") if b),
        video_dir=a.video_dir, out=a.out, tracking_uri=a.tracking_uri, experiment=a.experiment,
        log_mlflow=not a.no_mlflow, truth_format=a.truth_format, fps=a.fps, video_suffix=a.video_suffix,
        snippet_size=a.snippet_size, timelines=a.timelines, score_settings=score))
    print(format_table(result.summary))
    if len(result.margins):
        print("\nmargins over the baselines, with a 95 % interval over the videos:")
        print(format_margins(result.margins))
    return 0
