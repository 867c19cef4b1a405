"""The training job: STREAMER learned over a corpus by Ray Train workers, tracked in MLflow.

Stages of `train`:
1. plan: list the corpus, keep the first `data.max_videos`, check the config against it and
   write `run.json` where the checkpoints go: a bad config, an unreachable input or an
   unwritable checkpoint folder fails here, before any worker starts;
2. track: one MLflow run (experiment "streamer-train") with the config as params and the
   corpus as an input;
3. fit: a TorchTrainer (nccl with `train.gpus_per_worker` of 1 or more, else gloo; checked
   against the cluster first) runs `pipelines.train.worker` on every worker: whole videos per worker, balanced
   by duration (`pipelines.train.shares`, read from the containers' headers at stage 1), each
   learned once in frame order, weights averaged every `learn.average_every` steps, a checkpoint
   every `train.checkpoint_every` videos per worker; FailureConfig restarts from the last one;
4. publish: the final weights as `<checkpoint_dir>/<run_name>/model.pt` (what
   `StreamerModel.from_checkpoint` reads), `latest.json` in the checkpoint folder pointing at
   them, and the metrics history, failed videos and model logged to MLflow.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field, replace

from pipelines.cli import UserError
from pipelines.data import storage
from pipelines.data.corpus import ManifestRow, list_corpus
from pipelines.data.decode import DecodeSettings, stream_shape
from pipelines.data.picklable_s3 import shipped_filesystem
from pipelines.data.storage import S3Settings
from pipelines.runtime.cluster import GRANTABLE_GPUS, grantable_gpus, init_ray, lacking
from pipelines.runtime.tracking import tracked_run
from pipelines.train.publish import (
    LAST_RUN_FILE,
    RUN_FILE,
    publish,
    read_json,
    write_json,
)
from pipelines.train.shares import read_durations
from pipelines.train.worker import CrashOnce, WorkerPlan
from streamer_core import Config, ConfigError

EXPERIMENT = "streamer-train"
log = logging.getLogger(__name__)


class TrainInputError(UserError):
    """The input or the checkpoint folder cannot be used; raised before any worker starts."""


@dataclass(frozen=True)
class TrainOptions:
    tracking_uri: str | None = None  # default: pipelines.runtime.tracking.tracking_uri()
    resume: str | None = None  # a run name in the checkpoint folder, or "last"
    run_name: str | None = None  # default: train-<time>-<random>
    s3: S3Settings | None = None  # default: S3Settings.from_env() (drivers and workers alike)
    experiment: str = EXPERIMENT
    crash_once: CrashOnce | None = None  # test hook, see CrashOnce


@dataclass(frozen=True)
class TrainSummary:
    mlflow_run_id: str
    checkpoint: str  # URI of the final model.pt
    run_name: str
    run_dir: str  # URI of the run's folder (Ray Train checkpoints, run.json)
    videos: int  # videos learned (ok)
    frames: int  # samples learned
    failed_videos: int
    failed: list[str] = field(default_factory=list)  # their video ids
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class Plan:
    cfg: Config
    manifest: tuple[ManifestRow, ...]
    run_name: str
    checkpoint_dir: str
    resumed: bool
    durations: dict[str, float] = field(default_factory=dict)  # video_id -> seconds, where known

    @property
    def run_dir(self) -> str:
        return storage.join(self.checkpoint_dir, self.run_name)


def train(cfg: Config, options: TrainOptions = TrainOptions()) -> TrainSummary:
    """Runs the stages above; joins or starts Ray (pipelines.runtime.cluster.init_ray) unless the caller has."""
    started = time.perf_counter()
    plan = plan_run(cfg, options)
    _check_cluster(plan.cfg)
    tags = {"run_name": plan.run_name, "resumed": str(plan.resumed)}
    with tracked_run(options.experiment, plan.run_name, options.tracking_uri,
                     params=plan.cfg.to_dict(), tags=tags) as run:
        _log_inputs(plan)
        result = _fit(plan, options)
        published = publish(result.checkpoint, plan.run_dir, plan.checkpoint_dir,
                            run.info.run_id, options.s3)
        record = published.record
        failed = [v.video_id for v in record.failed()]
        summary = TrainSummary(run.info.run_id, published.model_uri, plan.run_name, plan.run_dir,
                               len(record.videos) - len(failed), sum(v.samples for v in record.videos),
                               len(failed), failed, round(time.perf_counter() - started, 2))
        _log_outputs(summary, record, options.s3)
    return summary


# ---- 1. plan ------------------------------------------------------------------------------
def plan_run(cfg: Config, options: TrainOptions) -> Plan:
    """Everything checked that can be checked without a worker; see the module doc."""
    checkpoint_dir = cfg.train.checkpoint_dir or _default_checkpoint_dir()
    if options.resume:
        return _resumed_plan(checkpoint_dir, options)
    cfg = Config.from_dict(cfg.to_dict())  # validates every field (a caller may have edited it)
    try:
        DecodeSettings.for_model(cfg.model, chunk_frames=cfg.data.chunk_frames)
    except ValueError as exc:
        raise ConfigError(f"model.image_size: {exc}") from None
    if not grantable_gpus(cfg.train.gpus_per_worker):
        raise ConfigError(f"train.gpus_per_worker: {cfg.train.gpus_per_worker:g} is not {GRANTABLE_GPUS}")
    manifest = _manifest(cfg, options.s3)
    if cfg.model.input_kind == "features" and not cfg.model.feature_dim:
        cfg = replace(cfg, model=replace(cfg.model, feature_dim=_row_width(manifest, options.s3)))
    run_name = options.run_name or f"train-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    plan = Plan(cfg, tuple(manifest), run_name, checkpoint_dir, resumed=False,
                durations=read_durations(manifest, cfg.model.snippet_size, options.s3))
    _write_run_files(plan, options.s3)
    return plan


def _check_cluster(cfg: Config) -> None:
    """Ray Train places every worker at once, so workers the cluster can never hold together would
    wait forever: refuse them before any worker starts."""
    import ray

    init_ray()
    have, t = ray.cluster_resources(), cfg.train
    each = {"CPU": t.cpus_per_worker, "GPU": t.gpus_per_worker}
    if short := lacking(have, each, t.workers):
        name = "gpus_per_worker" if short == "GPU" else "cpus_per_worker"
        raise TrainInputError(f"train.{name}={each[short]:g} x {t.workers} workers: "
                              f"the cluster has {have.get(short, 0):g} {short}s")


def scaling_config(cfg: Config):
    """Ray Train's ScalingConfig for `train.workers`, `cpus_per_worker`, `gpus_per_worker`, `placement`."""
    from ray.train import ScalingConfig

    t = cfg.train
    resources = {"CPU": t.cpus_per_worker, **({"GPU": t.gpus_per_worker} if t.gpus_per_worker else {})}
    return ScalingConfig(num_workers=t.workers, use_gpu=t.gpus_per_worker > 0, resources_per_worker=resources,
                         placement_strategy=t.placement)


