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
its shape.

Each histogram is one compiled pass over the pixels (numba). Why: as a chain of tensor operations
they took 48 us a frame inside a run of tiny-default (each operation writes a frame-sized
temporary, and the network's work in between evicts them), over half of what refinement cost
there; one pass keeps each pixel in registers (in the same run about 7 us a frame for both
passes, 16 with the copies around them, against 20 and 30 while colours were counted a pixel at a
time)."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from streamer_core.compiled import compiled

BINS = 4  # per channel: 64 colours
EDGE_BINS = 8  # edge directions over half a turn (an edge and its reverse are one), per channel (_edge_shares)
EDGE_SIZE = 32  # edges are taken on frames averaged down to about this size: the size they were chosen
#                at (tiny-default); at 128 px (default) they cost 12 % of inference, and finer edges are texture
# a direction, folded onto [0, 180) degrees, is in bin k when it is at or past k of the borders at
# 22.5, 45, ... 157.5 degrees; at or past the border at angle a when dy cos(a) >= dx sin(a): exact at
# the axes and diagonals, where 8-bit pixel values put many gradients (an angle from atan2 is rounded,
# and its bin there hangs on the rounding)
COS1, SIN1 = np.float32(math.cos(math.pi / 8)), np.float32(math.sin(math.pi / 8))  # 22.5 degrees
COS3, SIN3 = SIN1, COS1  # 67.5 degrees


def colour_histograms(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """[B, 3, H, W] frames in [-1, 1] -> [B, BINS**3]: the square root of each colour's share of
    the frame (so a colour's weight grows slower than its area, as in the Hellinger distance); a
    channel's level is floor((value + 1) x BINS / 2), within [0, BINS)."""
    x = _pixels(frames)
    shares = np.empty((len(x), BINS ** 3), np.float32)
    _colour_shares(x, shares)
    return shares


def edge_histograms(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """[B, C, H, W] frames -> [B, C * EDGE_BINS]: per channel, the square root of each edge
    direction's share of the channel's gradient (central differences; weighed by their
    magnitude, so a change of brightness or contrast alone leaves the shares as they were; a
    direction's bin: the number of borders it is at or past, above); frames larger than EDGE_SIZE
    are first averaged down by a whole factor."""
    x = _pixels(frames)
    if x.shape[-1] >= 2 * EDGE_SIZE:
        x = _pixels(F.avg_pool2d(torch.from_numpy(x), x.shape[-1] // EDGE_SIZE))
    shares = np.empty((len(x), x.shape[1] * EDGE_BINS), np.float32)
    _edge_shares(x, shares)
    return shares


def _pixels(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """The frames as a contiguous float32 array; no copy where they already are one (Streamer takes
    both histograms from one such array: each conversion from a tensor costs a few microseconds
    of Python a call, about a frame's worth of counting)."""
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().float().cpu().numpy()
    return np.ascontiguousarray(frames, np.float32)


_FRAMES_TO_SHARES = "void(float32[:, :, :, ::1], float32[:, ::1])"  # [B, C, H, W] frames -> [B, bins] shares


@compiled(_FRAMES_TO_SHARES)
def _colour_shares(x, shares):  # pragma: no cover (compiled)
    """Counts each pixel's colour, then takes the square root of each colour's share. Why a row at a
    time, each channel's levels for the whole row first: that loop has no branches, so it runs on
    vectors, and the counts alternate over four tables, so neighbouring pixels of one colour (most
    of a frame) do not wait on each other's increment. A pixel at a time, the count took 3 us a
    frame on smooth frames and 13 on noise in a loop of their own (a branch per channel that the
    processor cannot predict), and 15.5 inside a run of tiny-default; this way 1.2-1.3 and 2.0."""
    height, width = x.shape[2], x.shape[3]
    colours = np.empty(width, np.int32)
    for b in range(x.shape[0]):
        counts = np.zeros((4, BINS ** 3), np.int32)
        for i in range(height):
            colours[:] = 0
            for c in range(3):
                for j in range(width):
                    level = np.int32((x[b, c, i, j] + np.float32(1)) * np.float32(BINS / 2))
                    colours[j] = colours[j] * BINS + min(max(level, np.int32(0)), np.int32(BINS - 1))
            for j in range(width):
                counts[j & 3, colours[j]] += 1
        for k in range(BINS ** 3):
            shares[b, k] = math.sqrt((counts[0, k] + counts[1, k] + counts[2, k] + counts[3, k]) / (height * width))


@compiled(_FRAMES_TO_SHARES, fastmath=True)
def _edge_shares(x, shares):  # pragma: no cover (compiled)
    """Sums the magnitude of the edges at or past each border (past[0]: all of them), then takes
    each bin as what is past k borders and not k + 1. Why not a sum per bin: one select per border
    and pixel leaves the loop without branches or stores, so it runs on vectors (fastmath lets the
    sums be reordered): 5 us a frame at 32 px, against 11 for a bin index and a sum per bin. An
    empty bin stays exactly empty (its two sums add the same pixels in the same order); in float32
    a share is within 1e-6 of the float64 one."""
    past, zero = np.zeros(EDGE_BINS + 1, np.float32), np.float32(0)
    for b in range(x.shape[0]):
        for c in range(x.shape[1]):
            p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = zero
            for i in range(1, x.shape[2] - 1):
                for j in range(1, x.shape[3] - 1):
                    dx = x[b, c, i, j + 1] - x[b, c, i, j - 1]
                    dy = x[b, c, i + 1, j] - x[b, c, i - 1, j]
                    turn = np.float32(-1) if (dy < 0) | ((dy == 0) & (dx < 0)) else np.float32(1)  # onto half a turn
                    dx, dy = dx * turn, dy * turn
                    magnitude = math.sqrt(dx * dx + dy * dy)
                    p0 += magnitude
                    p1 += magnitude if dy * COS1 >= dx * SIN1 else zero
                    p2 += magnitude if dy >= dx else zero
                    p3 += magnitude if dy * COS3 >= dx * SIN3 else zero
                    p4 += magnitude if dx <= 0 else zero
                    p5 += magnitude if -dy * COS3 >= dx * SIN3 else zero  # 112.5 degrees: -COS3, SIN3
                    p6 += magnitude if -dy >= dx else zero
                    p7 += magnitude if -dy * COS1 >= dx * SIN1 else zero
            past[0], past[1], past[2], past[3], past[4], past[5], past[6], past[7] = p0, p1, p2, p3, p4, p5, p6, p7
            for k in range(EDGE_BINS):
                bin_sum = max(past[k] - past[k + 1], zero)
                shares[b, c * EDGE_BINS + k] = math.sqrt(bin_sum / max(p0, np.float32(1e-12)))
