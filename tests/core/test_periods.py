"""Level 1 of a feature stream as periods of few kinds of level-0 event (streamer_core.periods)."""
from __future__ import annotations

import numpy as np
import torch

from streamer_core import Streamer, StreamerModel, load_config
from streamer_core.periods import MIN_EVENTS, event_kinds, fewest_kinds, period_starts
from streamer_core.refine import WINDOW, prefix_gram


def stretches(kinds: list[int], length: int, seed: int = 0, channels: int = 3) -> tuple[np.ndarray, list[int]]:
    """Rows of one stretch of ``length`` inputs per entry of ``kinds``, and the stretches' edges: each
    kind a level of its own with three swings about it (as a gesture's sensor swings within it), and
    noise."""
    rng = np.random.default_rng(seed)
    levels = rng.normal(0, 4, (max(kinds) + 1, channels))
    swing = np.sin(np.linspace(0, 6 * np.pi, length))[:, None]
    rows = np.concatenate([levels[k] + swing + rng.normal(0, 0.3, (length, channels)) for k in kinds])
    return rows, list(range(0, len(rows) + 1, length))


def test_events_alike_as_their_own_halves_are_one_kind():
    """Events of one kind differ between themselves less than each one's halves do (a gesture's
    swing), and are given one kind; events of different kinds differ far more, and share one at most
    where two kinds' levels happen to lie close."""
    order = [0, 1, 0, 1, 2, 3, 2, 3, 2]
    pairs = [(i, j) for i in range(len(order)) for j in range(i + 1, len(order))]
    merged = {True: [], False: []}
    for seed in range(10):
        rows, edges = stretches(order, 12, seed)
        kinds = event_kinds(prefix_gram([(rows, 1.0)]), edges)
        for i, j in pairs:
            merged[order[i] == order[j]].append(kinds[i] == kinds[j])
    alike, unlike = np.mean(merged[True]), np.mean(merged[False])
    assert alike > 0.9 and unlike < 0.05, (alike, unlike)
    assert event_kinds(prefix_gram([(rows, 1.0)]), [0, len(rows)]).tolist() == [0]


def test_periods_hold_the_fewest_kinds():
    """Two kinds in turn, then two others in turn: one period change, where the kinds change;
    within a period, neighbouring events differ as much as across the change."""
    kinds = np.array([0, 1, 0, 1, 0, 2, 3, 2, 3])
    assert fewest_kinds(kinds, np.ones(len(kinds)), 1.0) == [5]
    assert fewest_kinds(kinds, np.ones(len(kinds)), 100.0) == []  # a large penalty: one period
    assert fewest_kinds(np.array([0, 1, 2]), np.ones(3), 0.0) == []  # too few events for two periods
    many = fewest_kinds(np.arange(12) % 4, np.ones(12), 0.0)  # at no penalty, as many as allowed
    assert all(b - a >= MIN_EVENTS for a, b in zip([0, *many], [*many, 12]))


def test_period_starts_find_the_change_of_kinds_in_a_stream_and_in_windows():
    """On rows: the period change is found between the events, and in a stream longer than one
    window (taken in pieces, each restarting at the last change it kept) both changes are found."""
    order = [0, 1, 0, 1, 0, 2, 3, 2, 3, 2]
    rows, edges = stretches(order, 10)
    assert period_starts([(rows, 1.0)], edges, 0.5) == [5]
    length = 48  # stretches of 48 inputs: 3 periods of 8 stretches, 1,152 inputs, beyond one window
    long_order = [0, 1] * 4 + [2, 3] * 4 + [0, 4] * 4
    rows, edges = stretches(long_order, length)
    assert len(rows) > WINDOW
    assert period_starts([(rows, 1.0)], edges, 0.5) == [8, 16]


def test_the_recommended_preset_places_a_feature_streams_level_one_as_periods():
    """model.refine_periods (tiny-default): at the end of a feature stream, level 0 is placed by the
    kernel pass and level 1 as periods over its events: one change, where the kinds change."""
    cfg = load_config("tiny-default", overrides=["model.input_kind=features",
                                                 "model.feature_dim=3"])
    assert cfg.model.refine_periods > 0
    torch.manual_seed(0)
    streamer = Streamer(StreamerModel(cfg.model).eval())
    rows, _ = stretches([0, 1, 0, 1, 0, 2, 3, 2, 3, 2], 20)
    stream = streamer.new_stream("two periods")
    wide = np.repeat(rows, -(-cfg.model.embed_dim // 3), axis=1)[:, :cfg.model.embed_dim]  # as embeddings
    stream.inputs = list(wide.astype(np.float32))
    stream.rows = list(rows.astype(np.float32))
    with torch.no_grad():
        boundaries, _ = streamer.placement.placed(stream, [[], []])
    snippet = cfg.model.snippet_size
    fine, coarse = ([round(t / snippet) for t in level] for level in boundaries[:2])
    assert coarse == [100] and set(coarse) <= set(fine), (fine, coarse)
