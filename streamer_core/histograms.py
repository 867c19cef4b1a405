"""Colour histograms of frames: what level 0's refinement weighs beside the encoder's embeddings
(model.refine_colour; not in the paper).

Why: the kernel pass over the encoder's embeddings alone places level 0's events well where an
action changes most of what the encoder sees, and poorly where an object changes shape or colour
on a busy or shaking background, which moves the embedding less than the background's own motion
does. How much of the frame has each colour does not move when the camera shakes or pans, and
does move when an object changes colour or size. On the tune corpora (benchmarks/quality.py) the
two together placed level 0 better on every corpus than either alone, the embeddings carrying the
corpus with flickering light, the histograms the ones with small objects on textured scenes."""
from __future__ import annotations

import numpy as np
import torch

BINS = 4  # per channel: 64 colours


def colour_histograms(frames: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] frames in [-1, 1] -> [B, BINS**3]: the square root of each colour's share of
    the frame (so a colour's weight grows slower than its area, as in the Hellinger distance)."""
    levels = ((frames.detach().float() + 1) * (BINS / 2)).floor().clamp(0, BINS - 1).long()
    colour = ((levels[:, 0] * BINS + levels[:, 1]) * BINS + levels[:, 2]).flatten(1)  # [B, H*W]
    counts = torch.zeros(len(frames), BINS ** 3, device=frames.device).scatter_add_(
        1, colour, torch.ones_like(colour, dtype=torch.float32))
    return (counts / colour.shape[1]).sqrt()


def with_colours(embeddings: np.ndarray, histograms: np.ndarray, weight: float) -> np.ndarray:
    """[N, D] and [N, C] -> [N, D + C]: each part centred and scaled to a mean squared norm of 1
    (the histograms' then times `weight`), so that neither counts for more by its width or units."""
    def unit(x: np.ndarray) -> np.ndarray:
        x = x - x.mean(0)
        norm = np.sqrt((x * x).sum(1).mean())
        return x / norm if norm > 0 else x
    return np.hstack([unit(embeddings.astype(np.float64)), weight * unit(histograms.astype(np.float64))])
