"""Refinement (model.refine): the exact kernel change-point pass against ruptures, its windows and
forced cuts, and what it does to a hierarchy (nesting kept, hard cuts kept, events re-embedded)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import ruptures
import torch
from helpers.synthetic import cycling, planted_features

from streamer_core import Learner, Streamer, StreamerModel, StreamSource, load_config
from streamer_core.refine import (
    COLUMN_PARTS,
    WINDOW,
    _bandwidth,
    column_parts,
    kernel_cuts,
    part_kernel,
    posterior_cuts,
    prefix_gram,
    refined_cuts,
)


def objective(x: np.ndarray, cuts: list[int], penalty: float, kernel: str = "rbf") -> float:
    """The penalised kernel cost that both implementations minimise."""
    prefix, edges = prefix_gram([(x, 1.0)], kernel), [0, *cuts, len(x)]
    inside = [prefix[b, b] - prefix[a, b] - prefix[b, a] + prefix[a, a] for a, b in zip(edges[:-1], edges[1:])]
    return sum((b - a) - s / (b - a) for a, b, s in zip(edges[:-1], edges[1:], inside)) + penalty * len(cuts)


@pytest.mark.parametrize("seed", range(12))
def test_kernel_cuts_are_the_exact_optimum_ruptures_approaches(seed):
    rng = np.random.default_rng(seed)
    n, width = int(rng.integers(20, 250)), int(rng.integers(1, 16))
    x = rng.normal(size=(n, width)) + np.repeat(rng.normal(0, 2 * (seed % 2), (5, width)), -(-n // 5), 0)[:n]
    penalty = float(rng.uniform(0.5, 5.0))
    ours = kernel_cuts([(x, 1.0)], penalty, min_size=2)
    theirs = [int(i) for i in ruptures.KernelCPD(kernel="rbf", min_size=2).fit(x).predict(pen=penalty)[:-1]]
    assert objective(x, ours, penalty) <= objective(x, theirs, penalty) + 1e-9
    if seed % 2:  # clear blocks: the same cuts
        assert ours == theirs
    assert all(b - a >= 2 for a, b in zip([0, *ours], [*ours, n]))


def test_the_median_bandwidth_is_numpys_median_of_the_pairs():
    """The bandwidth is taken by one partition over cached indices of the upper triangle: it must be
    numpy's median of the pairs i < j of the spaced inputs, exactly, at any size (even and odd
    counts of pairs, many equal distances, more inputs than are spaced)."""
    rng = np.random.default_rng(0)
    for n in (2, 3, 4, 7, 50, 257, 600):
        x = rng.normal(size=(n, 3)).round(1) * (rng.random(n) < 0.7)[:, None]  # ties, and rows alike
        distances = ((x[:, None] - x[None]) ** 2).sum(-1)
        step = -(-n // 256)
        spaced = distances[::step, ::step]
        pairs = spaced[np.triu_indices(len(spaced), 1)]
        median = float(np.median(pairs))
        expected = median if median > 0 else float(np.median(pairs[pairs > 0]))
        assert _bandwidth(distances) == (expected, median == 0)


@pytest.mark.parametrize("kernel", ["rbf", "laplace"])
def test_the_gram_matrix_is_the_mean_of_each_parts_kernel_at_its_median_distance(kernel):
    """The plain definition, pair by pair: for each part, exp(-d^2 / median d^2) (rbf) or
    exp(-d / median d) (laplace), d the euclidean distance between two inputs' rows; weighed and
    averaged over the parts (42 inputs: an odd count of pairs, so that each median is one pair's)."""
    rng = np.random.default_rng(1)
    parts = [(rng.normal(size=(42, 3)), 1.0), (rng.normal(size=(42, 5)) * 7, 2.0)]
    expected = np.zeros((42, 42))
    for x, weight in parts:
        d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        median = np.median(d[np.triu_indices(42, 1)])
        expected += weight * (np.exp(-(d / median) ** 2) if kernel == "rbf" else np.exp(-d / median))
    expected /= 3.0
    gram = np.diff(np.diff(prefix_gram(parts, kernel), axis=0), axis=1)
    # the pass expands |a - b|^2 = |a|^2 + |b|^2 - 2ab, whose rounding a square root magnifies
    np.testing.assert_allclose(gram, expected, rtol=1e-10, atol=1e-12 if kernel == "rbf" else 1e-7)


def test_the_laplace_pass_is_exact_too():
    """kernel_cuts minimises the penalised cost of its kernel, whichever kernel: no partition of a
    short series into events of at least 2 inputs, found by brute force, costs less."""
    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(0, 1, (6, 2)), rng.normal(2, 1, (5, 2)), rng.normal(0, 3, (6, 2))]
    every = [list(c) for k in range(len(x) // 2) for c in itertools.combinations(range(2, len(x) - 1), k)
             if all(b - a >= 2 for a, b in zip([0, *c], [*c, len(x)]))]
    found = kernel_cuts([(x, 1.0)], 0.8, min_size=2, kernel="laplace")
    assert found and objective(x, found, 0.8, "laplace") <= min(objective(x, c, 0.8, "laplace") for c in every) + 1e-9


def test_the_recommended_presets_take_laplace_for_frames_and_rbf_for_feature_rows():
    """The split the test corpora decided (docs/quality-log.md, the 30th round); an explicit kernel
    is taken as it is, for either kind of input."""
    for preset in ("tiny-default", "default"):
        assert load_config(preset).model.refine_kernel == "auto"
    assert part_kernel("auto", "frames") == "laplace" and part_kernel("auto", "features") == "rbf"
    assert part_kernel("rbf", "frames") == "rbf" and part_kernel("laplace", "features") == "laplace"


def test_refined_cuts_keep_forced_cuts_and_span_windows():
    rng = np.random.default_rng(0)
    blocks = rng.normal(0, 3, (30, 8))
    x = np.repeat(blocks, 100, axis=0) + rng.normal(0, 0.3, (3000, 8))  # longer than one window
    assert len(x) > 2 * WINDOW
    found = refined_cuts([(x, 1.0)], forced=[1234], penalty=0.2, min_size=2)
    assert set(range(100, 3000, 100)) <= set(found) and 1234 in found
    assert len(found) == 30  # the 29 planted changes and the forced one, nothing at window edges


def test_a_change_in_one_part_stands_out_as_in_that_part_alone():
    """The kernel is the mean of one kernel per part, each at its own bandwidth: a change that only
    a narrow part shows (a small object's shape) is found beside a wide part that moves throughout
    (the embeddings of a shaking camera), where one kernel over both together loses it."""
    rng = np.random.default_rng(3)
    moving = rng.normal(0, 1, (120, 64))  # a wide part with no change, only noise
    shape = np.r_[np.zeros((70, 4)), np.ones((50, 4))] + rng.normal(0, 0.2, (120, 4))  # changes at 70
    assert kernel_cuts([(shape, 1.0)], 3.0) == [70]
    assert kernel_cuts([(moving, 1.0), (shape, 1.0)], 3.0) == [70]
    assert kernel_cuts([(np.hstack([moving, shape]), 1.0)], 3.0) == []  # one kernel: drowned
    assert kernel_cuts([(moving, 1.0), (shape, 0.0)], 3.0) == []  # a part weighed 0 is left out
    np.testing.assert_allclose(prefix_gram([(moving, 2.0), (shape, 2.0)]), prefix_gram([(moving, 1.0), (shape, 1.0)]))


def test_a_change_in_one_column_of_feature_rows_stands_out_in_its_own_kernel():
    """model.refine_columns: each column of a feature stream is a part of its own, so a sensor
    channel that steps while the others swing widely is found; over whole rows it is not."""
    rng = np.random.default_rng(0)
    rows = rng.normal(0, 5, (120, 12))  # eleven channels that swing widely, without a change
    rows[:, 3] = np.r_[np.zeros(70), np.ones(50)] + rng.normal(0, 0.2, 120)  # one that steps at 70
    assert kernel_cuts([(rows, 1.0)], 3.0) == []
    assert kernel_cuts(column_parts(rows, 1.0), 3.0) == [70]
    assert [(len(p[0].T), p[1]) for p in column_parts(rows, 0.5)] == [(1, 0.5)] * 12
    wide = column_parts(rng.normal(size=(10, 2 * COLUMN_PARTS + 1)), 1.0)  # wider rows: groups of columns
    assert len(wide) == COLUMN_PARTS and sum(len(p[0].T) for p in wide) == 2 * COLUMN_PARTS + 1
    assert column_parts(rows, 0.0) == []


def test_a_channel_mostly_alike_still_counts_and_an_idle_one_weighs_nothing():
    """Over half of the pairs of an on/off switch's inputs, or of a sensor idle most of the time,
    are alike, so the median distance, the usual bandwidth, is 0: the bandwidth is then the median
    of the pairs that differ, and the channel's changes count. A channel whose inputs are all alike
    is left out of the mean, so that idle channels do not shrink the others' changes against the
    penalty."""
    rng = np.random.default_rng(0)
    switch = np.r_[np.zeros(40), np.ones(20), np.zeros(60)][:, None]  # on from 40 to 60
    assert kernel_cuts([(switch, 1.0)], 3.0) == [40, 60]
    assert kernel_cuts(column_parts(np.hstack([switch, rng.normal(0, 1, (120, 1))]), 1.0), 3.0) == [40, 60]
    step = (np.r_[np.zeros(70), np.ones(50)] + rng.normal(0, 0.2, 120))[:, None]  # steps at 70
    idle = np.hstack([step, np.zeros((120, 20))])  # beside twenty channels that never move
    assert kernel_cuts(column_parts(idle, 1.0), 3.0) == kernel_cuts([(step, 1.0)], 3.0) == [70]
    np.testing.assert_array_equal(prefix_gram(column_parts(idle, 1.0)), prefix_gram([(step, 1.0)]))
    assert kernel_cuts([(np.zeros((120, 3)), 1.0)], 3.0) == []  # nothing moves: no cut
    brief = np.zeros((1000, 1))
    brief[501:504] = 1  # on only between the evenly spaced inputs whose pairs the median is taken over
    gram = np.diff(np.diff(prefix_gram([(brief, 1.0)]), axis=0), axis=1)
    assert gram[502, 100] < 0.5 and gram[502, 503] == gram[100, 200] == 1.0


def test_channels_mostly_alike_are_one_kernel_whatever_their_scales():
    """Twelve on/off channels, each on less than half of the time: six chatter until input 60, the
    other six after it. Each alone flips at random; together they change at 60. As one part (each
    scaled by its own usual change, so a switch read as 0/1000 counts as one read as 0/1), they give
    the rows' own kernel, and the change stands at a penalty where twelve kernels of their own,
    averaged, lost it (the 26th round's pass: no cut at 4.0)."""
    rng = np.random.default_rng(0)
    rows = np.zeros((120, 12))
    rows[:60, :6] = rng.random((60, 6)) < 0.3
    rows[60:, 6:] = rng.random((60, 6)) < 0.3
    assert kernel_cuts(column_parts(rows, 1.0), 4.0) == [60]
    np.testing.assert_allclose(prefix_gram(column_parts(rows, 1.0)), prefix_gram([(rows, 1.0)]))
    scaled = rows * np.r_[1000.0, 0.01, np.ones(10)]
    np.testing.assert_allclose(prefix_gram(column_parts(scaled, 1.0)), prefix_gram([(rows, 1.0)]))
    noisy = np.hstack([rows, rng.normal(0, 1, (120, 1))])  # a channel that varies keeps its own kernel
    assert kernel_cuts(column_parts(noisy, 1.0), 4.0) == [60]


def learned(overrides: list[str], stream: np.ndarray) -> StreamerModel:
    cfg = load_config("tiny-default", overrides=["model.input_kind=features",
                                                 f"model.feature_dim={stream.shape[1]}", *overrides])
    torch.manual_seed(0)
    model = StreamerModel(cfg.model)
    Streamer(model, Learner(model, cfg.learn)).learn(StreamSource("train", [stream]))
    return model.eval()


@pytest.mark.parametrize("levels", [1, 3])
def test_refined_hierarchy_nests_and_finds_the_planted_changes(levels):
    planted = planted_features(seed=41, samples=240)
    model = learned(["model.refine=0.2", "model.evolve_every=20", f"model.refine_levels={levels}"], planted.samples)
    with torch.no_grad():
        (h,) = Streamer(model).run([StreamSource("v", [planted.samples])])
    assert len(h.levels) >= 2
    for below, above in zip(h.levels, h.levels[1:]):
        assert {e.start_s for e in above} <= {e.start_s for e in below}
    fine = np.array(h.boundaries(0)) / model.cfg.snippet_size
    hits = sum(np.abs(fine - t).min() <= 1 for t in planted.fine)
    assert hits >= 0.8 * len(planted.fine), (hits, len(planted.fine), len(fine))
    assert len(fine) <= 1.5 * len(planted.fine)
    assert all(e.embedding.shape == (model.cfg.embed_dim,) for level in h.levels for e in level)


def test_the_recommended_pass_draws_windows_of_a_cycle_from_the_streams_rows():
    """model.refine_cycles through a learned tiny-default Streamer: on the regimes whose phases differ
    only in order, level 0 finds both changes with it and neither without it."""
    rng = np.random.default_rng(0)
    orders = ([0, 10, 20, 30], [0, 20, 10, 30], [0, 10, 20, 30])
    rows = np.concatenate([cycling(order, 15, rng) for order in orders]).astype(np.float32)
    model = learned([], rows)
    found = {}
    with torch.no_grad():
        for cycles in (False, True):
            model.cfg.refine_cycles = cycles
            (h,) = Streamer(model).run([StreamSource("v", [rows])])
            fine = np.array(h.boundaries(0)) / model.cfg.snippet_size
            found[cycles] = [bool(len(fine)) and np.abs(fine - change).min() <= 1 for change in (60, 120)]
    assert found == {False: [False, False], True: [True, True]}


def test_coarse_pass_places_level_one_of_feature_streams_over_level_zero_events():
    """model.refine_coarse: on feature streams level 1 is placed by the pass over level 0's events,
    each level-1 event holding at least two of them; it finds the planted scenes that level 1's
    online cuts, snapped to level 0, mostly miss."""
    planted = planted_features(seed=43, samples=400)
    model = learned(["model.evolve_every=20", "model.refine_coarse=0", "model.refine_periods=0"], planted.samples)
    with torch.no_grad():
        hits = {}
        for coarse in (0.0, 0.1):
            model.cfg.refine_coarse = coarse
            (h,) = Streamer(model).run([StreamSource("v", [planted.samples])])
            fine, above = (np.array(h.boundaries(k)) / model.cfg.snippet_size for k in (0, 1))
            assert set(above) <= set(fine)
            if coarse:
                ends = [*fine, len(planted.samples)]  # each level-0 event's end
                inside = np.diff(np.searchsorted(ends, [0, *above, len(planted.samples)], side="right"))
                assert (inside >= 2).all(), inside
            hits[coarse] = sum(len(above) and np.abs(above - t).min() <= 1 for t in planted.coarse)
    assert hits[0.1] >= 0.7 * len(planted.coarse) > hits[0.0], (hits, len(planted.coarse))


def test_levels_above_an_empty_coarse_level_have_no_cut_and_leave_level_zero_alone():
    """A feature stream of three stretches: level 1, placed by the pass, cannot cut (an event of it
    holds at least two of level 0's), so an online cut of level 2 is dropped, not forced into
    levels 1 and 0. Without the neighbour graph: in stretches of 20 rows of plain noise, its
    nearest rows cluster by chance, and it cuts one of them 9 rows in."""
    cfg = load_config("tiny-default", overrides=["model.input_kind=features", "model.feature_dim=6",
                                                 "model.refine_neighbours=0"])
    torch.manual_seed(0)
    streamer = Streamer(StreamerModel(cfg.model).eval())
    rng = np.random.default_rng(0)
    kinds = rng.normal(0, 3, (2, cfg.model.embed_dim + 6))
    rows = np.repeat(kinds[[0, 1, 0]], 20, axis=0) + rng.normal(0, 0.1, (60, cfg.model.embed_dim + 6))
    stream = streamer.new_stream("three stretches")
    stream.inputs = list(rows[:, :cfg.model.embed_dim].astype(np.float32))
    stream.rows = list(rows[:, cfg.model.embed_dim:].astype(np.float32))
    with torch.no_grad():
        boundaries, _ = streamer.placement.placed(stream, [[5.0], [], [11.5]])  # level 2's online cut: sample 23
    assert [round(t / cfg.model.snippet_size) for t in boundaries[0]] == [20, 40]
    assert boundaries[1:] == [[], []]


def _two_kinds_and_rows_between(between: int, seed: int = 0) -> np.ndarray:
    """20 rows of one kind, ``between`` rows halfway to the next kind, 20 rows of it (a little noise)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, 8), rng.normal(0, 1, 8)
    rows = np.r_[np.repeat(a[None], 20, 0), np.repeat(((a + b) / 2)[None], between, 0), np.repeat(b[None], 20, 0)]
    return rows + rng.normal(0, 0.05, rows.shape)


def test_a_cut_moves_to_the_middle_of_a_change_spread_over_rows_and_a_sharp_one_stays():
    """model.refine_posterior: two rows halfway between two kinds cost about the same on either side,
    so the least-cost cut is one end of them (here the first, by the noise) and the truth their
    middle; the posterior mean is the middle from either end. A sharp change stays put."""
    prefix = prefix_gram([(_two_kinds_and_rows_between(2), 1.0)])
    assert posterior_cuts(prefix, [20], 4, 1e-6) == [20]  # the least cost: an end
    assert [posterior_cuts(prefix, [cut], 4, 0.3)[0] for cut in (20, 21, 22)] == [21] * 3  # from either end
    sharp = prefix_gram([(_two_kinds_and_rows_between(0), 1.0)])
    assert [posterior_cuts(sharp, [cut], 4, 0.3)[0] for cut in range(18, 23)] == [20] * 5  # from within reach


def test_posterior_cuts_keep_every_event_at_least_min_size():
    """Cuts moved left to right never come within min_size of each other or of either end."""
    rng = np.random.default_rng(2)
    rows = rng.normal(0, 1, (40, 4))
    prefix = prefix_gram([(rows, 1.0)])
    for cuts in itertools.combinations(range(4, 37, 3), 3):
        if min(np.diff([0, *cuts, 40])) >= 4:
            moved = posterior_cuts(prefix, list(cuts), 4, 5.0)
            assert min(np.diff([0, *moved, 40])) >= 4, (cuts, moved)


def test_refine_posterior_moves_a_feature_streams_cuts_and_not_a_videos():
    """The preset's posterior places a feature stream's cut in the middle of rows between two kinds;
    at 0, the pass's least-cost place. Frames keep the least-cost place: samples are instants, and on
    the tune videos the posterior lost (docs/quality-log.md, the 48th round)."""
    rows = _two_kinds_and_rows_between(2)
    found = {}
    for kind, temperature in (("features", 0.3), ("features", 0.0), ("frames", 5.0), ("frames", 0.0)):
        extra = ["model.input_kind=features", "model.feature_dim=8"] if kind == "features" else []
        cfg = load_config("tiny-default", overrides=[*extra, f"model.refine_posterior={temperature}"])
        torch.manual_seed(0)
        streamer = Streamer(StreamerModel(cfg.model).eval())
        stream = streamer.new_stream("two kinds")
        embeddings = np.zeros((len(rows), cfg.model.embed_dim), np.float32)  # all alike: the pass leaves them out
        if kind == "features":
            stream.rows = list(rows.astype(np.float32))
        else:
            embeddings[:, :8] = rows
        stream.inputs = list(embeddings)
        with torch.no_grad():
            boundaries, _ = streamer.placement.placed(stream, [[]])
        offset = cfg.model.snippet_size / 2 if kind == "frames" else 0.0  # frames: stamped midway after
        found[kind, temperature] = [round((t + offset) / cfg.model.snippet_size) for t in boundaries[0]]
    assert load_config("tiny-default").model.refine_posterior == 0.3
    assert found["features", 0.3] == [21] and found["features", 0.0] == [20], found
    assert found["frames", 5.0] == found["frames", 0.0], found  # at 5, any move would show


def test_the_pass_keeps_events_as_short_as_refine_min_event():
    """model.refine_min_event (0: min_event, 4 in the recommended presets): an action of 1.5 s between
    two longer ones is three samples, which level 0's pass keeps at 3 and cannot at 0."""
    rng = np.random.default_rng(0)
    found = {}
    for shortest in (3, 0):
        cfg = load_config("tiny-default", overrides=[f"model.refine_min_event={shortest}"])
        torch.manual_seed(0)
        streamer = Streamer(StreamerModel(cfg.model).eval())
        width = cfg.model.embed_dim
        stream = streamer.new_stream("three actions")
        rows = np.repeat(rng.normal(0, 3, (3, width)), [12, 3, 25], axis=0) + rng.normal(0, 0.1, (40, width))
        stream.inputs = list(rows.astype(np.float32))
        with torch.no_grad():
            boundaries, _ = streamer.placement.placed(stream, [[]])
        found[shortest] = [round(t / cfg.model.snippet_size) for t in boundaries[0]]
    assert found[3] == [12, 15]
    assert cfg.model.min_event == 4 and min(np.diff([0, *found[0], 40])) >= 4, found


def test_refinement_keeps_hard_cuts_and_is_off_in_the_paper_preset():
    rng = np.random.default_rng(3)
    frames = np.repeat(rng.integers(0, 256, (6, 1, 32, 32, 3), dtype=np.uint8), 10, axis=1).reshape(60, 32, 32, 3)
    frames = np.clip(frames.astype(int) + rng.integers(-3, 4, frames.shape), 0, 255).astype(np.uint8)
    cfg = load_config("tiny-default", overrides=["model.refine=5.0"])  # a penalty that keeps no cut of its own
    torch.manual_seed(0)
    model = StreamerModel(cfg.model).eval()
    with torch.no_grad():
        (h,) = Streamer(model).run([StreamSource("v", [frames])])
    # the hard cuts, every 10 inputs, stamped midway after the input before (model.cut_at=between)
    assert h.boundaries(0) == [4.75, 9.75, 14.75, 19.75, 24.75]
    assert load_config("paper").model.refine == 0  # the published rule has no refinement


def test_kept_inputs_hold_only_their_own_row():
    """Refinement keeps each input's embedding and colour histogram to the end of the video: a row
    that views the batch's output would keep all of it alive (an hour-long video's actor grew by a
    fifth)."""
    cfg = load_config("tiny-default")
    torch.manual_seed(0)
    streamer = Streamer(StreamerModel(cfg.model).eval())
    streams = [streamer.new_stream("a"), streamer.new_stream("b")]
    with torch.no_grad():
        for _ in range(3):
            streamer.step(streams, torch.rand(2, 3, 32, 32) * 2 - 1)
        for stream in streams:
            streamer.finish(stream)
    kept = [x for s in streams for x in s.inputs]
    assert len(kept) == 6 and all(x.base is None and x.shape == (cfg.model.embed_dim,) for x in kept)
    colours = [h for s in streams for h in s.histograms]  # model.refine_colour's histograms likewise
    assert len(colours) == 6 and all(h.base is None and h.shape == (64,) for h in colours)
    edges = [h for s in streams for h in s.edges]  # and model.refine_edges's
    assert len(edges) == 6 and all(h.base is None and h.shape == (24,) for h in edges)
    cfg = load_config("tiny-default", overrides=["model.input_kind=features", "model.feature_dim=5"])
    streamer = Streamer(StreamerModel(cfg.model).eval())
    stream, x = streamer.new_stream("f"), torch.randn(3, 2, 5)
    with torch.no_grad():
        for step in x:
            streamer.step([stream, streamer.new_stream("g")], step)
    assert all(r.base is None for r in stream.rows)  # model.refine_columns's feature rows likewise
    np.testing.assert_array_equal(np.stack(stream.rows), x[:, 0].numpy())
    graph_only = ["model.input_kind=features", "model.feature_dim=5", "model.refine_columns=0"]
    streamer = Streamer(StreamerModel(load_config("tiny-default", overrides=graph_only).model).eval())
    stream = streamer.new_stream("h")
    with torch.no_grad():
        streamer.step([stream], x[0, :1])
    assert len(stream.rows) == 1  # model.refine_neighbours's graph needs the rows too
