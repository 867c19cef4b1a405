"""Scores of predicted event segmentations against ground truth, plain numpy/scipy.

- frame-wise MoF and IoU after Hungarian one-to-one matching of predicted events to truth segments
  (an event left unmatched is wrong on every frame it covers);
- boundary precision / recall / F1 within a tolerance in seconds or as a fraction of the duration
  (GEBD style: each true boundary matched at most once, the video's start and end are not boundaries);
- the paper's Hierarchical Level Reduction (HLR) over a predicted tree of levels.

Frames are the centres of ``resolution_s`` bins over the truth's duration. Truth may leave gaps
(unnarrated time): gap frames are not scored. Predictions are compared over the truth's duration:
longer ones are clipped, shorter ones are wrong where they stop, and either way a
``DurationMismatchWarning`` names the video when the two differ by more than a tolerance.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

EPS = 1e-6


class SpanError(ValueError):
    """Spans that cannot be a segmentation (negative, reversed, overlapping, past the end)."""


class EvaluationWarning(UserWarning):
    """Base of the named warnings the evaluation raises instead of dropping anything silently."""


class DurationMismatchWarning(EvaluationWarning):
    """Prediction and truth (or truth and video) disagree on a video's duration."""


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    label: str = ""


@dataclass(frozen=True)
class Segmentation:
    """One video at one level: sorted, non-overlapping spans inside [0, duration_s] (gaps allowed)."""

    video_id: str
    duration_s: float
    spans: tuple[Span, ...]
    level: int = 0

    def __post_init__(self):
        spans = tuple(sorted(self.spans, key=lambda s: (s.start_s, s.end_s)))
        object.__setattr__(self, "spans", spans)
        where = f"video {self.video_id!r} level {self.level}"
        if not math.isfinite(self.duration_s) or self.duration_s <= 0:
            raise SpanError(f"{where}: duration must be positive, got {self.duration_s}")
        previous = None
        for s in spans:
            if not (math.isfinite(s.start_s) and math.isfinite(s.end_s)):
                raise SpanError(f"{where}: non-finite span {s}")
            if s.start_s < -EPS:
                raise SpanError(f"{where}: negative start in {s}")
            if s.end_s <= s.start_s:
                raise SpanError(f"{where}: end not after start in {s}")
            if s.end_s > self.duration_s + EPS:
                raise SpanError(f"{where}: {s} ends past the duration {self.duration_s}")
            if previous is not None and s.start_s < previous.end_s - EPS:
                raise SpanError(f"{where}: {s} overlaps {previous}")
            previous = s

    @classmethod
    def from_boundaries(cls, video_id: str, duration_s: float, boundaries: Sequence[float],
                        level: int = 0) -> Segmentation:
        """Spans tiling [0, duration_s], cut at the interior ``boundaries``."""
        times = sorted({0.0, float(duration_s), *(float(t) for t in boundaries if EPS < t < duration_s - EPS)})
        return cls(video_id, float(duration_s), tuple(Span(a, b) for a, b in zip(times[:-1], times[1:])), level)

    @property
    def starts(self) -> np.ndarray:
        return np.array([s.start_s for s in self.spans], np.float64)

    @property
    def ends(self) -> np.ndarray:
        return np.array([s.end_s for s in self.spans], np.float64)

    def boundaries(self) -> np.ndarray:
        """Interior boundary times (span starts and ends, without 0 and the duration)."""
        times = np.unique(np.round(np.concatenate([self.starts, self.ends]), 6))
        return times[(times > EPS) & (times < self.duration_s - EPS)]

    def labels(self, centres: np.ndarray) -> np.ndarray:
        """Index of the span covering each time; -1 in gaps and past the end."""
        if not self.spans:
            return np.full(len(centres), -1, np.int64)
        index = np.searchsorted(self.starts, centres, side="right") - 1
        inside = (index >= 0) & (centres < self.ends[np.maximum(index, 0)])
        return np.where(inside, index, -1)

    def clipped(self, duration_s: float) -> Segmentation:
        """The same spans cut at ``duration_s`` (spans starting after it are gone)."""
        spans = tuple(replace(s, end_s=min(s.end_s, duration_s)) for s in self.spans
                      if s.start_s < duration_s - EPS)
        return replace(self, duration_s=float(duration_s), spans=spans)


