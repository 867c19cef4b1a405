import math

import pytest
import torch

from streamer_core import StreamerModel, load_config
from streamer_core.buffer import WorkingSet
from streamer_core.demarcation import Demarcation
from streamer_core.learning import Learner, reach_weights
from streamer_core.loss import prediction_loss


def test_working_set_replaces_the_lowest_error_keeping_order():
    ws = WorkingSet(3)
    for item, err in [("a", None), ("b", 0.5), ("c", 0.2)]:
        assert ws.add(item, err) == (True, [])
    assert ws.errors[0] == math.inf
    assert ws.add("d", 0.3) == (True, ["c"])
    assert ws.items == ["a", "b", "d"]
    assert ws.add("e", 0.1) == (False, ["e"])  # lower than everything held: not kept
    assert ws.items == ["a", "b", "d"]
    assert ws.clear() == ["a", "b", "d"] and len(ws) == 0


def test_average_demarcation_on_similarity_and_error():
    sim = Demarcation("average", worse_is_higher=False, window_size=3)
    assert [sim.decide(s) for s in [0.9, 0.9, 0.5, 0.95, 0.8]] == [False, False, True, False, False]
    # window is now [0.5, 0.95, 0.8] (mean 0.75): 0.7 is below it
    assert sim.decide(0.7)
    err = Demarcation("average", worse_is_higher=True, window_size=50, modifier=2.0)
    assert [err.decide(e) for e in [1.0, 1.5, 3.5, 1.0]] == [False, False, True, False]


def test_fixed_and_accum_demarcation():
    fixed = Demarcation("fixed", worse_is_higher=False, threshold=0.5)
    assert [fixed.decide(s) for s in [0.1, 0.6, 0.4]] == [False, False, True]  # first never cuts
    accum = Demarcation("accum", worse_is_higher=True, threshold=1.0)
    assert [accum.decide(e) for e in [0.4, 0.4, 0.4, 0.3, 0.3, 0.5]] == [False, False, True, False, False, True]
    accum.reset()
    assert not accum.decide(5.0)


def test_peaks_demarcation_cuts_at_unusual_steps_of_the_score():
    peaks = Demarcation("peaks", worse_is_higher=False, window_size=50, z_threshold=2.0)
    level = [0.80, 0.81, 0.80, 0.81, 0.80, 0.81]
    assert [peaks.decide(s) for s in level] == [False] * 6  # noise: steps of 0.01
    assert peaks.decide(0.90)  # a new level of similarity: one step of 0.09
    assert not peaks.decide(0.90) and not peaks.decide(0.91)
    assert peaks.decide(0.60)  # a spike of error cuts too (a step either way)
    spike = Demarcation("peaks", worse_is_higher=True, window_size=50, z_threshold=2.0, min_event=3)
    for e in [1.0, 1.1, 1.0, 1.1, 1.0]:
        spike.decide(e)
    assert spike.decide(3.0)
    spike.mark_boundary()
    assert not spike.decide(1.0) and not spike.decide(3.0)  # held back: the event has 1, then 2 inputs
    assert spike.decide(9.0)  # 3 inputs: a cut may happen again (a step well above the last ones)


def test_cut_strength_rates_a_cut_against_the_levels_earlier_cuts():
    d = Demarcation("peaks", worse_is_higher=False, window_size=50)
    for score in [0.8, 0.8, 0.7]:  # event mean 0.8, then a shift of 0.1
        d.decide(score)
    d.mark_boundary()
    assert d.strength == 0.0  # no earlier cut to compare with
    for score in [0.7, 0.7, 0.4]:  # shift of 0.3 from the event's mean 0.7: 3x the earlier cut
        d.decide(score)
    d.mark_boundary()
    assert d.strength == pytest.approx(3.0)
    d.reset()
    assert d.strength == 0.0 and not d.window and not d.cut_shifts


def test_hgn_group_weights_for_alpha_3():
    assert reach_weights(0, 1, 3) == [1.0]
    w = reach_weights(0, 3, 3)  # groups {0}, {1}, {2}: 1, 1/3, 1/9 over 13/9
    assert w == pytest.approx([9 / 13, 3 / 13, 1 / 13])
    w = reach_weights(1, 3, 3)  # groups {1}, {0, 2}: 1, 1/3 over 4/3
    assert w == pytest.approx([1 / 4, 3 / 4, 1 / 4])
    w = reach_weights(1, 4, 3)  # groups {1}, {0, 2}, {3}
    assert w == pytest.approx([3 / 13, 9 / 13, 3 / 13, 1 / 13])


def test_timescale_multiplies_the_loss_and_the_normaliser():
    cfg = load_config("tiny")
    learner = Learner(StreamerModel(cfg.model), cfg.learn)
    loss = torch.tensor([0.5], requires_grad=True)
    learner.record(1, loss, [7], active=2)
    assert learner.pending[0].item() == pytest.approx(3.5)
    assert learner.p_weight[1] == 7 and learner.f_weight[:2] == [7, 7] and learner.losses[1] == 1
    cfg.learn.hgn_timescale = False
    flat = Learner(StreamerModel(cfg.model), cfg.learn)
    flat.record(1, loss, [7], active=2)
    assert flat.pending[0].item() == pytest.approx(0.5) and flat.p_weight[1] == 1


def test_losses():
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    loss, score = prediction_loss("cosine", a, b)
    assert score.tolist() == pytest.approx([1.0, 0.0]) and loss.tolist() == pytest.approx([-1.0, 0.0])
    frames = torch.zeros(1, 3, 2, 2)
    frames[0, 0] = 1.0
    target = frames.clone()
    target[0, :, 0, 0] = torch.tensor([0.0, 1.0, 0.0])  # one pixel of four orthogonal
    _, score = prediction_loss("cosine", frames, target)
    assert score.item() == pytest.approx(0.75)
    loss, score = prediction_loss("mse", a, b)
    assert loss.tolist() == pytest.approx([0.0, 4.0]) and score.tolist() == pytest.approx([0.0, 4.0])
