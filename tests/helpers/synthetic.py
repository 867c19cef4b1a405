"""Seeded synthetic feature streams with a planted two-level structure, for model tests."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PlantedStream:
    samples: np.ndarray  # float32 [T, F]
    fine: list[int]  # sample indices where a fine event starts (0 excluded)
    coarse: list[int]  # sample indices where a coarse event starts (0 excluded)


def planted_features(seed: int, samples: int = 200, width: int = 16) -> PlantedStream:
    """Feature-vector streams: scenes are a shared random component, actions add their own
    component for 6-14 samples; light noise on every sample."""
    rng = np.random.default_rng(seed)
    out = np.zeros((samples, width), np.float32)
    fine, coarse, t = [], [], 0
    while t < samples:
        scene = rng.normal(0, 1, width)
        for _ in range(rng.integers(2, 5)):
            length = int(rng.integers(6, 15))
            out[t:t + length] = scene + rng.normal(0, 1, width)
            t += length
            if t >= samples:
                break
            fine.append(t)
        if t < samples:
            coarse.append(t)
    out += rng.normal(0, 0.15, out.shape)
    return PlantedStream(out.astype(np.float32), fine, coarse)


def cycling(phases: list[float], repeats: int, rng: np.random.Generator) -> np.ndarray:
    """A regime of one column that runs through ``phases`` ``repeats`` times, with noise of spread 1."""
    return np.concatenate([np.array(phases)[:, None] + rng.normal(0, 1.0, (len(phases), 1)) for _ in range(repeats)])