def frame_centres(duration_s: float, resolution_s: float) -> np.ndarray:
    """Centres of ``resolution_s`` bins over [0, duration_s]; the last bin may be partial."""
    count = max(1, math.ceil(duration_s / resolution_s - EPS))
    lows = np.arange(count) * resolution_s
    return (lows + np.minimum(lows + resolution_s, duration_s)) / 2


def aligned(truth: Segmentation, pred: Segmentation, tolerance_s: float = 1.0) -> Segmentation:
    """``pred`` on the truth's time axis, warning when the durations differ by > tolerance_s."""
    if truth.video_id != pred.video_id:
        raise SpanError(f"comparing video {pred.video_id!r} with truth of {truth.video_id!r}")
    if abs(pred.duration_s - truth.duration_s) > tolerance_s:
        warnings.warn(DurationMismatchWarning(
            f"video {truth.video_id!r}: prediction lasts {pred.duration_s:.3f} s, truth "
            f"{truth.duration_s:.3f} s; scoring over the truth's duration"), stacklevel=2)
    return pred.clipped(truth.duration_s) if pred.duration_s > truth.duration_s else pred


@dataclass(frozen=True)
class FrameScores:
    mof: float  # fraction of truth frames whose matched event is right
    iou: float  # mean over truth segments of IoU with the matched event (0 when unmatched)
    frames: int  # scored frames (inside truth spans)
    truth_segments: int
    pred_segments: int


def frame_scores(truth: Segmentation, pred: Segmentation, resolution_s: float = 0.1,
                 tolerance_s: float = 1.0) -> FrameScores:
    """MoF and IoU with Hungarian one-to-one matching of predicted events to truth segments."""
    pred = aligned(truth, pred, tolerance_s)
    centres = frame_centres(truth.duration_s, resolution_s)
    t, p = truth.labels(centres), pred.labels(centres)
    scored = t >= 0
    n_t, n_p = len(truth.spans), len(pred.spans)
    if n_t == 0 or n_p == 0 or not scored.any():
        return FrameScores(0.0, 0.0, int(scored.sum()), n_t, n_p)
    both = scored & (p >= 0)
    overlap = np.bincount(t[both] * n_p + p[both], minlength=n_t * n_p).reshape(n_t, n_p)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    truth_size = np.bincount(t[scored], minlength=n_t)
    pred_size = np.bincount(p[both], minlength=n_p)
    hit = overlap[rows, cols]
    union = truth_size[rows] + pred_size[cols] - hit
    ious = np.zeros(n_t)
    ious[rows] = np.divide(hit, union, out=np.zeros(len(hit)), where=union > 0)
    present = truth_size > 0
    return FrameScores(float(hit.sum() / scored.sum()), float(ious[present].mean()),
                       int(scored.sum()), n_t, n_p)


@dataclass(frozen=True)
class BoundaryScores:
    precision: float  # 1.0 when nothing is predicted (vacuous)
    recall: float  # 1.0 when the truth has no boundary
    f1: float
    hits: int
    pred_boundaries: int
    true_boundaries: int
    tolerance_s: float


def boundary_scores(truth: Segmentation, pred: Segmentation, tolerance_s: float,
                    duration_tolerance_s: float = 1.0) -> BoundaryScores:
    """Boundary P/R/F1: a predicted boundary within ``tolerance_s`` of a true one is a hit,
    each true boundary matched at most once (maximum bipartite matching)."""
    pred = aligned(truth, pred, duration_tolerance_s)
    true_b, pred_b = truth.boundaries(), pred.boundaries()
    hits = 0
    if len(true_b) and len(pred_b):
        near = np.abs(true_b[:, None] - pred_b[None, :]) <= tolerance_s + EPS
        rows, cols = linear_sum_assignment(near, maximize=True)
        hits = int(near[rows, cols].sum())
    precision = hits / len(pred_b) if len(pred_b) else 1.0
    recall = hits / len(true_b) if len(true_b) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return BoundaryScores(precision, recall, f1, hits, len(pred_b), len(true_b), float(tolerance_s))


