"""Event demarcation: is this prediction error unusual enough to end the current event?

Scores are similarities (higher = better prediction) for the cosine loss and errors
(higher = worse) for MSE; `worse_is_higher` says which.

Published modes: "average" (worse than `modifier` x the window mean), "fixed" (worse than
`threshold`), "accum" (accumulated error passes `threshold`).

"peaks" (not in the paper) cuts where the score *changes* unusually: its step from the previous
input is more than `z_threshold` standard deviations above the mean step of the window. After a
change in the content, a model that adapts shows a spike of error and one that has not learned to
adapt yet a new level of error; both are one large step. "average" instead fires on every dip
below the mean, about every other input on a noisy score, so the real changes drown.
`min_event` (not in the paper; 1 = off) holds a cut back until the event has that many inputs.
`strength` (the shift at the last cut, |score - the mean score of the event it ends|, over the mean
shift at this level's previous cuts) tells the level above how hard a cut was (see `escalate` in
streamer_core.streaming)."""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Demarcation:
    mode: str  # "average" (published), "fixed", "accum" or "peaks"
    worse_is_higher: bool
    window_size: int = 50
    modifier: float = 1.0
    threshold: float = 0.5
    z_threshold: float = 2.0
    min_event: int = 1
    window: deque = field(default_factory=deque)  # the last scores
    steps: deque = field(default_factory=deque)  # |score - previous score| of the last inputs
    cut_shifts: deque = field(default_factory=deque)  # the shift at each of the last cuts
    event_sum: float = 0.0  # scores of the current event before the last input, and their count
    event_count: int = 0
    shift: float = 0.0  # |last score - the mean score of the event before it|
    accumulated: float = 0.0
    since_cut: int = 0  # inputs since the last boundary of this level
    strength: float = 0.0  # the last cut's shift over the mean shift of the cuts before it

    def __post_init__(self) -> None:
        self.window = deque(maxlen=self.window_size)
        self.steps = deque(maxlen=self.window_size)
        self.cut_shifts = deque(maxlen=self.window_size)

    def _worse(self, score: float, reference: float) -> bool:
        return score > reference if self.worse_is_higher else score < reference

    def _step_surprise(self, step: float) -> float:
        """z-score of `step` against the window of steps before it (0 with fewer than 2)."""
        if len(self.steps) < 2:
            return 0.0
        mean = sum(self.steps) / len(self.steps)
        std = math.sqrt(sum((s - mean) ** 2 for s in self.steps) / len(self.steps))
        return (step - mean) / max(std, 1e-6)

    def decide(self, score: float) -> bool:
        """Returns True when `score` ends an event; the first score of a video never does."""
        self.since_cut += 1
        ready = self.since_cut >= self.min_event
        step = abs(score - self.window[-1]) if self.window else 0.0
        self.shift = abs(score - self.event_sum / self.event_count) if self.event_count else 0.0
        self.event_sum, self.event_count = self.event_sum + score, self.event_count + 1
        if self.mode == "average":
            boundary = bool(self.window) and self._worse(score, self.modifier * sum(self.window) / len(self.window))
        elif self.mode == "fixed":
            boundary = bool(self.window) and self._worse(score, self.threshold)
        elif self.mode == "peaks":
            boundary = self._step_surprise(step) > self.z_threshold
        else:
            self.accumulated += score if self.worse_is_higher else 1.0 - score
            boundary = bool(self.window) and self.accumulated > self.threshold and ready
            if boundary:
                self.accumulated = 0.0
        if self.window:
            self.steps.append(step)
        self.window.append(score)
        return boundary and ready

    def mark_boundary(self) -> None:
        """The level ended an event here (decided here, or forced by a full working set or from
        below): restarts the event's input count and rates the cut's shift against earlier cuts."""
        self.since_cut = 0
        mean = sum(self.cut_shifts) / len(self.cut_shifts) if self.cut_shifts else 0.0
        self.strength = self.shift / mean if mean > 0 else 0.0
        self.cut_shifts.append(self.shift)
        self.event_sum, self.event_count = (self.window[-1], 1) if self.window else (0.0, 0)

    def reset(self) -> None:
        for history in (self.window, self.steps, self.cut_shifts):
            history.clear()
        self.accumulated = self.strength = self.shift = self.event_sum = 0.0
        self.event_count = 0
        self.since_cut = 0
