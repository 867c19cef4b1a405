"""The working set of one level: at most `capacity` inputs in arrival order, each with the
prediction error it arrived with (inf when no prediction existed)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class WorkingSet:
    capacity: int
    items: list[Any] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.capacity

    def add(self, item: Any, error: float | None) -> tuple[bool, list[Any]]:
        """Appends `item`; when full, the stored input with the lowest error makes room if the
        new one has a higher error (order of the rest kept), else the new one is not kept.
        Returns (kept, evicted items)."""
        error = math.inf if error is None else float(error)
        if not self.full:
            self.items.append(item)
            self.errors.append(error)
            return True, []
        lowest = min(range(len(self.errors)), key=self.errors.__getitem__)
        if error <= self.errors[lowest]:
            return False, [item]
        evicted = self.items.pop(lowest)
        self.errors.pop(lowest)
        self.items.append(item)
        self.errors.append(error)
        return True, [evicted]

    def clear(self) -> list[Any]:
        """Empties the set and returns what it held."""
        items, self.items, self.errors = self.items, [], []
        return items