def boundary_scores_relative(truth: Segmentation, pred: Segmentation, fraction: float = 0.05,
                             duration_tolerance_s: float = 1.0) -> BoundaryScores:
    """GEBD-style boundary scores with the tolerance a fraction of the truth's duration."""
    return boundary_scores(truth, pred, fraction * truth.duration_s, duration_tolerance_s)


def iou_matrix(a: Segmentation, b: Segmentation) -> np.ndarray:
    """Temporal IoU of every span of ``a`` with every span of ``b``: ``[len(a), len(b)]``."""
    inter = np.minimum(a.ends[:, None], b.ends[None, :]) - np.maximum(a.starts[:, None], b.starts[None, :])
    hull = np.maximum(a.ends[:, None], b.ends[None, :]) - np.minimum(a.starts[:, None], b.starts[None, :])
    return np.clip(inter, 0, None) / np.where(hull > 0, hull, 1.0)


@dataclass(frozen=True)
class HLRMatch:
    truth_index: int
    level: int  # predicted level of the kept event (0 = finest)
    event_index: int
    iou: float


@dataclass(frozen=True)
class HLRScores:
    miou: float  # mean IoU of the kept matches
    mof: float  # fraction of truth frames whose kept event is matched to their own segment
    # (label agreement; the authors' script compares only which frames the kept events cover)
    matches: tuple[HLRMatch, ...]
    truth_segments: int  # segments not in `matches` lost out to a sibling on a kept event


def _parents(child: Segmentation, parent: Segmentation) -> np.ndarray:
    """For each span of ``child``, the span of ``parent`` holding its midpoint (-1 if none)."""
    return parent.labels((child.starts + child.ends) / 2)


def _reduce(level: int, index: int, assigned: list[int], ious: list[np.ndarray],
            parents: list[np.ndarray]) -> tuple[float, list[HLRMatch]]:
    """Score and kept matches of one node given the truth segments assigned to it."""
    own = ious[level][assigned, index]
    best = HLRMatch(assigned[int(np.argmax(own))], level, index, float(own.max()))
    if level == 0:
        return best.iou, [best]
    children = np.flatnonzero(parents[level - 1] == index)
    if len(children) == 0:
        return best.iou, [best]
    below = ious[level - 1][np.ix_(assigned, children)]
    choice = children[np.argmax(below, axis=1)]
    results = [_reduce(level - 1, int(c), [a for a, ch in zip(assigned, choice) if ch == c], ious, parents)
               for c in np.unique(choice)]
    mean = float(np.mean([score for score, _ in results]))
    if best.iou > mean:
        return best.iou, [best]
    return mean, [m for _, kept in results for m in kept]


def hlr(truth: Segmentation, levels: Sequence[Segmentation], resolution_s: float = 0.1,
        tolerance_s: float = 1.0) -> HLRScores:
    """Hierarchical Level Reduction of a predicted tree (``levels`` finest first).

    Each truth segment goes to the top-level event of best IoU, then, inside that event, to its
    child of best IoU, and so on down. Walking from the top, an event is kept (matched to its best
    truth segment) if that IoU beats the mean score of its children, else its children's kept
    matches are used (a child's score is its own IoU if kept, else its children's mean).
    """
    levels = [aligned(truth, lv, tolerance_s) for lv in levels]
    if not levels or not levels[-1].spans or not truth.spans:
        return HLRScores(0.0, 0.0, (), len(truth.spans))
    ious = [iou_matrix(truth, lv) for lv in levels]
    parents = [_parents(levels[l], levels[l + 1]) for l in range(len(levels) - 1)]
    top = len(levels) - 1
    first = np.argmax(ious[top], axis=1)
    matches: list[HLRMatch] = []
    for index in np.unique(first):
        assigned = [int(k) for k in np.flatnonzero((first == index) & (ious[top].max(axis=1) > 0))]
        if assigned:
            matches += _reduce(top, int(index), assigned, ious, parents)[1]
    centres = frame_centres(truth.duration_s, resolution_s)
    t = truth.labels(centres)
    got = np.full(len(centres), -1)
    for m in matches:
        got[levels[m.level].labels(centres) == m.event_index] = m.truth_index
    scored = t >= 0
    mof = float((got[scored] == t[scored]).mean()) if scored.any() else 0.0
    miou = float(np.mean([m.iou for m in matches])) if matches else 0.0
    return HLRScores(miou, mof, tuple(matches), len(truth.spans))
