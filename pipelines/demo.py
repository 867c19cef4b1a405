"""The built-in default, end to end, on one machine: what README command 1 runs.

    streamer-demo [--videos 6] [--preset tiny-default] [--set section.key=value ...] [--keep-running] [-v]

Stages of `run_demo`:
1. start a local Ray (at least 4 logical CPUs) and the local SeaweedFS store with the sample
   corpus (`pipelines.sample.store`: generated and uploaded unless the store already holds it);
2. train the `tiny-default` preset on it (`pipelines.train.job`; the recommended one, tiny);
3. segment the corpus with the trained model (`pipelines.segment.job`) into the store's results;
4. summarise the tables with DuckDB, draw every video's timeline next to the MLflow store, and
   write the report pages (`pipelines.results.report`: a page per video, the index last printed);
5. stop what stages 1 started (Ray, and the store by its PID), keeping their data on disk.

State (the store's data, MLflow, plots, pages) goes to $STREAMER_STATE_DIR, default ./.state. A bad
config is an `error:` line before anything starts. Ray's progress bars are off unless -v. The
last stdout line is a JSON summary.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import cli
from pipelines.results import plots, query
from pipelines.results.report import write_index, write_page
from pipelines.runtime.cluster import init_ray
from pipelines.runtime.local_s3 import load_state, stop_server
from pipelines.runtime.tracking import state_dir, tracking_uri
from pipelines.sample.corpus import CorpusOptions
from pipelines.sample.store import default_store, reading_store
from pipelines.segment.job import SegmentOptions, SegmentSummary, segment
from pipelines.train.job import TrainOptions, TrainSummary, train
from streamer_core import Config, load_config

PRESET = "tiny-default"


@dataclass(frozen=True)
class DemoOptions:
    corpus: CorpusOptions = CorpusOptions()  # used when the store has no sample corpus yet
    config: Config = field(default_factory=lambda: load_config(PRESET))  # its data.input is the store's
    tracking_uri: str | None = None  # default: the sqlite store in the state folder
    keep_running: bool = False  # leave the store running (for queries after the demo)


@dataclass(frozen=True)
class DemoReport:
    train: TrainSummary
    segment: SegmentSummary
    summary: str  # DuckDB's summary of the tables, as printed
    timelines: list[str]
    pages: list[str]  # the report: a page per video, then the index
    tracking_uri: str
    results: str


def _summarise(con, segmented: SegmentSummary) -> str:
    first = query.run(con, "SELECT min(video_id) FROM videos WHERE status = 'ok'").column(0)[0].as_py()
    parts = [("videos", query.example(con, "summary"))]
    if first:
        parts.append((f"events of {first} by level", query.example(con, "levels", video_id=first)))
    parts.append(("longest events", query.example(con, "longest", k=3)))
    return "\n\n".join(f"-- {title}\n{table.to_pandas().to_string(index=False)}" for title, table in parts)


def _pipeline(options: DemoOptions, store, uri: str) -> DemoReport:
    cfg = reading_store(options.config, store)
    trained = train(cfg, TrainOptions(tracking_uri=uri, s3=store.settings))
    segmented = segment(SegmentOptions(checkpoint=trained.checkpoint, input=store.corpus, output=store.results,
                                       tracking_uri=uri, inference=cfg.inference), store.settings)
    con = query.connect(store.results, store.settings)
    folder = state_dir() / "demo" / "timelines"
    videos = query.run(con, "SELECT video_id FROM videos WHERE status = 'ok' AND model_version = $v ORDER BY 1",
                       {"v": segmented.model_version}).column(0).to_pylist()
    drawn = [str(plots.draw_video(con, v, folder / plots.file_name(v), segmented.model_version, store.settings))
             for v in videos]
    return DemoReport(trained, segmented, _summarise(con, segmented), drawn, _report(con, videos, store), uri,
                      store.results)


def _report(con, videos: list[str], store) -> list[str]:
    """A report page per video (its media copied beside it from the store), then the index."""
    folder = state_dir() / "demo" / "report"
    pages = []
    for video_id in videos:
        stored = query.stored_video(con, video_id)
        pages.append(str(write_page(stored.hierarchy, stored.uri, folder, s3=store.settings)))
    return pages + [str(write_index(con, folder, "STREAMER demo"))]


def run_demo(options: DemoOptions = DemoOptions()) -> DemoReport:
    """Runs the stages above; whatever happens, stops what it started."""
    s3_folder = state_dir() / "s3"
    store_was_running = load_state(s3_folder) is not None
    started_ray = init_ray()
    try:
        store = default_store(options.corpus)
        return _pipeline(options, store, tracking_uri(options.tracking_uri))
    finally:
        if started_ray:
            import ray

            ray.shutdown()
        server = load_state(s3_folder)
        if server is not None and not store_was_running and not options.keep_running:
            stop_server(server)


def describe(report: DemoReport) -> str:
    """What the demo did and where to look, for people."""
    uri = report.tracking_uri
    lines = [f"trained: {report.train.checkpoint} ({report.train.videos} videos, {report.train.seconds} s)",
             f"segmented: {report.segment.videos_ok} ok, {report.segment.videos_failed} failed, "
             f"{report.segment.events} events in {report.segment.seconds} s -> {report.results}",
             "", report.summary, "",
             f"timelines: {Path(report.timelines[0]).parent if report.timelines else '(none)'}",
             f"MLflow store: {uri} (experiments streamer-train, streamer-segment; timelines are artifacts)",
             f"  open it with: mlflow ui --backend-store-uri {uri}",
             "query the results (the store keeps its data in .state/s3):",
             "  python -m pipelines.runtime.local_s3 start --state-dir .state/s3",
             '  eval "$(python -m pipelines.runtime.local_s3 env --state-dir .state/s3)"',
             f"  python jobs/query.py --output {report.results} --example summary",
             f"watch the events (open in a browser): {report.pages[-1]}"]
    return "\n".join(lines)


def report_json(report: DemoReport) -> dict:
    return {"train": dataclasses.asdict(report.train), "segment": dataclasses.asdict(report.segment),
            "timelines": report.timelines, "report": report.pages[-1], "tracking_uri": report.tracking_uri,
            "results": report.results}


def parser() -> cli.Parser:
    corpus = CorpusOptions()
    p = cli.parser(__doc__, cli.config_options(preset=PRESET), cli.tracking_options())
    p.add_argument("--videos", type=int, default=corpus.videos, help="sample videos to generate")
    p.add_argument("--min-duration", type=float, default=corpus.min_duration_s, help="shortest sample video, s")
    p.add_argument("--max-duration", type=float, default=corpus.max_duration_s, help="longest sample video, s")
    p.add_argument("--keep-running", action="store_true", help="leave the S3 store running afterwards")
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    a = cli.parse(parser(), argv)
    if a.videos < 1 or not 0 < a.min_duration <= a.max_duration:
        raise cli.UserError("need --videos >= 1 and 0 < --min-duration <= --max-duration")
    corpus = dataclasses.replace(CorpusOptions(), videos=a.videos, min_duration_s=a.min_duration,
                                 max_duration_s=a.max_duration)
    config = load_config(a.preset, a.config, a.overrides)  # checked before Ray and the store start
    report = run_demo(DemoOptions(corpus=corpus, config=config, tracking_uri=a.tracking_uri,
                                  keep_running=a.keep_running))
    print(describe(report))
    print(json.dumps(report_json(report)))
    return 0
