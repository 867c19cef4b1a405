"""The event hierarchy of one video: levels of [start_s, end_s) events, finest first, each
event linked to its parent on the level above and carrying its representation."""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Event:
    start_s: float
    end_s: float
    parent_index: int  # index of the containing event one level up; -1 on the top level
    embedding: np.ndarray  # float32 [D]; empty when the level produced no representation


@dataclass
class Hierarchy:
    video_id: str
    duration_s: float
    levels: list[list[Event]] = field(default_factory=list)
    scores: list[list[float]] = field(default_factory=list)  # per level: the demarcation score of each input
    changes: list[float] = field(default_factory=list)  # per sample after the first: its hard-cut change
    #                                                     (streamer_core.cuts); empty when model.hard_cut is 0

    @classmethod
    def from_boundaries(cls, video_id: str, duration_s: float, boundaries: list[list[float]],
                        embeddings: list[list[np.ndarray]], scores: list[list[float]] | None = None,
                        changes: list[float] | None = None) -> Hierarchy:
        """boundaries[l]: times where level l ended an event (0 and the end are added, so every
        level tiles [0, duration]); embeddings[l][k]: representation of the k-th event."""
        spans = []
        for cuts in boundaries:
            times = sorted({0.0, duration_s, *(t for t in cuts if 0.0 < t < duration_s)})
            spans.append(list(zip(times[:-1], times[1:])))
        levels = []
        for level, level_spans in enumerate(spans):
            above = [s for s, _ in spans[level + 1]] if level + 1 < len(spans) else None
            events = []
            for k, (start, end) in enumerate(level_spans):
                parent = bisect.bisect_right(above, start) - 1 if above is not None else -1
                vectors = embeddings[level] if level < len(embeddings) else []
                vector = vectors[k] if k < len(vectors) else np.zeros(0, np.float32)
                events.append(Event(float(start), float(end), parent, np.asarray(vector, np.float32)))
            levels.append(events)
        return cls(video_id, float(duration_s), levels, [list(s) for s in (scores or [])], list(changes or []))

    def boundaries(self, level: int) -> list[float]:
        """Interior boundary times of a level."""
        return [e.start_s for e in self.levels[level][1:]]

    def to_rows(self) -> list[dict]:
        """One dict per event, in the `events` table's column names (without run fields)."""
        return [
            {"video_id": self.video_id, "level": level, "event_index": k, "start_s": e.start_s,
             "end_s": e.end_s, "parent_index": e.parent_index,
             "embedding": e.embedding.astype(np.float32).tolist()}
            for level, events in enumerate(self.levels) for k, e in enumerate(events)
        ]

    def to_json(self) -> str:
        return json.dumps({"video_id": self.video_id, "duration_s": self.duration_s,
                           "levels": [[{"start_s": e.start_s, "end_s": e.end_s, "parent_index": e.parent_index}
                                       for e in events] for events in self.levels]})
