"""Level 1 of a feature stream as periods of few kinds of level-0 event (model.refine_periods; not
in the paper).

Why: a period of a sensor stream (a tool-use period, a stretch of housework) holds a few kinds of
activity that come back in turn, and the next period holds others. A kernel change-point pass over
level 0's events (model.refine_coarse) cuts wherever two neighbouring events differ, and those
differ inside a period as much as across one. Here each level-0 event is first given a kind: two
events are of one kind when their inputs differ, by the kernel's two-sample distance over the same
parts as level 0's pass, no more than the two halves of each event differ from each other (average
linkage). The periods are then the partition whose periods each hold the fewest kinds: the least
summed entropy of their events' kinds, each event weighed by its length, plus a penalty per period
(exact, by dynamic programming). Chosen on the tune period corpora of benchmarks/quality.py (level
1 F1@0.5s at the periods, mean of four: 0.38 with the pass over events, 0.48 with this). Long
streams are taken in windows of refine.WINDOW inputs, as level 0 is.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from streamer_core.refine import MARGIN, WINDOW, Parts, piece_starts, prefix_gram

# two events are of one kind when their inputs' two-sample distance is at most ALIKE times the mean
# of the distances between each one's halves (on average over the members of their kinds)
ALIKE = 1.0
MIN_EVENTS = 2  # a period holds at least this many level-0 events


def event_kinds(prefix: np.ndarray, edges: Sequence[int]) -> np.ndarray:
    """The kind (0, 1, ...) of each event [edges[k], edges[k+1]) of inputs whose kernel's 2-D prefix
    sums are ``prefix``; an event of one input takes the median of the others' halves' distance."""
    edges = np.asarray(edges)
    count = len(edges) - 1
    if count < 2:
        return np.zeros(count, dtype=np.int64)
    lengths = np.diff(edges).astype(np.float64)
    sums = np.diff(np.diff(prefix[np.ix_(edges, edges)], axis=0), axis=1)
    means = sums / lengths[:, None] / lengths[None, :]
    inner = np.diag(means)
    distance = np.maximum(inner[:, None] + inner[None, :] - 2 * means, 0.0)  # squared MMD between events
    middle = (edges[:-1] + edges[1:]) // 2
    halves = np.full(count, np.nan)
    split = (middle > edges[:-1]) & (middle < edges[1:])
    for k in np.flatnonzero(split):
        a, m, b = edges[k], middle[k], edges[k + 1]
        block = np.diff(np.diff(prefix[np.ix_([a, m, b], [a, m, b])], axis=0), axis=1)
        first, second = (m - a), (b - m)
        halves[k] = block[0, 0] / first ** 2 + block[1, 1] / second ** 2 - 2 * block[0, 1] / (first * second)
    halves = np.maximum(np.where(np.isnan(halves), np.nanmedian(halves) if split.any() else 0.0, halves), 0.0)
    scale = np.maximum((halves[:, None] + halves[None, :]) / 2, 1e-12)
    relative = distance / scale
    relative = (relative + relative.T) / 2
    np.fill_diagonal(relative, 0.0)
    return fcluster(linkage(squareform(relative, checks=False), "average"), ALIKE, "distance") - 1


def fewest_kinds(kinds: np.ndarray, weights: np.ndarray, penalty: float) -> list[int]:
    """Indices ``0 < k < E`` of the events where a period starts, minimising the summed entropy of
    each period's kinds (``weights``: each event's weight) plus ``penalty`` per period, every period
    at least MIN_EVENTS events (exact)."""
    count = len(kinds)
    if count < 2 * MIN_EVENTS:
        return []
    totals = np.zeros((count + 1, int(kinds.max()) + 1))
    np.add.at(totals[1:], (np.arange(count), kinds), weights)
    totals = totals.cumsum(0)
    best = np.full(count + 1, np.inf)
    best[0] = -penalty
    previous = np.zeros(count + 1, dtype=np.int64)
    for end in range(MIN_EVENTS, count + 1):
        start = np.arange(end - MIN_EVENTS + 1)
        held = totals[end] - totals[start]
        size = held.sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = size * np.log(size) - np.where(held > 0, held * np.log(held), 0.0).sum(1)
        fit = best[start] + spread
        k = int(np.argmin(fit))
        best[end], previous[end] = fit[k] + penalty, start[k]
    return piece_starts(previous)


def period_starts(parts: Parts, edges: Sequence[int], penalty: float, kernel: str = "rbf") -> list[int]:
    """Indices ``0 < k < E`` of the level-0 events [edges[k], edges[k+1]) of N inputs (``parts`` and
    ``kernel``: as level 0's pass weighs them) where a period starts; ``penalty`` is scaled by ln E
    of the whole stream. Windows of at most WINDOW inputs, each restarting at the last period start
    kept before its last MARGIN inputs."""
    edges = [int(e) for e in edges]
    count = len(edges) - 1
    lengths = np.diff(edges).astype(np.float64)
    weights = lengths / lengths.mean()
    scaled = penalty * np.log(max(count, 2))
    starts: list[int] = []
    first = 0
    while first < count:
        last = first + 1  # the window's events are [first, last)
        while last < count and edges[last + 1] - edges[first] <= WINDOW:
            last += 1
        if last - first < 2 * MIN_EVENTS:
            found = []
        else:
            window = [(x[edges[first]:edges[last]], w) for x, w in parts]
            kinds = event_kinds(prefix_gram(window, kernel), [e - edges[first] for e in edges[first:last + 1]])
            found = [first + k for k in fewest_kinds(kinds, weights[first:last], scaled)]
        if last < count:
            kept = [k for k in found if edges[k] < edges[last] - MARGIN]
            starts += kept
            margin = next(k for k in range(first + 1, last + 1) if k == last or edges[k] >= edges[last] - MARGIN)
            first = kept[-1] if kept else margin
        else:
            starts += found
            first = count
    return starts
