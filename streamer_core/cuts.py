"""Hard cuts: inputs where most of the frame changes at once (not in the paper, and not learned).

A young STREAMER predicts frames too roughly to notice a cut between shots: on the sample
corpora its prediction error at a cut is within a few per cent of its error elsewhere, while a
cut changes the colour of nearly every part of the frame and an action or a camera pan changes
a part of it, or its texture. So the frame is reduced to the mean colours of a REGIONS x REGIONS
grid, and the change of an input is the median over the grid of each region's squared colour
change (channels summed, frames in [-1, 1]): it stays near 0 unless more than half the regions
moved. On the sample corpora, at 32 and 128 pixels, a cut scores at least 0.078 and anything
else at most 0.014. Like a content-based shot detector, it sees a gradual transition (a fade, a
dissolve) only when it changes enough between two inputs: then at several inputs in a row, which
refinement takes as one transition at its middle (streamer_core.refine.confirmed_cuts); a whip pan
could pass for a cut."""
from __future__ import annotations

import torch
import torch.nn.functional as F

REGIONS = 8


def region_colours(frames: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 3, REGIONS, REGIONS] mean colours (float32)."""
    return F.adaptive_avg_pool2d(frames.float(), REGIONS)


def change(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """[B] median over regions of the squared colour change between two region grids."""
    return ((after - before) ** 2).sum(1).flatten(1).median(dim=1).values
