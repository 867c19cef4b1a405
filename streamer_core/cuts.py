"""Hard cuts: inputs where most of the frame changes at once (not in the paper, and not learned).

A young STREAMER predicts frames too roughly to notice a cut between shots: on the sample
corpora its prediction error at a cut is within a few per cent of its error elsewhere, while a
cut changes the colour of nearly every part of the frame and an action or a camera pan changes
a part of it, or its texture. So the frame is reduced to the mean colours of a REGIONS x REGIONS
grid, and the change of an input is the median over the grid of each region's squared colour
change (channels summed, frames in [-1, 1]): it stays near 0 unless more than half the regions
moved. On the sample corpora, at 32 and 128 pixels, a cut scores at least 0.078 and anything
else at most 0.014. A gradual transition (a fade, a dissolve) that changes enough between two inputs
passes at several inputs in a row, which refinement takes as one transition at its middle
(streamer_core.refine.confirmed_cuts). One that never changes enough between two inputs (a 1 s
dissolve at 2 inputs/s: 0.024 and 0.036 on a tune corpus) is found by `gradual_span`: a short run
of moderate changes, after a steady stretch, whose first and last frames differ like a cut's.
A whip pan could pass for a cut."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

REGIONS = 8


def region_colours(frames: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 3, REGIONS, REGIONS] mean colours (float32)."""
    return F.adaptive_avg_pool2d(frames.float(), REGIONS)


def change(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """[B] median over regions of the squared colour change between two region grids."""
    return ((after - before) ** 2).sum(1).flatten(1).median(dim=1).values


def gradual_span(colours: Sequence[torch.Tensor], changes: Sequence[float], threshold: float) -> int:
    """How many inputs a gradual transition ending at the newest one took (2 to len(colours) - 1),
    or 0: the last k changes are each above a quarter of `threshold` and none above it (one above
    it is a cut already), the change before them is at most a quarter (the run starts from a steady
    shot, so a slow pan does not fire at every input), and the region colours k inputs back differ
    by more than `threshold` from the newest but not from the one before (so a transition fires
    once, where it first passes). `colours`: the latest region grids, oldest first;
    `changes`: the stream's changes, the newest last."""
    floor = threshold / 4
    for k in range(2, min(len(colours), len(changes) + 1)):
        steps = changes[-k:]
        if min(steps) <= floor or max(steps) > threshold:
            return 0  # a longer run holds these steps too
        steady = len(changes) == k or changes[-k - 1] <= floor
        start = colours[-k - 1][None]
        if steady and float(change(start, colours[-1][None])) > threshold >= float(change(start, colours[-2][None])):
            return k
    return 0
