"""When an event starts, given the first sample it holds (not in the paper).

The paper stamps an event with its first sample's time. A frame is an instant, so the change
that started the event happened somewhere after the previous sample: up to one snippet earlier
(0.5 s at the presets' rate, as long as the tolerance boundaries are scored within). Stamped
midway between the two samples (``cut_at="between"``), the error is at most half a snippet. A
feature row summarises the snippet that starts at its time, so a change there lies within half
a snippet of that time already: both stamps agree for features.
"""
from __future__ import annotations


def start_offset_s(cut_at: str, input_kind: str, snippet_s: float) -> float:
    """Seconds between an event's first sample and its stamped start."""
    return snippet_s / 2 if cut_at == "between" and input_kind == "frames" else 0.0