def _default_checkpoint_dir() -> str:
    from pipelines.runtime.tracking import state_dir

    return str(state_dir() / "checkpoints")


def _manifest(cfg: Config, s3: S3Settings | None) -> list[ManifestRow]:
    uri = cfg.data.input
    if not uri:
        raise ConfigError("data.input: no corpus given (--input s3://bucket/prefix or a folder)")
    try:
        rows = list_corpus(uri, s3)
    except (FileNotFoundError, ConnectionError, PermissionError) as exc:
        raise TrainInputError(f"cannot list the corpus: {exc}") from None
    if cfg.data.max_videos:
        rows = rows[:cfg.data.max_videos]
    if not rows:
        raise TrainInputError(f"no videos or .npy feature streams under {uri}")
    want = "features" if cfg.model.input_kind == "features" else "video"
    other = [r.video_id for r in rows if r.kind != want]
    if other:
        raise ConfigError(f"model.input_kind={cfg.model.input_kind!r} but the corpus has "
                          f"{len(other)} other files, e.g. {other[0]}")
    return rows


def _row_width(manifest: list[ManifestRow], s3: S3Settings | None) -> int:
    """model.feature_dim when not given: the width of the first stream whose header reads as [T, F]
    (a stream of another width then fails by name in its worker, as any bad input does)."""
    for row in manifest:
        try:
            shape = stream_shape(row.uri, s3)
        except Exception:  # noqa: BLE001 - an unreadable stream fails in its worker; the next one may tell
            continue
        if len(shape) == 2 and shape[1] > 0:
            log.info("model.feature_dim=%d, read from %s", shape[1], row.video_id)
            return int(shape[1])
    raise TrainInputError("model.feature_dim: no stream of the corpus has a readable [T, F] header to read it from")


