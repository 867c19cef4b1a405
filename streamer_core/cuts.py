"""Hard cuts: inputs where most of the frame changes at once (not in the paper, and not learned).

A young STREAMER predicts frames too roughly to notice a cut between shots: on the sample corpora
its prediction error at a cut is within a few per cent of its error elsewhere, while a cut changes
the colour of nearly every part of the frame and an action or a camera pan changes a part of it, or
its texture. So the frame is reduced to the mean colours of a REGIONS x REGIONS grid, and the change
of an input is the median over the grid of each region's squared colour change (channels summed,
frames in [-1, 1]): it stays near 0 unless more than half the regions moved. With
`model.hard_cut_shift` (45th round; off in the presets) the newer frame is compared at the shift
that matches the older one best (`shifted_change`): a shaking camera moves the whole frame by a few
pixels, which on a detailed scene (a photograph) changes most regions' colours as much as a cut
does, and a cut matches at no shift. On the sample corpora, at 32 and 128 pixels, a cut scores at
least 0.078 and anything else at most 0.014. A gradual transition (a fade, a dissolve) that changes
enough between two inputs passes at several inputs in a row: one transition, at its middle. One that
never changes enough between two inputs (a 1 s dissolve at 2 inputs/s: 0.024 and 0.036 on a tune
corpus) is found by `gradual_span`: a short run of moderate changes, after a steady stretch, whose
first and last frames differ like a cut's. At the end of a video a transition stands only as a lone
peak of change against the inputs around it, where the colours change for good (confirmed_cuts):
fast motion, a shaking camera and a flicker pass the threshold too. A whip pan could pass for a cut."""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

REGIONS = 8
# with model.hard_cut_shift, frames are compared as THUMBNAIL-pixel thumbnails, the newer one at each shift
# of up to that many of their pixels, a border as wide left out of both (1: 1/32 of the frame, as far as the
# tune corpora's handheld camera wanders, sample.render._handheld). On the tune corpora with a handheld
# camera (45th round) it removed the hard cuts that shaking made: of their 3,722 samples away from a scene
# cut, 498 passed hard_cut=0.04 unshifted and 4 at the best shift (tiny-default, seed 0); scenes F1@0.5s,
# 3 seeds: sample-515 0.974 -> 0.976, -517 0.917 -> 0.976, -519 0.872 -> 0.991, -521 0.728 -> 1.000, the
# steady corpora the same. Its test run was neutral for tiny-default, and it costs the tiny model 3-9 % of
# its speed, so the presets leave it off (docs/quality-log.md, "The 45th round")
THUMBNAIL = 32
# a hard cut stands when its change is CONFIRM_RATIO times the mean change of the CONFIRM_SPAN inputs
# on either side, less the CONFIRM_TRIM largest: fast motion and a shaking camera change most of the
# frame at every input, a cut at one only; the largest are left out because in quick editing other
# cuts fall within the span. PySceneDetect's AdaptiveDetector takes 3.0 and 2, nothing left out.
# Chosen on the tune corpora with a handheld camera (benchmarks/quality.py sample-515, sample-517:
# scene F1 0.70 and 0.53 at 3, 2, 0; 0.91 and 0.85 at 8, 4, 2; the steady ones 1.00 either way)
CONFIRM_RATIO = 8.0
CONFIRM_SPAN = 4
CONFIRM_TRIM = 2
# with colour histograms, a hard cut also stands only where the colours change for good: the mean
# histogram of the PERSIST_SPAN inputs after the transition differs from that of the ones before it
# PERSIST_RATIO times as much as the histograms change from one input to the next around it (the
# same surrounding and trim as above). A jolt of a handheld camera or a flicker passes the rules above
# and leaves the colours as they were. Chosen on the tune corpora (benchmarks/quality.py, seed 0): of
# the 13 hard cuts that stood at no scene change (7 on sample-515, 6 on sample-517: shaking, flicker)
# ratios 2 to 4 drop 12 and keep all 150 that stood at one (1: 11 dropped; 6: a scene change lost).
PERSIST_SPAN = 3
PERSIST_RATIO = 2.0


def region_colours(frames: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 3, REGIONS, REGIONS] mean colours (float32)."""
    return F.adaptive_avg_pool2d(frames.float(), REGIONS)


def change(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """[B] median over regions of the squared colour change between two region grids."""
    return ((after - before) ** 2).sum(1).flatten(1).median(dim=1).values


def thumbnails(frames: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 3, THUMBNAIL, THUMBNAIL] mean colours (float32): what `shifted_change` compares."""
    if frames.shape[-2:] == (THUMBNAIL, THUMBNAIL):  # tiny-default's inputs: no pooling to pay for
        return frames.float()
    return F.adaptive_avg_pool2d(frames.float(), THUMBNAIL)


@functools.lru_cache(maxsize=8)
def _pooling(shift: int, device: torch.device) -> torch.Tensor:
    """[2 shift + 1, REGIONS, THUMBNAIL] on ``device``: row r of block k averages the pixels that adaptive
    pooling of a window of THUMBNAIL - 2 shift pixels from pixel k to REGIONS regions puts in region r.
    Kept per device, so that a stream on a GPU does not copy them there at every step."""
    inner, blocks = THUMBNAIL - 2 * shift, []
    for k in range(2 * shift + 1):
        block = torch.zeros(REGIONS, THUMBNAIL)
        for r in range(REGIONS):
            first, last = k + (r * inner) // REGIONS, k + -(-(r + 1) * inner // REGIONS)
            block[r, first:last] = 1.0 / (last - first)
        blocks.append(block)
    return torch.stack(blocks).to(device)


