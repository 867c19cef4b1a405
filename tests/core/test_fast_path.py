"""The fast path (each frame encoded once per parameter version) against the plain path
(the working set re-encoded at every sample): same gradients at every optimiser step."""
import copy

import numpy as np
import torch

from streamer_core import Learner, Streamer, StreamerModel, StreamSource, load_config
from streamer_core.layers import Deferred


def run(fast: bool, dtype: torch.dtype, frames: np.ndarray):
    cfg = load_config("tiny")
    torch.manual_seed(0)
    model = StreamerModel(cfg.model).to(dtype)
    learn = copy.deepcopy(cfg.learn)
    learn.fast_path = fast
    learner = Learner(model, learn)
    grads, held = [], []
    for optimizer in learner.f_optimizers + learner.p_optimizers:
        def recorded(optimizer=optimizer, step=optimizer.step):
            grads.append([p.grad.clone() for g in optimizer.param_groups for p in g["params"] if p.grad is not None])
            return step()
        optimizer.step = recorded
    original_end_sample = learner.end_sample
    def end_sample(live, level0):
        stepped = original_end_sample(live, level0)
        held.append(len(learner.departed) + len(learner.owed) + sum(len(items) for items in level0))
        return stepped
    learner.end_sample = end_sample
    hierarchy = Streamer(model, learner).learn(StreamSource("v", [frames[:200], frames[200:]]))
    return hierarchy, grads, model, held


def test_fast_path_gives_the_plain_path_gradients():
    frames = np.random.default_rng(0).integers(0, 256, (400, 32, 32, 3), dtype=np.uint8)
    fast_h, fast_g, fast_m, held = run(True, torch.float64, frames)
    plain_h, plain_g, plain_m, _ = run(False, torch.float64, frames)
    assert int(fast_m.active_levels) == 3, "the run must include layer stacking"
    assert len(fast_g) == len(plain_g) >= 60, "the run must include many optimiser steps"
    for a, b in zip(fast_g, plain_g):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert torch.linalg.norm(x - y) <= 1e-9 * torch.linalg.norm(y) + 1e-30
    assert fast_h.to_json() == plain_h.to_json()
    for p, q in zip(fast_m.parameters(), plain_m.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-10)
    # frames whose gradient is still owed stay bounded by the working sets of the levels
    cfg = load_config("tiny").model
    assert max(held) <= cfg.buffer_size * (cfg.max_layers + 2) + load_config("tiny").learn.encode_batch


def test_fast_path_first_steps_match_in_float32():
    frames = np.random.default_rng(1).integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    _, fast_g, _, _ = run(True, torch.float32, frames)
    _, plain_g, _, _ = run(False, torch.float32, frames)
    for a, b in zip(fast_g[:6], plain_g[:6]):  # the first step of every module
        for x, y in zip(a, b):
            assert torch.linalg.norm(x - y) <= 1e-5 * torch.linalg.norm(y) + 1e-12


def test_encoded_frames_do_not_accumulate_over_a_long_stream():
    """Memory bounded by working sets: nothing grows with frames between optimiser steps."""
    cfg = load_config("tiny", overrides=["learn.optimize_every=1000000"])
    torch.manual_seed(0)
    model = StreamerModel(cfg.model)
    learner = Learner(model, cfg.learn)
    frames = np.random.default_rng(2).integers(0, 256, (600, 32, 32, 3), dtype=np.uint8)
    sizes = []
    original_flush = learner.flush
    def flush(live, **kwargs):
        original_flush(live, **kwargs)
        sizes.append(len(learner.departed) + len(learner.owed))
    learner.flush = flush
    Streamer(model, learner).learn(StreamSource("v", [frames]))
    assert learner.steps == 0
    assert max(sizes) <= cfg.model.buffer_size * cfg.model.max_layers + cfg.learn.encode_batch
    stashes = [sum(len(g) for g in m._grads) for m in model.modules() if isinstance(m, Deferred)]
    assert stashes and max(stashes) < Deferred.max_rows  # each deferred weight settles its stash
