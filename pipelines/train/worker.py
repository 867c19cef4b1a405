"""The per-worker loop of the training job: runs inside each Ray Train worker.

Each worker restores the last checkpoint (if any), takes its share of the videos not yet done
(whole videos, balanced by duration, the same split computed on every rank: `pipelines.train.shares`),
reads each one through a `pipelines.data.feed.VideoFeed` (decoded a few chunks ahead in a CPU thread,
no copy on local disk, the same feed segmentation reads; on a GPU worker only the stacked model input
moves to the device) and learns from it in frame order. `pipelines.train.sync` averages
the weights across workers and decides when to cut a checkpoint; the cut gathers every rank's
record, rank 0 writes the shared files, every rank its learner state, and all report it to Ray Train.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import ray.train
import torch
import torch.distributed as dist

from pipelines.data.corpus import ManifestRow
from pipelines.data.decode import DecodeSettings
from pipelines.data.feed import VideoFeed
from pipelines.data.storage import S3Settings
from pipelines.train.record import (
    TrainRecord,
    VideoRecord,
    interval_metrics,
    restore,
    write_learner,
    write_shared,
)
from pipelines.train.shares import shares
from pipelines.train.sync import SYNC_TIMEOUT_S, Synchronizer, weights_digest
from streamer_core import Config, Learner, Streamer, StreamerModel, StreamSource


@dataclass(frozen=True)
class CrashOnce:
    """Test hook: the worker of `rank` exits abruptly after learning `after_videos` videos in
    one attempt (after that video's sync), once per `marker` file (created just before).

    It waits `hold_s` first: Ray Train's controller collects reported checkpoints when it polls
    the workers (every 2 s), and a worker that dies before that poll takes the checkpoint it
    reported with it, so the restart would begin from the one before (or from scratch)."""

    rank: int
    after_videos: int
    marker: str
    hold_s: float = 5.0


@dataclass(frozen=True)
class WorkerPlan:
    """The same for every worker; each takes its own share of `manifest`."""

    config: dict[str, Any]  # Config.to_dict()
    manifest: tuple[ManifestRow, ...]
    run_name: str
    s3: S3Settings | None = None
    crash_once: CrashOnce | None = None
    durations: dict[str, float] = field(default_factory=dict)  # video_id -> seconds (the driver read them)


@dataclass
class Progress:
    """This rank's work since the last cut; every rank gathers all ranks' at a cut."""

    levels: int
    videos: list[VideoRecord] = field(default_factory=list)
    frames: int = 0
    video_s: float = 0.0
    boundaries: list[int] = field(default_factory=list)
    loss_sum: list[float] = field(default_factory=list)
    loss_count: list[int] = field(default_factory=list)
    wall_s: float = 0.0


class SyncedLearner(Learner):
    """A Learner that calls `after_step(level0)` after each optimiser step: averaging replaces
    the weights, and level 0's working sets, encoded with the old ones, must be encoded again."""

    after_step: Callable[[list], None] | None = None

    def step(self, level0: list) -> None:
        super().step(level0)
        if self.after_step is not None:
            self.after_step(level0)


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point; `config["plan"]` is a WorkerPlan."""
    ctx = ray.train.get_context()
    worker = Worker(config["plan"], ctx.get_world_rank(), ctx.get_world_size(),
                    ray.train.torch.get_device())
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            worker.restore(folder)
    worker.run()


class Worker:
    def __init__(self, plan: WorkerPlan, rank: int, world: int, device: torch.device):
        self.plan, self.rank, self.world = plan, rank, world
        self.cfg = Config.from_dict(plan.config)
        torch.manual_seed(self.cfg.learn.seed)
        self.model = StreamerModel(self.cfg.model).to(device)
        self.learner = SyncedLearner(self.model, self.cfg.learn)
        self.learner.after_step = self._after_step
        self.streamer = Streamer(self.model, self.learner)
        self.control = dist.new_group(backend="gloo", timeout=timedelta(seconds=SYNC_TIMEOUT_S))
        self.sync = Synchronizer(self.model, rank, world, self.cfg.train.checkpoint_every * world,
                                 self._cut, self.control)
        self.record = TrainRecord(run_name=plan.run_name)
        self.node = ray.util.get_node_ip_address()  # recorded at each cut: which node each rank ran on
        self.settings = DecodeSettings.for_model(self.cfg.model, chunk_frames=self.cfg.data.chunk_frames)
        self.learned = 0  # videos learned in this attempt (for the crash hook)
        self._new_progress()

    def restore(self, folder: str) -> None:
        self.record, found = restore(folder, self.model, self.learner, self.rank)
        if not found:
            print(f"rank {self.rank}: no learner state in the checkpoint; fresh optimisers")

    def share(self) -> list[ManifestRow]:
        """This rank's videos among those not done yet (every rank computes the same split)."""
        done = self.record.done()
        return shares([r for r in self.plan.manifest if r.video_id not in done], self.world,
                      self.plan.durations)[self.rank]

    def run(self) -> None:
        self.record.starts.append(len(self.record.videos))
        self.sync.broadcast_from(0)
        self._new_progress()
        for row in self.share():
            self._learn(row)
            self.sync.after_video()
            self._maybe_crash()
        self.sync.drain()

    # ---- one video ---------------------------------------------------------------------------
    def _learn(self, row: ManifestRow) -> None:
        """Learns what the feed gives; a video whose feed ends in an error is recorded as failed
        with the samples learned before it (those did move the weights)."""
        feed = VideoFeed(row, self.settings, self.model, self.plan.s3)
        hierarchy = self.streamer.learn(StreamSource(row.video_id, feed))
        if feed.error:
            print(f"rank {self.rank}: failed video {row.video_id}: {feed.error}")
        self.progress.videos.append(VideoRecord(
            video_id=row.video_id, rank=self.rank, status="failed" if feed.error else "ok",
            samples=feed.samples, duration_s=feed.duration_s, error=feed.error))
        self.progress.frames += feed.samples
        self.progress.video_s += feed.duration_s
        for level in range(len(hierarchy.levels)):
            self.progress.boundaries[level] += len(hierarchy.boundaries(level))
        self.learned += 1

    def _maybe_crash(self) -> None:
        hook = self.plan.crash_once
        if hook is None or hook.rank != self.rank or hook.after_videos != self.learned:
            return
        try:
            open(hook.marker, "x").close()
        except FileExistsError:
            return
        time.sleep(hook.hold_s)
        print(f"rank {self.rank}: crash hook: exiting after {self.learned} videos", flush=True)
        os._exit(17)

    # ---- synchronisation ---------------------------------------------------------------------
    def _after_step(self, level0: list) -> None:
        self.sync.changed = True
        if self.learner.steps % self.cfg.learn.average_every == 0:
            self.sync.sync(active=True, at_boundary=False, at_step=True,
                           reencode=lambda: self.learner.reencode(level0))

    def _new_progress(self) -> None:
        n = self.cfg.model.max_layers
        self.progress = Progress(levels=int(self.model.active_levels), boundaries=[0] * n)
        self._loss_base = (list(self.learner.loss_sum), list(self.learner.loss_count))
        self._started = time.perf_counter()

    def _cut(self, finished: bool) -> None:
        """Gathers every rank's progress, writes this rank's part and reports the checkpoint."""
        p = self.progress
        p.levels, p.wall_s = int(self.model.active_levels), time.perf_counter() - self._started
        p.loss_sum = [a - b for a, b in zip(self.learner.loss_sum, self._loss_base[0])]
        p.loss_count = [a - b for a, b in zip(self.learner.loss_count, self._loss_base[1])]
        parts: list[Any] = [None] * self.world
        dist.all_gather_object(parts, (p, weights_digest(self.model), self.node), group=self.control)
        self.record.videos += [v for part, _, _ in parts for v in part.videos]
        self.record.digests = [digest for _, digest, _ in parts]
        self.record.nodes = [node for _, _, node in parts]
        metrics = interval_metrics([part for part, _, _ in parts], self.record, finished)
        self.record.history.append(metrics)
        with tempfile.TemporaryDirectory(prefix="streamer-ckpt-") as folder:
            if self.rank == 0:
                write_shared(folder, self.model, self.cfg, self.record)
            write_learner(folder, self.learner, self.rank)
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(folder))
        self._new_progress()
