"""The neighbour graph of a stream's feature rows (not in the paper): which rows are each other's
nearest, for refinement's pass (streamer_core.refine.prefix_gram weighs it beside its kernels), and the
cycle a stream's rows may repeat, whose windows the graph then links (model.refine_neighbours,
model.refine_cycles)."""
from __future__ import annotations

import numpy as np

# the neighbour graph of feature rows (model.refine_neighbours): each row's NEIGHBOURS nearest rows, none
# of them within NEIGHBOUR_GAP rows of it in time. Chosen on the tune side (docs/quality-log.md, the 34th
# round): 6 to 10 neighbours and a gap of 2 kept every tune group at or above the pass without the graph;
# 12 or 16 neighbours lost on the BasicMotions streams, and so did a gap of 1 (with none, a row's nearest
# rows are its neighbours in time, and the graph cut running stretches up)
NEIGHBOURS = 8
NEIGHBOUR_GAP = 2
# a stream's rows repeat a cycle of L rows (model.refine_cycles) when, for the first time among the lags 2 to
# CYCLE_MOST, the columns' mean autocorrelation at L peaks CYCLE_MARGIN above its value at lag 1. Chosen on the
# tune side (docs/quality-log.md, the 35th round): every margin from 0.3 to 0.8 found the cycle of the
# regimes-tune streams built from Coffee and PigCVP (autocorrelation -0.3 at lag 1, +0.6 to +1.0 at 4) and none in
# any BasicMotions stream (at most 0.29 above lag 1: walking and running repeat within a row or two)
CYCLE_MOST = 12
CYCLE_MARGIN = 0.5

Graph = tuple[np.ndarray, float] | None  # ([N, F] feature rows, their neighbour graph's weight)


def standardised(rows: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """[N, F] rows, each column less its mean over time and over its spread (a spread at or below
    ``floor`` taken as 1), in the rows' own dtype."""
    spread = rows.std(0)
    return (rows - rows.mean(0)) / np.where(spread > floor, spread, 1.0)


def squared_distances(x: np.ndarray) -> np.ndarray:
    """[N, D] -> [N, N] squared euclidean distances (in place: with a part per column, N x N
    temporaries were most of the pass's time)."""
    squared = (x * x).sum(1)
    distances = x @ x.T
    distances *= -2
    distances += squared[:, None]
    distances += squared[None, :]
    return np.maximum(distances, 0.0, out=distances)


def neighbour_gram(rows: np.ndarray) -> np.ndarray:
    """[N, N] 1 where one of two rows is among the other's NEIGHBOURS nearest (columns standardised;
    rows within NEIGHBOUR_GAP of each other, a row and itself included, never count), else 0. Why:
    a regime of one repeated pattern runs through rows that differ from each other as much as from
    another regime's (a pattern's phases), so a kernel of distances sees it as a mixture; the same
    phase of the same pattern is each other's nearest row all the same, and a change cuts few such
    links. Without self-links, splitting a stretch of alike rows at random gains nothing on average,
    so the graph adds no cuts of its own (tune: docs/quality-log.md, the 34th round)."""
    x = standardised(np.asarray(rows, np.float64))
    distances = squared_distances(x)
    index = np.arange(len(x))
    distances[np.abs(index[:, None] - index[None, :]) <= NEIGHBOUR_GAP] = np.inf
    graph = np.zeros_like(distances)
    count = min(NEIGHBOURS, len(x) - 1)
    if count > 0:
        nearest = np.argpartition(distances, count - 1, axis=1)[:, :count]
        linked = np.isfinite(np.take_along_axis(distances, nearest, 1))
        graph[np.repeat(index, count)[linked.ravel()], nearest[linked]] = 1.0
    return np.maximum(graph, graph.T, out=graph)


def row_cycle(rows: np.ndarray) -> int:
    """The length L in rows of the cycle a stream's feature rows repeat, 1 when they repeat none: the
    first lag from 2 to CYCLE_MOST (at most a quarter of the rows) where the columns' mean
    autocorrelation peaks more than CYCLE_MARGIN above its value at lag 1. Why the margin: rows of
    one motion are each most like the next, and rows of a pattern spread over L rows are most like
    the row L on."""
    x = standardised(np.asarray(rows, np.float64))
    lags = range(1, min(CYCLE_MOST, len(x) // 4) + 1)
    correlation = [float((x[:-lag] * x[lag:]).mean()) * len(x) / (len(x) - lag) for lag in lags]
    for lag in lags[1:-1]:
        if correlation[lag - 1] - correlation[0] > CYCLE_MARGIN and correlation[lag - 1] >= correlation[lag]:
            return lag
    return 1


def row_graph(rows: np.ndarray, weight: float, cycles: bool) -> Graph:
    """prefix_gram's graph of a stream's feature rows at ``weight`` (None at 0). With ``cycles``, in a
    stream whose rows repeat a cycle of L > 1 rows (row_cycle), each row stands for the window of L rows
    around it (columns standardised; the ends repeat the first and last row) and the graph weighs L times
    as much. Why: there a row is one phase of a pattern, and the same phase recurs in every other pattern
    of the stream as much as in its own; a window holds the whole pattern, so a row's nearest windows are
    those of its regime. Its links stand for L rows each (tune, regimes-tune: level 0 F1@0.5s 0.33 ->
    0.61 with the weight L times, 0.42 at the row's; docs/quality-log.md, the 35th round)."""
    if not weight:
        return None
    length = row_cycle(rows) if cycles else 1
    if length == 1:
        return rows, weight
    x = standardised(np.asarray(rows, np.float64))
    before = (length - 1) // 2
    padded = np.concatenate([np.repeat(x[:1], before, 0), x, np.repeat(x[-1:], length - 1 - before, 0)])
    return np.hstack([padded[i:i + len(x)] for i in range(length)]), weight * length
