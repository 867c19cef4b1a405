"""The segment job: event hierarchies of new footage, as Parquet tables, tracked in MLflow.

Stages of `segment`:
1. load the checkpoint on the driver: a missing or unusable one fails here, before any work;
   model_version = the version recorded in it, else a hash of its bytes, then each placement option
   asked for (`placement`: level 0's penalty, say) that differs from the checkpoint's, as "+refine=0.3";
2. list the corpus; nightly (the default) keeps only videos with no committed result for this
   model version and ETag: new or changed footage. A video that failed is not retried while its
   ETag stays the same (a corrupt file fails again every night): `--retry-failed` retries it,
   `--all` redoes every video;
3. Ray Data: manifest rows -> `map_batches` on an actor pool (`SegmentActor`: the model loaded
   once per actor; actors, CPUs and GPUs per actor from `pipelines.segment.resources`, checked
   against the cluster before the MLflow run starts) -> one commit per batch of videos
   (`ResultsSink`, see `pipelines.results.tables` for why a killed run leaves nothing partial);
4. commit the `runs` row; log counts, seconds and timeline PNGs of a few videos to MLflow
   (experiment "streamer-segment");
5. with `compact` (`--compact`): compact the output's tables (`pipelines.results.compact`, as
   `jobs/compact.py` does), after the run is committed and tracked, so that a compaction that
   fails leaves both as they are.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

import mlflow
import ray
from ray.data import Datasink
from ray.data.block import BlockAccessor

from pipelines.data import storage
from pipelines.data.corpus import ManifestRow, list_corpus
from pipelines.data.decode import DecodeSettings
from pipelines.data.storage import S3Settings
from pipelines.results import compact, plots, query, tables
from pipelines.runtime import tracking
from pipelines.runtime.cluster import init_ray
from pipelines.segment.resources import ActorPlan, plan_actors
from pipelines.segment.segmenter import (
    LoadedModel,
    SegmentActor,
    load_model,
    split_batch,
)
from streamer_core import CheckpointError
from streamer_core.config import DataConfig, InferenceConfig

EXPERIMENT = "streamer-segment"


@dataclass(frozen=True)
class SegmentOptions:
    checkpoint: str
    input: str
    output: str
    tracking_uri: str | None = None
    redo_all: bool = False  # --all: segment every video, not only the new ones
    retry_failed: bool = False  # also the videos whose latest result (same ETag) failed
    inference: InferenceConfig = field(default_factory=InferenceConfig)  # batch_videos, actors
    actors_from_cluster: bool = False  # ignore inference.actors: as many actors as the free resources hold
    cpus_per_actor: float = 1.0
    gpus_per_actor: float | None = None  # None: one per actor when the cluster has GPUs, else 0
    device: str | None = None  # None: cuda for actors given GPUs, else cpu
    chunk_frames: int = DataConfig().chunk_frames
    plots: int = 3  # videos whose timelines go to MLflow
    compact: bool = False  # stage 5
    # model options that place events (streamer_core.config.PLACEMENT_OPTIONS) in place of the checkpoint's
    placement: dict[str, float | int] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentSummary:
    run_id: str
    model_version: str
    videos_ok: int
    videos_failed: int
    videos_skipped: int
    events: int
    frames: int
    video_seconds: float
    seconds: float
    output: str
    mlflow_run_id: str
    actors: int = 0  # segment actors started (0: nothing to do)
    compaction: compact.CompactSummary | None = None  # stage 5, when asked for


class ResultsSink(Datasink):
    """Each block (one batch of videos) becomes one commit of its `videos` and `events` rows."""

    def __init__(self, output: str, run_id: str, settings: S3Settings | None):
        self.output, self.run_id, self.settings = output, run_id, settings
        self.totals: Counter = Counter()
        self.ok_videos: list[str] = []

    def write(self, blocks, ctx) -> dict:
        totals, ok = Counter(), []
        for block in blocks:
            batch = BlockAccessor.for_block(block).to_arrow()
            if batch.num_rows == 0:
                continue
            written = split_batch(batch)
            videos = written["videos"].to_pylist()
            tables.write_commit(self.output, written, {"run_id": self.run_id,
                                                       "videos": [v["video_id"] for v in videos]}, self.settings)
            for video in videos:
                totals[video["status"]] += 1
                totals["frames"] += video["frames"]
                totals["video_seconds"] += video["duration_s"]
                ok += [video["video_id"]] if video["status"] == "ok" else []
            totals["events"] += written["events"].num_rows
        return {"totals": dict(totals), "ok": ok}

    def on_write_complete(self, write_result) -> None:
        for returned in write_result.write_returns:
            self.totals.update(returned["totals"])
            self.ok_videos += returned["ok"]

    def counts(self, skipped: int) -> tables.Counts:
        t = self.totals
        return tables.Counts(ok=t["ok"], failed=t["failed"], skipped=skipped, events=t["events"], frames=t["frames"])


def select(manifest: list[ManifestRow], options: SegmentOptions, model_version: str,
           settings: S3Settings | None) -> list[ManifestRow]:
    """The rows to segment (see the module doc, stage 2)."""
    if options.redo_all:
        return list(manifest)
    statuses = ("ok",) if options.retry_failed else ("ok", "failed")
    done = tables.done_videos(options.output, model_version, settings, statuses)
    return [r for r in manifest if (r.video_id, r.etag) not in done]


def _actor_plan(options: SegmentOptions, videos: int) -> ActorPlan:
    init_ray()  # a no-op inside a Ray job or under a caller that started Ray
    batches = max(1, math.ceil(videos / options.inference.batch_videos))
    actors = None if options.actors_from_cluster else options.inference.actors
    return plan_actors(ray.cluster_resources(), ray.available_resources(), batches, options.cpus_per_actor,
                       options.gpus_per_actor, actors)


def _run_pipeline(options: SegmentOptions, loaded: LoadedModel, run_id: str, todo: list[ManifestRow],
                  sink: ResultsSink, settings: S3Settings, plan: ActorPlan) -> None:
    actor = dict(checkpoint=options.checkpoint, sha256=loaded.sha256, run_id=run_id, version=loaded.version,
                 chunk_frames=options.chunk_frames, s3=settings, device=options.device or plan.device,
                 placement=options.placement)
    blocks = max(1, math.ceil(len(todo) / options.inference.batch_videos))
    rows = ray.data.from_items([r.to_dict() for r in todo], override_num_blocks=blocks)
    rows.map_batches(SegmentActor, batch_size=options.inference.batch_videos, batch_format="pyarrow",
                     compute=ray.data.ActorPoolStrategy(size=plan.actors), num_cpus=plan.cpus,
                     num_gpus=plan.gpus, fn_constructor_kwargs=actor).write_datasink(sink)


def _checked_model(options: SegmentOptions, settings: S3Settings) -> LoadedModel:
    loaded = load_model(options.checkpoint, settings, placement=options.placement)
    try:
        DecodeSettings.for_model(loaded.model.cfg, chunk_frames=options.chunk_frames)
    except ValueError as exc:
        raise CheckpointError(f"{options.checkpoint}: the decoder cannot feed this model: {exc}") from None
    return loaded


def _log_run(options: SegmentOptions, summary: SegmentSummary, ok_videos: list[str],
             settings: S3Settings) -> None:
    """Counts and seconds as metrics, the summary, and timelines of the first few videos done."""
    per_s = summary.frames / summary.seconds if summary.seconds else 0.0
    mlflow.log_metrics({"videos_ok": summary.videos_ok, "videos_failed": summary.videos_failed,
                        "videos_skipped": summary.videos_skipped, "events": summary.events,
                        "frames": summary.frames, "video_seconds": summary.video_seconds,
                        "seconds": summary.seconds, "frames_per_s": per_s})
    mlflow.log_dict(dataclasses.asdict(summary), "summary.json")
    if not ok_videos or options.plots <= 0:
        return
    con = query.connect(options.output, settings)
    with tempfile.TemporaryDirectory(prefix="timelines-") as folder:
        for video_id in sorted(ok_videos)[:options.plots]:
            plots.draw_video(con, video_id, f"{folder}/{plots.file_name(video_id)}", summary.model_version, settings)
        mlflow.log_artifacts(folder, "timelines")


def segment(options: SegmentOptions, settings: S3Settings | None = None) -> SegmentSummary:
    """Runs the job (see the module doc for the stages); starts a local Ray only when there is work
    and no cluster is joined yet."""
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    settings = settings or S3Settings.from_env()
    loaded = _checked_model(options, settings)
    manifest = list_corpus(options.input, settings)
    todo = select(manifest, options, loaded.version, settings)
    plan = _actor_plan(options, len(todo)) if todo else ActorPlan(0, options.cpus_per_actor, 0.0)
    tables.check_writable(options.output, settings)  # a read-only output fails here, before any work
    run_id = tables.new_run_id("segment")
    config = {"options": dataclasses.asdict(options), "model": dataclasses.asdict(loaded.model.cfg),
              "actors": dataclasses.asdict(plan)}
    tags = {"model_version": loaded.version, "checkpoint": options.checkpoint, "results_run_id": run_id}
    with tracking.tracked_run(EXPERIMENT, run_id, options.tracking_uri, params=config, tags=tags) as run:
        sink = ResultsSink(options.output, run_id, settings)
        if todo:
            with storage.store_errors(options.output, settings):  # down, read-only, full: one line
                _run_pipeline(options, loaded, run_id, todo, sink, settings, plan)
        counts = sink.counts(skipped=len(manifest) - len(todo))
        record = tables.RunRecord(run_id, "segment", started, dt.datetime.now(dt.timezone.utc), options.checkpoint,
                                   loaded.version, {**config, "mlflow_run_id": run.info.run_id}, counts)
        tables.write_commit(options.output, {"runs": record.to_table()}, {"run_id": run_id}, settings)
        summary = SegmentSummary(run_id, loaded.version, counts.ok, counts.failed, counts.skipped, counts.events,
                                 counts.frames, round(sink.totals["video_seconds"], 3),
                                 round(time.perf_counter() - clock, 3), options.output, run.info.run_id,
                                 plan.actors)
        _log_run(options, summary, sink.ok_videos, settings)
    if options.compact:
        summary = dataclasses.replace(summary, compaction=compact.compact(options.output, settings))
    return summary
