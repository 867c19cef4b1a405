"""Parameter averaging across training workers, STREAMER's way, over uneven streams.

Every rank calls `Synchronizer.sync` at its own moments: at each averaging step (every
`average_every` optimiser steps, mid-video), after each video, and in a loop once it has nothing
left to learn. Every call makes the same collectives in the same order: an all_gather of a small
status row, then only what the gathered table calls for, decided by the same pure function
(`decide`) on every rank. Calls pair up by their count, not their kind, so no rank waits on a
collective that the others never make; the loop ends at the call whose table shows no rank
active, which every rank sees at the same time.

Averaging: the ranks whose parameters moved since the last average contribute, weighted by that
flag (a finished or idle rank contributes nothing, so it cannot pull the average back), and
everyone adopts the result. Periodic averages need every rank still learning to have the same
number of active levels (the paper's rule); a checkpoint cut averages each level over the
contributors that have it, so that the saved weights hold every rank's learning.

Checkpoints are cut only when every rank is between videos: once enough videos are done, a
rank that finishes a video holds its next one until all have, so the saved weights and the
record of done videos describe the same state (every video learned exactly once).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, fields

import torch
import torch.distributed as dist

from streamer_core import StreamerModel

# How long a collective call may wait. An idle rank waits in one call until the others reach
# their next sync point, which with the paper's settings can be many minutes away; a dead rank
# is caught by Ray Train's health checks long before this.
SYNC_TIMEOUT_S = 6 * 3600


@dataclass(frozen=True)
class Status:
    """One rank's row in the gathered table."""

    active: bool  # a video in progress or still to learn
    at_boundary: bool  # between videos: a checkpoint may be cut now
    at_step: bool  # at an averaging step
    changed: bool  # parameters moved since they were last averaged
    done: int  # videos finished since the last checkpoint
    levels: int  # active levels of this rank's model


@dataclass(frozen=True)
class Decision:
    finished: bool  # no rank is active: the loop ends
    checkpoint: bool  # cut a checkpoint now (every rank at a boundary)
    wait: bool  # a checkpoint is due: ranks at a boundary hold their next video
    group: tuple[int, ...]  # ranks whose parameters are averaged (empty: none)
    levels: tuple[int, ...]  # per rank in `group`: its active levels


def decide(table: Sequence[Status], checkpoint_videos: int) -> Decision:
    """The same decision on every rank, from the same gathered table."""
    finished = not any(s.active for s in table)
    due = sum(s.done for s in table) >= checkpoint_videos
    cut = finished or (due and all(s.at_boundary for s in table))
    changed = tuple(r for r, s in enumerate(table) if s.changed)
    learning = {s.levels for s in table if s.active or s.changed}
    periodic = any(s.at_step for s in table) and len(learning) == 1
    group = changed if (cut or periodic) else ()
    return Decision(finished=finished, checkpoint=cut, wait=due and not cut, group=group,
                    levels=tuple(table[r].levels for r in group))


def level_of_parameters(model: StreamerModel) -> list[tuple[int, list[torch.nn.Parameter]]]:
    """Each level's parameters (its f and p modules; level 0 includes the frame codec)."""
    f_modules, p_modules = model.level_modules()
    return [(level, [*f.parameters(), *p.parameters()])
            for level, (f, p) in enumerate(zip(f_modules, p_modules))]


class Synchronizer:
    """One rank's side of the protocol; `cut(finished)` writes and reports a checkpoint."""

    def __init__(self, model: StreamerModel, rank: int, world: int, checkpoint_videos: int,
                 cut: Callable[[bool], None], group: dist.ProcessGroup | None = None):
        self.model, self.rank, self.world = model, rank, world
        self.checkpoint_videos, self.cut, self.group = checkpoint_videos, cut, group
        self.changed = False
        self.done = 0
        self.calls = 0

    def sync(self, *, active: bool, at_boundary: bool, at_step: bool = False,
             reencode: Callable[[], None] | None = None) -> Decision:
        """One collective call; `reencode` refreshes state computed with the old weights."""
        mine = Status(active=active, at_boundary=at_boundary, at_step=at_step, changed=self.changed,
                      done=self.done, levels=int(self.model.active_levels))
        table = self._gather(mine)
        decision = decide(table, self.checkpoint_videos)
        self.calls += 1
        if decision.group:
            self._average(decision)
            if reencode is not None:
                reencode()
        if decision.checkpoint:
            self.cut(decision.finished)
            self.done = 0
        return decision

    def after_video(self) -> None:
        """Counts a finished video; holds here while a due checkpoint waits for the others."""
        self.done += 1
        while self.sync(active=True, at_boundary=True).wait:
            pass

    def drain(self) -> None:
        """Nothing left to learn: keep answering the others' calls until every rank is done."""
        while not self.sync(active=False, at_boundary=True).finished:
            pass

    def broadcast_from(self, src: int = 0) -> None:
        """Every rank starts from rank `src`'s weights and buffers."""
        with torch.no_grad():
            for tensor in self.model.state_dict().values():
                dist.broadcast(tensor, src)
                torch.autograd.graph.increment_version(tensor)  # written behind autograd's back

    def _gather(self, mine: Status) -> list[Status]:
        row = torch.tensor([int(v) for v in astuple(mine)], dtype=torch.int64)
        rows = [torch.empty_like(row) for _ in range(self.world)]
        dist.all_gather(rows, row, group=self.group)
        return [Status(**{f.name: bool(v) if f.type == "bool" else v for f, v in zip(fields(Status), r.tolist())})
                for r in rows]  # the flags travel as 0/1

    def _average(self, decision: Decision) -> None:
        """Per level, the mean over the group's ranks that have that level; all adopt it."""
        mine = dict(zip(decision.group, decision.levels))
        with torch.no_grad():
            for level, params in level_of_parameters(self.model):
                count = sum(1 for levels in decision.levels if levels > level)
                if count == 0:
                    continue  # no contributor has learned this level: it stays as it is
                weight = 1.0 if mine.get(self.rank, 0) > level else 0.0
                flat = torch.cat([p.reshape(-1) for p in params]) * weight
                dist.all_reduce(flat)
                flat /= count
                offset = 0
                for p in params:
                    p.copy_(flat[offset:offset + p.numel()].view_as(p))
                    offset += p.numel()
            top = max(decision.levels)
            if top > int(self.model.active_levels):
                self.model.active_levels.fill_(top)
        self.changed = False


def weights_digest(model: StreamerModel) -> str:
    """A hash of every parameter and the level count, to show that ranks hold the same model
    (the other buffer, `top_inputs`, is each rank's own count towards its next level)."""
    digest = hashlib.sha256(str(int(model.active_levels)).encode())
    for name, tensor in model.named_parameters():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
