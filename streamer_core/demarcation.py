"""Event demarcation: is this prediction error unusual enough to end the current event?

Scores are similarities (higher = better prediction) for the cosine loss and errors
(higher = worse) for MSE; `worse_is_higher` says which."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class Demarcation:
    mode: str  # "average" (published), "fixed" or "accum"
    worse_is_higher: bool
    window_size: int = 50
    modifier: float = 1.0
    threshold: float = 0.5
    window: deque = field(default_factory=deque)
    accumulated: float = 0.0

    def __post_init__(self) -> None:
        self.window = deque(maxlen=self.window_size)

    def _worse(self, score: float, reference: float) -> bool:
        return score > reference if self.worse_is_higher else score < reference

    def decide(self, score: float) -> bool:
        """Returns True when `score` ends an event; the first score of a video never does."""
        if self.mode == "average":
            boundary = bool(self.window) and self._worse(score, self.modifier * sum(self.window) / len(self.window))
        elif self.mode == "fixed":
            boundary = bool(self.window) and self._worse(score, self.threshold)
        else:
            self.accumulated += score if self.worse_is_higher else 1.0 - score
            boundary = bool(self.window) and self.accumulated > self.threshold
            if boundary:
                self.accumulated = 0.0
        self.window.append(score)
        return boundary

    def reset(self) -> None:
        self.window.clear()
        self.accumulated = 0.0
