"""Refinement (not in the paper): at the end of a video, level 0's events are placed again by an
exact penalised change-point pass over the encoder's embeddings of its inputs (and, for frames,
their colour and edge histograms: streamer_core.histograms; for feature rows, each column).

Why: online, a level decides at each input from one prediction score, and a one-dimensional
score of a young model marks a change late, early or twice. The encoder's embeddings of all the
video's inputs say more: a kernel change-point pass (events of at least ``min_size`` inputs, a
penalty of ``penalty x ln N`` per cut) finds the partition whose events are each most alike inside,
exactly (PELT). Its kernel is the weighted mean of one kernel per part (the embeddings, each
histogram, each column; rbf or laplace: part_kernel), each with its part's median-distance
bandwidth: a change that shows in one part only, as when a small object changes its shape, stands
out as much as in that part alone, where one kernel over all the parts together would drown it in
the others' distances. Feature rows also bring their neighbour graph (streamer_core.neighbours), and
their cuts may then move to their posterior mean place (posterior_cuts). Hard cuts that stand
(streamer_core.cuts.confirmed_cuts) stay cuts: the pass runs between them. Long videos are taken in
windows of ``WINDOW`` inputs, each restarting at the last cut kept before the end of the previous
one, so memory stays bounded.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from streamer_core.compiled import compiled
from streamer_core.neighbours import Graph, neighbour_gram, squared_distances

WINDOW = 1024  # inputs per pass: the kernel's prefix sums hold (WINDOW + 1)^2 numbers
MARGIN = 128  # cuts in a window's last MARGIN inputs are left to the next window
# the median of a part's distances is taken over the pairs of at most this many evenly spaced inputs
# (the median of all pairs cost a window of 1,024 inputs 15 ms a part; any video up to 2 minutes at
# 0.5 s, every tune and test video, takes all of them)
MEDIAN_INPUTS = 256
# feature rows wider than this are split into this many groups of neighbouring columns, one kernel
# each, rather than one kernel per column: every kernel costs an N x N matrix per window
COLUMN_PARTS = 64
# a cut's posterior (model.refine_posterior) weighs the places up to this many inputs either side of it
POSTERIOR_REACH = 2

Parts = Sequence[tuple[np.ndarray, float]]  # ([N, D_k] rows of each input, weight) per part


def part_kernel(setting: str, input_kind: str) -> str:
    """The kernel of each part (model.refine_kernel): "auto" is laplace for frames and rbf for
    feature rows. Why: on the tune corpora laplace placed level 0 better for both (video 0.940 ->
    0.946, feature streams 0.917 -> 0.934, F1@0.5s); the test corpora confirmed it for video
    (shots-a 0.87 -> 0.91, shots-b 0.77 -> 0.81) and not for real sensor streams (mocap 0.81 ->
    0.78), as the asinh columns before it (docs/quality-log.md, the 30th round)."""
    if setting == "auto":
        return "laplace" if input_kind == "frames" else "rbf"
    return setting


def posterior_temperature(setting: float, input_kind: str) -> float:
    """The temperature posterior_cuts moves cuts at (model.refine_posterior): the setting for feature
    rows, 0 (the least-cost places) for frames. Why: a row is a window, in which a change may fall
    anywhere or which it may spread over; a frame sample is an instant, its cuts stamped between
    samples, and on the tune videos the posterior lost (actions 0.890 -> 0.851, docs/quality-log.md,
    the 48th round)."""
    return setting if input_kind == "features" else 0.0


def _bandwidth(distances: np.ndarray) -> tuple[float, bool]:
    """The median heuristic's bandwidth (over the pairs of at most MEDIAN_INPUTS evenly spaced
    inputs) and whether most pairs are alike: the median is then 0, and the bandwidth is the median
    of the pairs that differ (of all pairs, if no spaced one does); 0 when every input is alike. Why
    the second median: a sensor that is off most of the time, or reads a few levels only (an on/off
    switch, a coarse converter), has most pairs of rows alike, and at a bandwidth of 0 its changes,
    which may be the only sign of an event, counted for nothing (tune, BasicMotions with each column
    read at 2 levels: level 0 F1@0.5s 0.00 -> 0.43)."""
    step = -(-len(distances) // MEDIAN_INPUTS)
    spaced = distances[::step, ::step]
    upper = spaced.take(_upper_triangle(len(spaced)))
    median = _median(upper)
    if median > 0:
        return median, False
    differ = upper[upper > 0]
    if not len(differ):
        differ = distances[distances > 0]
    return _median(differ), True


@functools.lru_cache(maxsize=16)
def _upper_triangle(n: int) -> np.ndarray:
    """Flat indices of the pairs i < j of an [n, n] matrix (kept: a video's short pieces between
    hard cuts ask for the same few sizes again and again)."""
    return np.ravel_multi_index(np.triu_indices(n, 1), (n, n))


def _median(values: np.ndarray) -> float:
    """np.median, by one partition (a third of its time on a short piece's few hundred pairs)."""
    if not len(values):
        return 0.0
    middle = [(len(values) - 1) // 2, len(values) // 2]
    return float(np.partition(values, middle)[middle].mean())


def _add_kernel(gram: np.ndarray, distances: np.ndarray, bandwidth: float, weight: float, kernel: str) -> None:
    """Adds ``weight`` x the part's kernel of the squared ``distances`` (``bandwidth``: their median)
    to ``gram``, consuming ``distances``: exp(-d^2 / bandwidth) ("rbf") or exp(-d / sqrt(bandwidth))
    ("laplace")."""
    if kernel == "laplace":
        np.sqrt(distances, out=distances)
        bandwidth = np.sqrt(bandwidth)
    distances *= -1.0 / bandwidth
    np.exp(distances, out=distances)
    distances *= weight
    gram += distances


def prefix_gram(parts: Parts, kernel: str = "rbf", graph: Graph = None) -> np.ndarray:
    """2-D prefix sums of the weighted mean of the parts' Gram matrices (``kernel``: _add_kernel),
    plus the neighbour graph of ``graph``'s rows at its weight (neighbour_gram).
    Parts weighed 0 are left out, and so are parts whose inputs are all alike: in the mean, a
    constant kernel would only shrink the others' against the penalty (a stream with many idle
    channels would lose its cuts). Parts whose inputs are mostly alike (_bandwidth) are one part,
    weighed as much as they were together, each first scaled by its own bandwidth so that each
    one's usual change counts the same. Why: an on/off channel that flips back and forth near its
    threshold is a full change in a kernel of its own, and many such channels cut wherever one of
    them flips; together, a change is as large as the number of channels that make it (tune,
    BasicMotions with each column read at 2 levels: level 0 F1@0.5s 0.43 -> 0.77; at 4 levels 0.78
    -> 0.82)."""
    weighed = [(np.asarray(x, np.float64), weight) for x, weight in parts if weight]
    gram = np.zeros((len(weighed[0][0]),) * 2)
    total, alike = 0.0, []
    for x, weight in weighed:
        distances = squared_distances(x)
        bandwidth, mostly_alike = _bandwidth(distances)
        if mostly_alike and bandwidth:
            alike.append((x / np.sqrt(bandwidth), weight))
        elif bandwidth:
            _add_kernel(gram, distances, bandwidth, weight, kernel)
            total += weight
    if alike:
        distances = squared_distances(np.hstack([x for x, _ in alike]))
        weight = sum(weight for _, weight in alike)
        _add_kernel(gram, distances, _bandwidth(distances)[0], weight, kernel)
        total += weight
    if total:
        gram /= total
    if graph is not None and graph[1]:
        gram += graph[1] * neighbour_gram(graph[0])
    prefix = np.zeros((len(gram) + 1, len(gram) + 1))
    prefix[1:, 1:] = gram.cumsum(0).cumsum(1)
    return prefix


def column_parts(rows: np.ndarray, weight: float) -> list[tuple[np.ndarray, float]]:
    """[N, F] feature rows as parts, one per column (per group of neighbouring columns beyond
    COLUMN_PARTS), each weighed ``weight``. Why: a change that shows in a few of a sensor's
    channels is a small share of the distance between whole rows, which the other channels' noise
    fills; in its own columns' kernel it stands out (tune, BasicMotions: level 0 F1@0.5s 0.845 ->
    0.931 beside the embeddings)."""
    groups = np.array_split(np.arange(rows.shape[1]), min(rows.shape[1], COLUMN_PARTS))
    return [(rows[:, group], weight) for group in groups] if weight else []


def kernel_cuts(parts: Parts, penalty: float, min_size: int = 2, kernel: str = "rbf", graph: Graph = None,
                posterior: float = 0.0) -> list[int]:
    """Indices ``0 < i < N`` where events start, minimising the summed kernel cost of the events
    plus ``penalty`` per cut (PELT: exact, with pruning); with ``posterior``, each then moved to its
    posterior mean place at that temperature (posterior_cuts)."""
    n = len(parts[0][0])
    if n < 2 * min_size:
        return []
    prefix = prefix_gram(parts, kernel, graph)
    cuts = piece_starts(_pelt(prefix, float(penalty), int(min_size)))
    return posterior_cuts(prefix, cuts, int(min_size), posterior) if posterior else cuts


def posterior_cuts(prefix: np.ndarray, cuts: Sequence[int], min_size: int, temperature: float) -> list[int]:
    """``cuts`` of the inputs whose kernel's 2-D prefix sums are ``prefix``, each moved (left to
    right) to the mean of the places within POSTERIOR_REACH inputs of it, each place weighed by
    exp(-(the kernel cost of the two events on either side of it, less the least) / ``temperature``),
    the events' other ends the cut before (as moved) and the cut after, each event at least
    ``min_size`` inputs. Why: a change that falls inside a feature row or spreads over a few rows
    leaves those rows partly like both sides, so several places cost about the same; the least of them
    is then as likely one end of the change as its middle, where the truth is, and their mean is the
    middle. A sharp change costs clearly least in one place and stays there (tune, BasicMotions joined
    through crossfades of 0-2 s: level 0 F1@0.5s 0.878 -> 0.918; docs/quality-log.md, the 48th round)."""
    n = len(prefix) - 1
    ends, moved = [*cuts, n], []
    for index, cut in enumerate(cuts):
        before, after = (moved[-1] if moved else 0), ends[index + 1]
        # never empty: the cut before moved at most to this cut's original place less min_size
        places = np.arange(max(before + min_size, cut - POSTERIOR_REACH),
                           min(after - min_size, cut + POSTERIOR_REACH) + 1)
        costs = np.array([_event_cost(prefix, before, place) + _event_cost(prefix, place, after) for place in places])
        weights = np.exp(-(costs - costs.min()) / temperature)
        moved.append(int(np.round(weights @ places / weights.sum())))
    return moved


@compiled("float64(float64[:, ::1], int64, int64)")
def _event_cost(prefix, start, end):  # pragma: no cover (compiled)
    """The pass's kernel cost of the event [start, end) of the inputs whose kernel's 2-D prefix sums
    are ``prefix``: its length less the mean of its inputs' kernel within it. Compiled, as _pelt
    calls it for every candidate start at every input."""
    inside = prefix[end, end] - prefix[start, end] - prefix[end, start] + prefix[start, start]
    return (end - start) - inside / (end - start)


@compiled("int64[::1](float64[:, ::1], float64, int64)")
def _pelt(prefix, penalty, min_size):  # pragma: no cover (compiled)
    """Where the best partition of each prefix of the inputs starts its last event (PELT over the
    Gram matrix's 2-D prefix sums). Compiled: as array operations per input, the loop's overhead
    was half of the pass's time on a video of 600 inputs."""
    n = len(prefix) - 1
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    previous = np.zeros(n + 1, np.int64)
    starts = np.zeros(n + 1, np.int64)  # where the last event may start: PELT's candidates
    pruned = np.zeros(n + 1, np.int64)  # the next step's candidates
    fits = np.empty(n + 1)
    count = 1
    for t in range(min_size, n + 1):
        k = -1
        for c in range(count):
            s = starts[c]
            if t - s >= min_size:
                fits[c] = best[s] + _event_cost(prefix, s, t)
                if k < 0 or fits[c] < fits[k]:
                    k = c
        best[t], previous[t] = fits[k] + penalty, starts[k]
        kept = 0  # candidates not yet ready, then the ready ones that may still start the best event
        for c in range(count):
            if t - starts[c] < min_size:
                pruned[kept], kept = starts[c], kept + 1
        for c in range(count):
            if t - starts[c] >= min_size and fits[c] <= best[t]:
                pruned[kept], kept = starts[c], kept + 1
        pruned[kept], count = t, kept + 1
        starts, pruned = pruned, starts
    return previous


def piece_starts(previous: np.ndarray) -> list[int]:
    """The starts (0 left out) of the optimal partition of ``len(previous) - 1`` items, from where
    the best partition of each prefix starts its last piece (``previous[t]``), as optimal
    partitioning leaves it."""
    cuts, t = [], len(previous) - 1
    while t > 0:
        t = int(previous[t])
        if t > 0:
            cuts.append(t)
    return sorted(cuts)


def refined_cuts(parts: Parts, forced: Sequence[int], penalty: float, min_size: int,
                 kernel: str = "rbf", graph: Graph = None, posterior: float = 0.0) -> list[int]:
    """Cuts of N inputs (``parts``: their rows and weights; ``graph``: prefix_gram's): ``forced`` ones
    kept, the pass run in the pieces between them (and in windows of at most WINDOW inputs, the
    neighbour graph's drawn in each; ``posterior``: kernel_cuts'); ``penalty`` is scaled by ln N of
    the whole video."""
    n = len(parts[0][0])
    scaled = penalty * np.log(max(n, 2))
    edges = sorted({0, n, *(int(i) for i in forced if 0 < i < n)})
    cuts: list[int] = []
    for start, end in zip(edges[:-1], edges[1:]):
        while start < end:
            stop = min(start + WINDOW, end)
            window = [(x[start:stop], w) for x, w in parts]
            piece = graph and (graph[0][start:stop], graph[1])
            found = [start + i for i in kernel_cuts(window, scaled, min_size, kernel, piece, posterior)]
            if stop < end:
                kept = [i for i in found if i < stop - MARGIN]
                cuts += kept
                start = kept[-1] if kept else stop - MARGIN
            else:
                cuts += found
                start = end
    return sorted(set(cuts) | set(edges[1:-1]))
