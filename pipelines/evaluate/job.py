"""The evaluation harness: STREAMER's events and the baselines', scored by one code path.

Stages of ``evaluate``:
1. read the truth (``pipelines.evaluate.truth``) and the events of the results, if any: the
   segment job's output root (its committed, latest events, as ``jobs/query.py`` sees them) or a
   plain events table; truth ids match video ids with or without the file extension;
2. run the baselines on the annotated videos (features decoded with ``pipelines.data.decode``) and
   write their events, in the same schema, to ``<out>/baseline_events/``; read them back;
3. score every method, video, predicted level and truth level (``pipelines.evaluate.scoring``);
4. write ``summary``, ``per_video`` and ``margins`` (each STREAMER run's lead over each baseline,
   with its interval over the videos: ``pipelines.evaluate.margins``) as Parquet and CSV, log them to
   MLflow, and draw truth-vs-prediction timelines.
Named warnings (unknown videos, duration mismatches, failed baselines) are logged, written to
``<out>/warnings.txt`` and returned, never dropped. Results or video files that match no video
of the truth are a ``UserError``: a method must not vanish from the table with its reason only
in the warnings.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.cli import UnknownNameError, UserError
from pipelines.data.corpus import ManifestRow, list_corpus
from pipelines.evaluate import baselines, scoring
from pipelines.evaluate.margins import margins
from pipelines.evaluate.truth import Truth, check_coverage, read_truth, segment_counts
from pipelines.results import query, tables
from pipelines.results.levels import predicted_levels, read_events
from pipelines.results.plots import strip_frames
from pipelines.results.timelines import draw_timeline
from pipelines.runtime import tracking
from streamer_core.metrics import EvaluationWarning

log = logging.getLogger(__name__)


class BaselineFailedWarning(EvaluationWarning):
    """A baseline could not run on a video (it is missing from that baseline's scores)."""


@dataclass(frozen=True)
class EvalConfig:
    truth: str
    results: str | None = None  # the segment job's output root, or an events table (Parquet file or folder)
    baselines: tuple[str, ...] = ()
    video_dir: str | None = None  # default: the folder holding the truth file
    out: str = "out/evaluate"
    tracking_uri: str | None = None  # default: pipelines.runtime.tracking.tracking_uri()
    experiment: str = "evaluate"
    log_mlflow: bool = True
    truth_format: str = "auto"  # auto | plain | narrations | frames
    fps: float | None = None  # frame rate of per-frame label files
    video_suffix: str = ""  # appended to ids from label file names / narration CSVs
    snippet_size: float = 0.5
    timelines: int = 6  # videos to draw
    score_settings: scoring.ScoreSettings = field(default_factory=scoring.ScoreSettings)


@dataclass
class EvalResult:
    summary: pd.DataFrame
    per_video: pd.DataFrame
    margins: pd.DataFrame
    files: list[Path]
    warnings: list[str]
    mlflow_run_id: str | None = None


def _video_dir(config: EvalConfig) -> str:
    if config.video_dir:
        return config.video_dir
    return config.truth.rsplit("/", 1)[0] if "/" in config.truth else "."


def _manifest(config: EvalConfig) -> dict[str, ManifestRow]:
    """The video files the feature baselines need (none when no such baseline is asked for)."""
    unknown = set(config.baselines) - set(baselines.SEGMENTERS)
    if unknown:
        raise UnknownNameError(f"unknown baseline(s) {', '.join(sorted(unknown))}; "
                               f"known: {', '.join(baselines.SEGMENTERS)}")
    if not any(baselines.SEGMENTERS[name].needs_features for name in config.baselines):
        return {}
    return {row.video_id: row for row in list_corpus(_video_dir(config))}


def _media(config: EvalConfig, manifest: dict[str, ManifestRow]) -> dict[str, str]:
    """Each video's file, for the frames above its timeline: the baselines' manifest, else what the
    video folder lists (nothing when it is not there: the timelines are drawn without frames)."""
    if manifest:
        return {video: row.uri for video, row in manifest.items()}
    try:
        return {row.video_id: row.uri for row in list_corpus(_video_dir(config))}
    except OSError:  # FileNotFoundError for a missing folder, pyarrow's OSError for S3
        return {}


def baseline_events(config: EvalConfig, truth: Truth, run_id: str,
                    manifest: dict[str, ManifestRow] | None = None) -> pa.Table:
    """Events of every requested baseline on every annotated video (missing ones warned)."""
    manifest = _manifest(config) if manifest is None else manifest
    if manifest and not check_coverage(truth, manifest, what=f"video files in {_video_dir(config)}"):
        raise UserError(f"no video of the truth is in {_video_dir(config)} ({_examples(truth.videos)} "
                        f"vs {_examples(manifest)}): give --video-dir")
    inputs = []
    for video_id, levels in sorted(truth.videos.items()):
        counts = segment_counts(levels)
        inputs.append(baselines.load_video(manifest[video_id], config.snippet_size, counts=counts)
                      if video_id in manifest else baselines.VideoInput(video_id, truth.durations[video_id],
                                                                        counts=counts))
    rows = []
    for name in config.baselines:
        entry = baselines.SEGMENTERS[name]
        ready = [v for v in inputs if not entry.needs_features or v.video_id in manifest]  # others: named
        for video in (v for v in ready if v.error):  # by check_coverage; undecodable ones here
            warnings.warn(BaselineFailedWarning(f"baseline {name} on {video.video_id!r}: {video.error}"),
                          stacklevel=2)
        ready = [v for v in ready if not v.error]
        for group in ([ready] if entry.segment_many else [[v] for v in ready]):
            try:
                rows += baselines.run_baselines(name, group, run_id)
            except Exception as exc:  # one video must not cost the table; it is named instead
                names = ", ".join(repr(v.video_id) for v in group)
                warnings.warn(BaselineFailedWarning(f"baseline {name} on {names}: {exc}"), stacklevel=2)
    return baselines.events_table(rows)


def _examples(ids, most: int = 3) -> str:
    shown = sorted(ids)[:most]
    return ", ".join(shown) + (", ..." if len(ids) > most else "")


def read_results(uri: str) -> pa.Table:
    """The events to score: an output root's latest committed events, or a plain events table."""
    if tables.is_output(uri):
        return query.latest_events(uri)
    return read_events(uri)


def _results_levels(truth: Truth, uri: str, results: pa.Table) -> dict:
    """The results' methods, each of which must share a video with the truth (see the module doc)."""
    predictions = predicted_levels(results)
    if not predictions:
        raise UserError(f"no events in the results {uri}")
    for method, by_video in predictions.items():
        if not set(by_video) & set(truth.videos):
            raise UserError(f"no video of the truth is in the results {uri} ({method}): truth has "
                            f"{_examples(truth.videos)}, results have {_examples(by_video)}")
    return predictions


def _write(frame: pd.DataFrame, out: Path, name: str) -> list[Path]:
    paths = [out / f"{name}.parquet", out / f"{name}.csv"]
    frame.to_parquet(paths[0], index=False)
    frame.to_csv(paths[1], index=False, float_format="%.6g")
    return paths


def _score(config: EvalConfig, run_id: str, out: Path) -> EvalResult:
    truth = read_truth(config.truth, config.truth_format, config.fps, video_suffix=config.video_suffix)
    if not config.results and not config.baselines:
        raise UserError("nothing to evaluate: give results, baselines or both")
    results = read_results(config.results) if config.results else None
    manifest = _manifest(config)
    known = set(manifest) | set(results.column("video_id").to_pylist() if results is not None else ())
    truth = truth.matched(known)
    predictions = _results_levels(truth, config.results, results) if results is not None else {}
    files = []
    if config.baselines:
        events_dir = out / "baseline_events"
        events_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(baseline_events(config, truth, run_id, manifest), events_dir / "part-0.parquet")
        predictions.update(predicted_levels(read_events(str(events_dir))))
        files.append(events_dir / "part-0.parquet")
    videos = sorted({v for method, by_video in predictions.items()
                     for v in check_coverage(truth, by_video, what=f"{method} events")})
    per_video = scoring.score_all(truth.videos, predictions, videos, config.score_settings)
    summary, leads = scoring.summarize(per_video), margins(per_video, config.score_settings.boundary_metrics)
    files += _write(summary, out, "summary") + _write(per_video, out, "per_video") + _write(leads, out, "margins")
    media = _media(config, manifest)
    for video in videos[:config.timelines]:
        drawn = {m: by_video[video] for m, by_video in sorted(predictions.items()) if video in by_video}
        name = re.sub(r"[^\w.-]+", "_", video)
        frames = strip_frames(media[video], truth.durations[video]) if video in media else ()
        files.append(draw_timeline(video, truth.videos[video], drawn, out / "timelines" / f"{name}.png", frames))
    return EvalResult(summary, per_video, leads, files, [])


def evaluate(config: EvalConfig) -> EvalResult:
    """Run the stages in the module docstring; returns the tables, files and warnings."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    run_id = "eval-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EvaluationWarning)
        result = _score(config, run_id, out)
    notes = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    (out / "warnings.txt").write_text("".join(n + "\n" for n in notes))
    result.warnings, result.files = notes, result.files + [out / "warnings.txt"]
    for note in notes:
        log.warning(note)
    if config.log_mlflow:
        result.mlflow_run_id = log_to_mlflow(config, result, run_id)
    return result


def _metric_key(*parts: str) -> str:
    return "/".join(re.sub(r"[^\w.\- ]+", "_", p) for p in parts)


def log_to_mlflow(config: EvalConfig, result: EvalResult, run_name: str) -> str:
    """Params, one metric per summary cell (method/truth level/pred level/metric), the files."""
    import mlflow

    uri = tracking.tracking_uri(config.tracking_uri)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    run = client.create_run(tracking.experiment_id(mlflow, config.experiment, uri), run_name=run_name,
                            tags={"kind": "evaluate"})
    params = {k: v for k, v in asdict(config).items() if k != "score_settings"}
    params.update(asdict(config.score_settings), baselines=",".join(config.baselines))
    for key, value in params.items():
        client.log_param(run.info.run_id, key, str(value))
    now_ms = int(time.time() * 1000)
    # records, not itertuples: a column such as f1_0.5s is no attribute name
    metrics = [mlflow.entities.Metric(_metric_key(r["method"], f"truth{r['truth_level']}", f"pred{r['pred_level']}",
                                                  m), float(r[m]), now_ms, 0)
               for r in result.summary.to_dict("records") for m in config.score_settings.metrics if pd.notna(r[m])]
    for start in range(0, len(metrics), 900):
        client.log_batch(run.info.run_id, metrics=metrics[start:start + 900])
    for path in result.files:
        sub = path.parent.name if path.parent != Path(config.out) else None
        client.log_artifact(run.info.run_id, str(path), artifact_path=sub)
    client.set_terminated(run.info.run_id)
    return run.info.run_id
