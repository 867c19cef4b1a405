"""What a stream carries from one step of the streamer to the next (streamer_core.streaming) and
into the hierarchy's placement at the end of its video (streamer_core.placement)."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from streamer_core.buffer import WorkingSet
from streamer_core.demarcation import Demarcation


@dataclass
class LevelState:
    """One level of one stream: its working set, demarcation, what it predicts and what it has cut."""
    working_set: WorkingSet
    demarcation: Demarcation
    z: torch.Tensor | None = None  # [D] representation of the current working set
    prediction: torch.Tensor | None = None  # prediction of the next input ([D] or [3, H, W])
    last_input: int = -1  # sample index of the previous input (for the HGN timescale)
    z_inputs: list[Any] = field(default_factory=list)  # working-set items z was computed from
    prediction_inputs: list[Any] = field(default_factory=list)  # items the prediction's graph reaches
    boundaries: list[float] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def forget(self) -> None:
        """Drops the representation and prediction (after a step, at the end of a video)."""
        self.z, self.prediction, self.z_inputs, self.prediction_inputs = None, None, [], []

    def reachable(self) -> list[Any]:
        """Items that a later loss can still send gradient to."""
        return self.working_set.items + self.z_inputs + self.prediction_inputs


@dataclass
class StreamState:
    """One stream (video) between steps: its levels, and what the end-of-video placement reads."""
    video_id: str
    levels: list[LevelState]
    samples_seen: int = 0
    colours: deque = field(default_factory=deque)  # the latest inputs as cuts.comparable keeps them (hard_cut)
    changes: list[float] = field(default_factory=list)  # the hard-cut change of each input after the first
    inputs: list[np.ndarray] = field(default_factory=list)  # level 0's input embeddings (for model.refine)
    histograms: list[np.ndarray] = field(default_factory=list)  # each frame's colours (model.refine_colour)
    edges: list[np.ndarray] = field(default_factory=list)  # each frame's edge directions (model.refine_edges)
    rows: list[np.ndarray] = field(default_factory=list)  # each feature row (model.refine_columns, _neighbours)
    hard_cuts: list[int] = field(default_factory=list)  # samples where a hard cut ended level 0's event