def shifted_change(before: torch.Tensor, after: torch.Tensor, shift: int) -> torch.Tensor:
    """[B] median over regions of the squared colour change between two thumbnails (`thumbnails`), at
    the shift of ``after`` (up to ``shift`` pixels each way) that makes it least; a border of ``shift``
    pixels is left out of both. Every shift's regions at once, as two products with each offset's
    pooling rows: pooling the shifted windows cost the tiny model a sixth of its speed."""
    rows = _pooling(shift, after.device)  # [S, R, T], S = 2 shift + 1 offsets
    middle = rows[shift]
    older = middle @ before @ middle.T  # [B, 3, R, R]: the window with no shift
    stacked = rows.flatten(0, 1)  # [S R, T]
    newer = (stacked @ after @ stacked.T).unflatten(2, rows.shape[:2]).unflatten(4, rows.shape[:2])
    squared = ((newer - older[:, :, None, :, None]) ** 2).sum(1)  # [B, S, R, S, R]
    return squared.transpose(2, 3).flatten(3).flatten(1, 2).median(dim=2).values.min(dim=1).values


def comparable(frames: torch.Tensor, shift: int) -> torch.Tensor:
    """What a stream keeps of each input for the hard-cut rule: its region grid, or with a ``shift``
    (model.hard_cut_shift) its thumbnail."""
    return thumbnails(frames) if shift else region_colours(frames)


def compared(before: torch.Tensor, after: torch.Tensor, shift: int) -> torch.Tensor:
    """[B] the change between two inputs as `comparable` kept them: `change`, or `shifted_change`."""
    return shifted_change(before, after, shift) if shift else change(before, after)


def gradual_span(colours: Sequence[torch.Tensor], changes: Sequence[float], threshold: float,
                 shift: int = 0) -> int:
    """How many inputs a gradual transition ending at the newest one took (2 to len(colours) - 1),
    or 0: the last k changes are each above a quarter of `threshold` and none above it (one above
    it is a cut already), the change before them is at most a quarter (the run starts from a steady
    shot, so a slow pan does not fire at every input), and the input k back differs
    by more than `threshold` from the newest but not from the one before (so a transition fires
    once, where it first passes). `colours`: the latest inputs as `comparable` keeps them (``shift``),
    oldest first;
    `changes`: the stream's changes, the newest last."""
    floor = threshold / 4
    for k in range(2, min(len(colours), len(changes) + 1)):
        steps = changes[-k:]
        if min(steps) <= floor or max(steps) > threshold:
            return 0  # a longer run holds these steps too
        steady = len(changes) == k or changes[-k - 1] <= floor
        start = colours[-k - 1][None]
        if steady and (float(compared(start, colours[-1][None], shift)) > threshold
                       >= float(compared(start, colours[-2][None], shift))):
            return k
    return 0


def transition_runs(cuts: Sequence[int]) -> list[list[int]]:
    """Hard cuts (sample indices) grouped into runs at consecutive samples: one transition each."""
    runs: list[list[int]] = []
    for sample in sorted(set(cuts)):
        if runs and sample == runs[-1][-1] + 1:
            runs[-1].append(sample)
        else:
            runs.append([sample])
    return runs


def _around(values: np.ndarray, first: int, last: int) -> np.ndarray:
    """``values[i]`` for the CONFIRM_SPAN ``i`` before ``first`` and from ``last`` on, less the
    CONFIRM_TRIM largest (all of them when there are no more than that)."""
    around = np.sort(np.r_[values[max(0, first - CONFIRM_SPAN):first], values[last:last + CONFIRM_SPAN]])
    return around[:-CONFIRM_TRIM] if len(around) > CONFIRM_TRIM else around


def _colours_persist(histograms: np.ndarray, steps: np.ndarray, first: int, last: int) -> bool:
    """Whether the colours after a transition (samples first+1 .. last are its new frames) differ
    from those before it more than they change between neighbouring samples around it (``steps[i]``:
    the histograms' squared change from sample i to i + 1)."""
    before = histograms[max(0, first + 1 - PERSIST_SPAN):first + 1].mean(0)
    after = histograms[last:last + PERSIST_SPAN].mean(0)
    around = _around(steps, first, last)
    return not len(around) or ((after - before) ** 2).sum() >= PERSIST_RATIO * around.mean()


def confirmed_cuts(cuts: Sequence[int], changes: Sequence[float], histograms: np.ndarray | None = None) -> list[int]:
    """The hard cuts (sample indices; ``changes[i - 1]`` is sample i's change) that stand: a run of
    them at consecutive samples is one transition (a dissolve or a fade changes most of the frame
    at several samples in a row, each past the threshold), which stands at its middle sample when
    its largest change is at least CONFIRM_RATIO times the mean change of the CONFIRM_SPAN samples
    before and after the run, less their CONFIRM_TRIM largest, and, given each sample's colour
    ``histograms``, when the colours persist (PERSIST_RATIO); a lone cut is a run of one."""
    changes = np.asarray(changes, np.float64)
    steps = None if histograms is None else ((histograms[1:] - histograms[:-1]) ** 2).sum(1)  # once per video
    kept = []
    for run in transition_runs(cuts):
        first, last = run[0] - 1, run[-1]  # the run's changes are changes[first:last]
        around = _around(changes, first, last)
        if len(around) and changes[first:last].max() < CONFIRM_RATIO * around.mean():
            continue
        if histograms is not None and not _colours_persist(histograms, steps, first, last):
            continue
        kept.append(-(-(first + last) // 2))  # the middle sample (the later of two)
    return kept
