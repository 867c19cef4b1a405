"""The feature rows' neighbour graph (model.refine_neighbours) and the windows of a cycle it links
(model.refine_cycles): each against a plain definition, and what the pass finds with them."""
from __future__ import annotations

import numpy as np
import pytest
from helpers.synthetic import cycling

from streamer_core.neighbours import NEIGHBOUR_GAP, NEIGHBOURS, neighbour_gram, row_cycle, row_graph
from streamer_core.refine import kernel_cuts, prefix_gram


@pytest.mark.parametrize("seed", range(4))
def test_the_neighbour_graph_links_each_row_to_its_nearest_rows_apart_in_time(seed):
    """neighbour_gram against a plain loop over the rows: each row linked to its NEIGHBOURS
    nearest (standardised columns) among those more than NEIGHBOUR_GAP rows away, both ways."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(int(rng.integers(5, 60)), 3)) * [1.0, 100.0, 0.01]  # scales standardising evens out
    z = (rows - rows.mean(0)) / rows.std(0)
    plain = np.zeros((len(rows), len(rows)))
    for i in range(len(rows)):
        apart = [j for j in range(len(rows)) if abs(i - j) > NEIGHBOUR_GAP]
        for j in sorted(apart, key=lambda j: ((z[i] - z[j]) ** 2).sum())[:NEIGHBOURS]:
            plain[i, j] = plain[j, i] = 1.0
    np.testing.assert_array_equal(neighbour_gram(rows), plain)
    assert neighbour_gram(rows[:1]).tolist() == [[0.0]]


def test_a_regime_of_one_repeated_pattern_is_found_by_its_rows_nearest_neighbours():
    """model.refine_neighbours: a regime that cycles through a pattern's four phases, then one whose
    phases lie between them, then the first again. Each regime's rows spread as widely as both
    regimes' together, so a kernel of distances at the median bandwidth sees one mixture and
    cuts nothing; each row's nearest rows are the same phase of the same regime, and the graph of
    them finds both changes."""
    rng = np.random.default_rng(0)

    def regime(phases: list[float]) -> np.ndarray:
        return np.concatenate([np.array(phases)[:, None] + rng.normal(0, 1.0, (4, 1)) for _ in range(15)])

    rows = np.concatenate([regime([0, 10, 20, 30]), regime([5, 15, 25, 35]), regime([0, 10, 20, 30])])
    assert kernel_cuts([(rows, 1.0)], 2.0, 4) == []
    found = kernel_cuts([(rows, 1.0)], 2.0, 4, graph=(rows, 0.5))
    assert len(found) == 2 and abs(found[0] - 60) <= 1 and found[1] == 120
    np.testing.assert_array_equal(prefix_gram([(rows, 1.0)], graph=(rows, 0.0)), prefix_gram([(rows, 1.0)]))


def test_the_cycle_of_rows_is_the_first_lag_whose_autocorrelation_peaks_well_above_the_next_rows():
    """row_cycle: patterns of 4 and 3 rows are found at their length (not at a multiple of it); a random
    walk, whose rows are each most like the next, plain noise, and a stream too short to tell repeat none."""
    rng = np.random.default_rng(0)
    assert row_cycle(cycling([0, 10, 20, 30], 15, rng)) == 4
    assert row_cycle(np.hstack([cycling([0, 10, 20], 20, rng), cycling([5, 0, -5], 20, rng)])) == 3
    assert row_cycle(np.cumsum(rng.normal(size=(200, 3)), 0)) == 1
    assert row_cycle(rng.normal(size=(200, 3))) == 1
    assert row_cycle(cycling([0, 10, 20, 30], 15, rng)[:7]) == 1


def test_a_cycling_stream_links_windows_of_its_cycle_at_the_cycles_weight():
    """row_graph: without a cycle (or without model.refine_cycles) the rows themselves at the weight given;
    with one of 4 rows, each row stands for the standardised rows from one before it to two after it (the
    ends repeated), weighed 4 times; at weight 0, no graph."""
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(50, 2))
    assert row_graph(noise, 0.5, True)[0] is noise and row_graph(noise, 0.5, True)[1] == 0.5
    rows = np.hstack([cycling([0, 10, 20, 30], 15, rng), rng.normal(size=(60, 1))])
    assert row_graph(rows, 0.5, False)[0] is rows and row_graph(rows, 0.0, True) is None
    windows, weight = row_graph(rows, 0.5, True)
    z = (rows - rows.mean(0)) / rows.std(0)
    assert weight == 2.0 and windows.shape == (60, 8)
    np.testing.assert_allclose(windows[10], z[9:13].ravel())
    np.testing.assert_allclose(windows[0], np.r_[z[0], z[0], z[1], z[2]])
    np.testing.assert_allclose(windows[59], np.r_[z[58], z[59], z[59], z[59]])


def test_regimes_whose_phases_differ_only_in_order_are_found_by_windows_of_their_cycle():
    """model.refine_cycles: two regimes run through the same four phases in two orders, so every row has
    rows of its own phase in both, and neither the kernel nor the graph of single rows can tell them
    apart; a window of the cycle holds the order, and the graph of windows finds both changes."""
    rng = np.random.default_rng(0)
    rows = np.concatenate([cycling(order, 15, rng) for order in ([0, 10, 20, 30], [0, 20, 10, 30], [0, 10, 20, 30])])
    assert kernel_cuts([(rows, 1.0)], 2.0, 4) == []
    assert kernel_cuts([(rows, 1.0)], 2.0, 4, graph=row_graph(rows, 0.5, False)) == []
    found = kernel_cuts([(rows, 1.0)], 2.0, 4, graph=row_graph(rows, 0.5, True))
    assert len(found) == 2 and abs(found[0] - 60) <= 1 and abs(found[1] - 120) <= 1
