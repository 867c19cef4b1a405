"""Colour and edge histograms of frames: what level 0's refinement weighs beside the encoder's
embeddings (model.refine_colour, model.refine_edges; not in the paper).

Why: the kernel pass over the encoder's embeddings alone places level 0's events well where an
action changes most of what the encoder sees, and poorly where a small object changes shape or
colour on a busy or shaking background, which moves the embedding less than the background's own
motion does. A histogram says how much of the frame has each colour, or how much of its edges
run in each direction, wherever in the frame they are: it does not move when the camera shakes or
pans, and does move when an object changes colour, size or shape. On the tune corpora
(benchmarks/quality.py) the embeddings carried the corpus with flickering light, the colours the
ones with small objects on textured scenes, and the edges the ones where an object changes only
its shape."""
from __future__ import annotations

import torch
import torch.nn.functional as F

BINS = 4  # per channel: 64 colours
EDGE_BINS = 8  # edge directions over half a turn (an edge and its reverse are one), per channel; a power of two
EDGE_SIZE = 32  # edges are taken on frames averaged down to about this size: the size they were chosen
#                at (tiny-default); at 128 px (default) they cost 12 % of inference, and finer edges are texture


def colour_histograms(frames: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] frames in [-1, 1] -> [B, BINS**3]: the square root of each colour's share of
    the frame (so a colour's weight grows slower than its area, as in the Hellinger distance)."""
    levels = (frames.detach().float() + 1).mul_(BINS / 2).clamp_(0, BINS - 1).long()  # >= 0: truncation floors
    colour = ((levels[:, 0] * BINS + levels[:, 1]) * BINS + levels[:, 2]).flatten(1)  # [B, H*W]
    return _shares(colour, torch.ones_like(colour, dtype=torch.float32), BINS ** 3)


def edge_histograms(frames: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] frames -> [B, C * EDGE_BINS]: per channel, the square root of each edge
    direction's share of the channel's gradient (central differences; weighed by their
    magnitude, so a change of brightness or contrast alone leaves the shares as they were); frames
    larger than EDGE_SIZE are first averaged down by a whole factor."""
    x = frames.detach().float()
    if x.shape[-1] >= 2 * EDGE_SIZE:
        x = F.avg_pool2d(x, x.shape[-1] // EDGE_SIZE)
    dx = x[:, :, 1:-1, 2:] - x[:, :, 1:-1, :-2]
    dy = x[:, :, 2:, 1:-1] - x[:, :, :-2, 1:-1]
    # the angle's bin over a whole turn, shifted to [0, 2 EDGE_BINS] (truncation floors), folded onto half
    # a turn with a mask: EDGE_BINS is a power of two (a float remainder costs as much as the rest together)
    turn = torch.atan2(dy, dx).mul_(EDGE_BINS / torch.pi).add_(EDGE_BINS).long()
    direction = (turn & (EDGE_BINS - 1)) + torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1) * EDGE_BINS
    magnitude = torch.addcmul(dx * dx, dy, dy).sqrt_()
    return _shares(direction.flatten(1), magnitude.flatten(1), x.shape[1] * EDGE_BINS, per=EDGE_BINS)


def _shares(bins: torch.Tensor, weights: torch.Tensor, count: int, per: int | None = None) -> torch.Tensor:
    """[B, P] bin indices and weights -> [B, count]: the square root of each bin's share of the
    weight (of its group of `per` bins when given); a group with no weight has no share."""
    totals = torch.zeros(len(bins), count, device=bins.device).scatter_add_(1, bins, weights)
    groups = totals.view(len(bins), -1, per or count)
    return (groups / groups.sum(-1, keepdim=True).clamp_min(1e-12)).sqrt().flatten(1)
