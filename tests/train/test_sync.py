"""The averaging protocol over real gloo process groups (no Ray): uneven streams end without a
deadlock, idle ranks do not skew the average, checkpoints are cut only between videos and
every rank holds the same weights after each cut."""
from __future__ import annotations

import multiprocessing
import os

import pytest
import torch

from pipelines.runtime.local_s3 import _free_ports
from pipelines.train.sync import Decision, Status, decide

START = 1.0  # every parameter starts here (set on rank 0, broadcast to the others)


def _status(active=True, at_boundary=False, at_step=False, changed=False, done=0, levels=1) -> Status:
    return Status(active=active, at_boundary=at_boundary, at_step=at_step, changed=changed, done=done, levels=levels)


def _decision(finished=False, checkpoint=False, wait=False, group=(), levels=()) -> Decision:
    return Decision(finished=finished, checkpoint=checkpoint, wait=wait, group=group, levels=levels)


def test_periodic_average_over_changed_ranks_only():
    table = [_status(at_step=True, changed=True), _status(at_boundary=True),
             _status(active=False, at_boundary=True, levels=2)]  # finished ranks never block it
    assert decide(table, checkpoint_videos=10) == _decision(group=(0,), levels=(1,))


def test_periodic_average_skipped_when_learning_ranks_disagree_on_levels():
    table = [_status(at_step=True, changed=True), _status(changed=True, levels=2)]
    assert decide(table, 10).group == ()


def test_checkpoint_waits_for_every_rank_to_reach_a_boundary():
    waiting = [_status(at_boundary=True, done=2), _status(at_step=True, changed=True, done=1)]
    assert decide(waiting, 3) == _decision(wait=True, group=(1,), levels=(1,))
    ready = [_status(at_boundary=True, done=2), _status(at_boundary=True, changed=True, done=1, levels=2)]
    assert decide(ready, 3) == _decision(checkpoint=True, group=(1,), levels=(2,))


def test_finished_when_no_rank_is_active():
    table = [_status(active=False, at_boundary=True, changed=True), _status(active=False, at_boundary=True)]
    assert decide(table, 100) == _decision(finished=True, checkpoint=True, group=(0,), levels=(1,))


def _rank_main(rank: int, world: int, port: int, videos: list[int], checkpoint_videos: int, out) -> None:
    """One rank: each video is a number of optimiser steps; a step adds (rank + 1) / 100 to the
    parameters of the active level (level 0; the others are never learned, as in training)."""
    import torch.distributed as dist

    from pipelines.train.sync import Synchronizer, level_of_parameters, weights_digest
    from streamer_core import StreamerModel, load_config

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(rank)  # different initial weights: the broadcast must equalise them
    model = StreamerModel(load_config("tiny").model)
    if rank == 0:
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(START)
    cuts = []
    sync = Synchronizer(model, rank, world, checkpoint_videos,
                        lambda finished: cuts.append((sync.calls, finished, weights_digest(model))))
    sync.broadcast_from(0)
    _, learned = level_of_parameters(model)[0]
    for steps in videos:
        for _ in range(steps):
            with torch.no_grad():
                for p in learned:
                    p.add_((rank + 1) / 100)
            sync.changed = True
            sync.sync(active=True, at_boundary=False, at_step=True)
        sync.after_video()
    sync.drain()
    first = next(model.parameters()).reshape(-1)[0].item()
    out.put((rank, cuts, weights_digest(model), sync.calls, first))
    dist.destroy_process_group()


def _run(plans: list[list[int]], checkpoint_videos: int = 100) -> list[tuple]:
    (port,) = _free_ports(1)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_rank_main, args=(r, len(plans), port, plans[r], checkpoint_videos, out))
             for r in range(len(plans))]
    for p in procs:
        p.start()
    try:
        results = sorted(out.get(timeout=90) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return results


def test_uneven_streams_end_with_identical_weights_and_matched_cuts():
    results = _run([[3, 1, 2], [5], [], [1, 1, 1, 1]], checkpoint_videos=2)
    digests = {digest for _, _, digest, _, _ in results}
    assert len(digests) == 1
    assert len({calls for *_, calls, _ in results}) == 1
    cuts = [cut for _, cut, *_ in results]
    assert all(c == cuts[0] for c in cuts) and cuts[0][-1][1] is True  # same cuts, last is final
    assert len(cuts[0]) >= 3  # mid-run cuts happened, each with identical weights everywhere


def test_idle_ranks_contribute_nothing_to_the_average():
    # ranks 0 and 1 step once each (+0.01, +0.02); ranks 2 and 3 never learn anything
    results = _run([[1], [1], [], []])
    for *_, first in results:
        assert first == pytest.approx(START + 0.015, abs=1e-6)
