"""What a training checkpoint holds, and how one rank writes and reads its part.

A checkpoint directory (one per cut; Ray Train merges the ranks' files into it):
  model.pt         the weights (`StreamerModel.save`, readable by `from_checkpoint`), with the
                   config, the run name and model_version "<run_name>/<videos done>" in its extras
  record.json      every video done so far: which rank learned it, ok or failed, samples, the
                   metrics history (one entry per cut) and where each attempt (a restart after a
                   failure, a resumed run) began
  config.json      the whole config tree
  learner-<r>.pt   rank r's optimiser states and accumulated gradients
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from streamer_core import Config, Learner, StreamerModel

MODEL_FILE = "model.pt"
RECORD_FILE = "record.json"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class VideoRecord:
    """One video done: learned (ok) or skipped because it could not be decoded (failed)."""

    video_id: str
    rank: int
    status: str  # "ok" | "failed"
    samples: int  # samples learned (a file that breaks part-way keeps what came before)
    duration_s: float
    error: str = ""


@dataclass
class TrainRecord:
    """The exactly-once record of a run and its metrics history, carried across restarts."""

    run_name: str
    videos: list[VideoRecord] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)  # weights hash of each rank at the last cut
    nodes: list[str] = field(default_factory=list)  # node IP of each rank at the last cut
    starts: list[int] = field(default_factory=list)  # videos done when each attempt that cut began

    def done(self) -> set[str]:
        return {v.video_id for v in self.videos}

    def failed(self) -> list[VideoRecord]:
        return [v for v in self.videos if v.status == "failed"]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> TrainRecord:
        values = json.loads(text)
        return cls(run_name=values["run_name"], videos=[VideoRecord(**v) for v in values["videos"]],
                   history=values["history"], digests=values.get("digests", []), nodes=values.get("nodes", []),
                   starts=values.get("starts", []))


def learner_file(rank: int) -> str:
    return f"learner-{rank}.pt"


def write_shared(folder: str | Path, model: StreamerModel, cfg: Config, record: TrainRecord) -> None:
    """Rank 0's part: weights, config and record."""
    folder = Path(folder)
    extra = {"config": cfg.to_dict(), "run_name": record.run_name, "videos_done": len(record.videos),
             "model_version": f"{record.run_name}/{len(record.videos)}"}
    model.save(folder / MODEL_FILE, extra=extra)
    (folder / CONFIG_FILE).write_text(json.dumps(cfg.to_dict(), indent=1))
    (folder / RECORD_FILE).write_text(record.to_json())


def write_learner(folder: str | Path, learner: Learner, rank: int) -> None:
    """Every rank's part: its optimiser states and accumulated gradients."""
    state = learner.state_dict()
    state["grads"] = {k: g.cpu() for k, g in state["grads"].items()}
    torch.save(state, Path(folder) / learner_file(rank))


def read_record(folder: str | Path) -> TrainRecord:
    return TrainRecord.from_json((Path(folder) / RECORD_FILE).read_text())


def restore(folder: str | Path, model: StreamerModel, learner: Learner, rank: int) -> tuple[TrainRecord, bool]:
    """Loads weights (refusing another model config), the record, and this rank's learner state
    if the checkpoint has one (a run resumed with more workers starts their optimisers afresh).
    Returns the record and whether the learner state was found."""
    folder = Path(folder)
    model.load_weights(folder / MODEL_FILE)
    path = folder / learner_file(rank)
    found = path.exists()
    if found:
        state = torch.load(path, map_location=model.device, weights_only=False)
        state["grads"] = {k: g.to(model.device) for k, g in state["grads"].items()}
        learner.load_state_dict(state)
    return read_record(folder), found


def interval_metrics(parts: list, record: TrainRecord, finished: bool) -> dict[str, float]:
    """Metrics of one cut, from every rank's Progress since the previous one: totals so far,
    frames/s of the whole job over the interval, per-level loss and boundaries per minute."""
    wall = max(p.wall_s for p in parts)
    frames, video_s = sum(p.frames for p in parts), sum(p.video_s for p in parts)
    levels = max(p.levels for p in parts)
    metrics: dict[str, float] = {
        "videos": len(record.videos), "failed_videos": len(record.failed()),
        "frames": sum(v.samples for v in record.videos), "finished": int(finished),
        "interval_frames": frames, "interval_s": round(wall, 3),
        "frames_per_s": frames / wall if wall > 0 else 0.0, "levels": levels,
    }
    for level in range(levels):
        count = sum(p.loss_count[level] for p in parts)
        if count:
            metrics[f"loss_l{level}"] = sum(p.loss_sum[level] for p in parts) / count
        if video_s > 0:
            metrics[f"boundaries_per_min_l{level}"] = sum(p.boundaries[level] for p in parts) / (video_s / 60)
    return metrics
