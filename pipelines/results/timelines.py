"""Truth-vs-prediction timelines: one PNG per video, one row per level, spans coloured, x in seconds,
and, where the video's frames are at hand, a strip of them along the same time axis on top."""
from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only; no display on the workers
import matplotlib.pyplot as plt  # noqa: E402

from streamer_core.metrics import Segmentation  # noqa: E402

PALETTE = plt.get_cmap("tab20").colors


def _colours(seg: Segmentation, by_label: bool) -> list:
    """Truth spans take a colour per label (the same label, the same colour); events alternate."""
    if by_label:
        return [PALETTE[zlib.crc32(s.label.encode()) % len(PALETTE)] for s in seg.spans]
    return [PALETTE[(2 * k) % len(PALETTE) + (k // 10) % 2] for k in range(len(seg.spans))]


def _draw_frames(ax, frames: Sequence[tuple[float, np.ndarray]], duration: float) -> None:
    """Each frame centred on its time, as wide as the strip allows."""
    width = duration / len(frames)
    for t, image in frames:
        ax.imshow(image, extent=(t - width / 2, t + width / 2, 0, 1), aspect="auto")
    ax.set_xlim(0, duration)
    ax.set_axis_off()


def draw_timeline(video_id: str, truth: Mapping[int, Segmentation],
                  predictions: Mapping[str, Sequence[Segmentation]], path: str | Path,
                  frames: Sequence[tuple[float, np.ndarray]] = ()) -> Path:
    """Truth levels on top (coarsest first), then each method's levels (coarsest first); `frames`
    ((time, uint8 [H, W, 3]) in time order, evenly spaced) above them."""
    rows = [(f"truth L{lv}", seg, True) for lv, seg in sorted(truth.items(), reverse=True)]
    for method, levels in predictions.items():
        rows += [(f"{method} L{lv}", seg, False) for lv, seg in reversed(list(enumerate(levels)))]
    duration = max([seg.duration_s for _, seg, _ in rows] + [1e-3])
    strip = 1.0 if frames else 0.0
    fig, axes = plt.subplots(1 + bool(frames), 1, figsize=(12, 0.45 * len(rows) + 1.2 + strip), squeeze=False,
                             gridspec_kw={"height_ratios": [strip, 0.45 * len(rows)] if frames else [1]})
    ax = axes[-1][0]
    if frames:
        _draw_frames(axes[0][0], frames, duration)
    for y, (_, seg, by_label) in enumerate(rows):
        spans = [(s.start_s, s.end_s - s.start_s) for s in seg.spans]
        ax.broken_barh(spans, (y - 0.4, 0.8), facecolors=_colours(seg, by_label), edgecolor="black",
                       linewidth=0.4)
    ax.set_yticks(range(len(rows)), [name for name, _, _ in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, duration)
    ax.set_xlabel("seconds")
    axes[0][0].set_title(video_id, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