def _write_run_files(plan: Plan, s3: S3Settings | None) -> None:
    """run.json (config and manifest, what --resume continues) and last-run.json; writing them
    is also the check that the checkpoint folder is reachable and writable."""
    run = {"run_name": plan.run_name, "config": plan.cfg.to_dict(),
           "manifest": [r.to_dict() for r in plan.manifest], "durations": plan.durations}
    try:
        write_json(storage.join(plan.run_dir, RUN_FILE), run, s3)
        write_json(storage.join(plan.checkpoint_dir, LAST_RUN_FILE), {"run_name": plan.run_name}, s3)
    except OSError as exc:
        raise TrainInputError(f"cannot write to the checkpoint folder {plan.checkpoint_dir}: {exc}") from None


def _resumed_plan(checkpoint_dir: str, options: TrainOptions) -> Plan:
    """The stopped run's own config and manifest; Ray Train restores its last checkpoint."""
    name = options.resume
    try:
        if name == "last":
            name = read_json(storage.join(checkpoint_dir, LAST_RUN_FILE), options.s3)["run_name"]
        run = read_json(storage.join(checkpoint_dir, name, RUN_FILE), options.s3)
    except (OSError, KeyError, ValueError) as exc:
        raise TrainInputError(f"no run {options.resume!r} to resume in {checkpoint_dir}: {exc}") from None
    cfg = Config.from_dict(run["config"])
    cfg = replace(cfg, train=replace(cfg.train, checkpoint_dir=checkpoint_dir))
    manifest = tuple(ManifestRow.coerce(r) for r in run["manifest"])
    return Plan(cfg, manifest, name, checkpoint_dir, resumed=True, durations=run.get("durations", {}))


# ---- 2. track -----------------------------------------------------------------------------
def _log_inputs(plan: Plan) -> None:
    import mlflow
    import pandas as pd

    rows = pd.DataFrame([{"video_id": r.video_id, "uri": r.uri, "size": r.size} for r in plan.manifest])
    mlflow.log_input(mlflow.data.from_pandas(rows, source=plan.cfg.data.input or plan.run_dir,
                                             name="corpus"), context="training")
    mlflow.log_params({"corpus_uri": plan.cfg.data.input, "videos_listed": len(plan.manifest),
                       "run_dir": plan.run_dir})


def _log_outputs(summary: TrainSummary, record, s3: S3Settings | None) -> None:
    """The metrics history (step = videos done), the failed videos, the record and the model."""
    import mlflow
    import torch

    from streamer_core import StreamerModel

    for entry in record.history:
        mlflow.log_metrics({k: float(v) for k, v in entry.items()}, step=int(entry["videos"]))
    mlflow.log_metrics({"failed_videos": summary.failed_videos, "seconds": summary.seconds,
                        "job_frames_per_s": summary.frames / max(summary.seconds, 1e-9)})
    mlflow.log_text("\n".join(summary.failed) + ("\n" if summary.failed else ""), "failed_videos.txt")
    mlflow.log_text(record.to_json(), "record.json")
    mlflow.set_tag("checkpoint_uri", summary.checkpoint)
    model = StreamerModel.from_checkpoint(storage.read_bytes(summary.checkpoint, s3))
    mlflow.pytorch.log_model(model, name="streamer", serialization_format="pickle",
                             pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"])


# ---- 3. fit -------------------------------------------------------------------------------
def _fit(plan: Plan, options: TrainOptions):
    from ray.train import CheckpointConfig, FailureConfig, RunConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from pipelines.train.sync import SYNC_TIMEOUT_S
    from pipelines.train.worker import train_loop_per_worker

    workers, gpus = plan.cfg.train.workers, plan.cfg.train.gpus_per_worker
    backend = "nccl" if gpus >= 1 else "gloo"  # nccl wants a GPU per rank; gloo also reduces CUDA tensors
    fs, path = shipped_filesystem(plan.checkpoint_dir, options.s3)  # keeps its retries in Ray Train's processes
    worker_plan = WorkerPlan(plan.cfg.to_dict(), plan.manifest, plan.run_name,
                             options.s3 or S3Settings.from_env(), options.crash_once, plan.durations)
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"plan": worker_plan},
        scaling_config=scaling_config(plan.cfg),
        torch_config=TorchConfig(backend=backend, timeout_s=SYNC_TIMEOUT_S),
        run_config=RunConfig(
            name=plan.run_name, storage_path=path, storage_filesystem=fs,
            failure_config=FailureConfig(max_failures=plan.cfg.train.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2)),
    )
    log.info("training %d videos on %d workers (%g GPUs each, %s); checkpoints in %s", len(plan.manifest), workers,
             gpus, backend, plan.run_dir)
    with storage.store_errors(plan.checkpoint_dir, options.s3):  # a store down past the retry budget: one line
        return trainer.fit()
