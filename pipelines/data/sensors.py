"""Raw sensor recordings as feature streams: samples at a known rate become one row per snippet,
the input that `model.input_kind=features` reads. A row holds, per channel, the snippet's mean, its
spread (standard deviation) and its mean absolute change between neighbouring samples: where a
sensor's level, its noise or how fast it moves changes, an activity usually does. A recording with
one sample per snippet (2 Hz at 0.5 s) has no spread or change to take: its rows are its samples.
The packaged real corpora (`pipelines.evaluate.datasets`) are built the same way, so what is
measured there is what a user's recordings get."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROW_STATS = ("mean", "std", "change")
SUFFIXES = (".csv", ".npy")


class RecordingError(ValueError):
    """A recording that cannot become a feature stream (the message says where and why)."""


def samples_per_snippet(rate_hz: float, snippet_s: float) -> float:
    """Samples a snippet holds (``rate_hz x snippet_s``, not always whole: 12.5 at 25 Hz); ValueError
    unless it is 1 (rows are the samples) or at least 2 (a spread and a change to take)."""
    per = rate_hz * snippet_s
    if not (per >= 2 or abs(per - 1) < 1e-9):
        raise ValueError(f"a snippet of {snippet_s:g} s holds {per:g} samples at {rate_hz:g} Hz; need 1 "
                         f"(the samples are the rows) or at least 2")
    return per


def snippet_starts(count: int, rate_hz: float, snippet_s: float) -> np.ndarray:
    """Where each whole snippet of ``count`` samples starts, and where the last one ends: snippet k
    holds the samples recorded in [k, k + 1) x snippet_s. Why not a fixed number of samples: at a rate
    that puts 12.5 samples in a snippet, rows of 12 would each be 0.48 s while the stream's clock
    counts 0.5 s a row, and a 10-minute recording's last events would be stamped 25 s late."""
    per = samples_per_snippet(rate_hz, snippet_s)
    snippets = int(np.floor(count / per + 1e-9))
    return np.floor(np.arange(snippets + 1) * per + 1e-9).astype(np.int64)


def snippet_rows(samples: np.ndarray, rate_hz: float, snippet_s: float) -> np.ndarray:
    """``[T, C]`` samples -> float32 rows, one per whole snippet (snippet_starts; a last part-snippet
    is left out): every channel's mean, then every channel's standard deviation, then every
    channel's mean absolute change (``[N, 3C]``); at one sample per snippet, the samples (``[T, C]``)."""
    x = np.asarray(samples, np.float64)
    if samples_per_snippet(rate_hz, snippet_s) < 2:
        return x.astype(np.float32)
    starts = snippet_starts(len(x), rate_hz, snippet_s)
    sizes = np.diff(starts)
    rows = np.empty((len(sizes), 3 * x.shape[1]))
    for size in np.unique(sizes):  # one size, or two (12 and 13 samples at 25 Hz)
        which = np.flatnonzero(sizes == size)
        blocks = x[starts[which][:, None] + np.arange(size)]  # [snippets of this size, size, C]
        change = np.abs(np.diff(blocks, axis=1)).mean(axis=1)
        rows[which] = np.concatenate([blocks.mean(axis=1), blocks.std(axis=1), change], axis=1)
    return rows.astype(np.float32)


def row_names(channels: Sequence[str], rate_hz: float, snippet_s: float) -> list[str]:
    """The columns of ``snippet_rows`` for these channels, in order ("ax mean", ..., "az change"; at
    one sample per snippet, the channels)."""
    if samples_per_snippet(rate_hz, snippet_s) < 2:
        return list(channels)
    return [f"{channel} {stat}" for stat in ROW_STATS for channel in channels]


def read_recording(path: str | Path, drop: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """A recording's channel names and float64 samples ``[T, C]``, without the ``drop`` columns: a CSV
    of numbers (its first row names the channels unless it is all numbers; unnamed channels are
    named by position from 0), or a ``.npy`` ``[T, C]`` (channels named by position). RecordingError
    naming the column and line of the first value that is not a finite number."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        samples = np.load(path, allow_pickle=False)
        if samples.ndim != 2:
            raise RecordingError(f"expected samples [T, C], got shape {samples.shape}")
        try:
            numbers = list(np.asarray(samples, np.float64).T)
        except (TypeError, ValueError) as exc:
            raise RecordingError(f"samples of dtype {samples.dtype} are not numbers") from exc
        return _kept([str(i) for i in range(samples.shape[1])], numbers, drop,
                     lambda c, i: f"row {i}: {float(numbers[c][i])}")
    import pandas as pd

    try:
        cells = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise RecordingError("no samples (the file is empty)") from exc
    header = not all(_is_number(v) for v in cells.iloc[0])
    names = [str(v) for v in cells.iloc[0]] if header else [str(i) for i in range(cells.shape[1])]
    texts = [cells[c].to_numpy()[int(header):] for c in cells.columns]
    numbers = [pd.to_numeric(pd.Series(t, dtype=str), errors="coerce").to_numpy(np.float64) for t in texts]
    return _kept(names, numbers, drop, lambda c, i: f"line {i + 1 + int(header)}: {texts[c][i]!r}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _kept(names: list[str], numbers: list[np.ndarray], drop: Sequence[str],
          where: Callable[[int, int], str]) -> tuple[list[str], np.ndarray]:
    """The channels not dropped, ``[T, C]``; RecordingError for an unknown drop or a value that is not
    a finite number (``where(column, index)``: where it is and what it read)."""
    unknown = [d for d in drop if d not in names]
    if unknown:
        raise RecordingError(f"no column {unknown[0]!r} to drop (columns: {', '.join(names)})")
    kept = [k for k, name in enumerate(names) if name not in drop]
    if not kept:
        raise RecordingError("no channel left" + (" after --drop" if drop else ""))
    for k in kept:
        bad = np.flatnonzero(~np.isfinite(numbers[k]))
        if len(bad):
            raise RecordingError(f"column {names[k]!r}, {where(k, bad[0])} is not a finite number")
    return [names[k] for k in kept], np.stack([numbers[k] for k in kept], axis=1)


def feature_stream(samples: np.ndarray, rate_hz: float, snippet_s: float) -> np.ndarray:
    """``snippet_rows``, or RecordingError for a recording shorter than one snippet."""
    per = samples_per_snippet(rate_hz, snippet_s)
    if len(samples) < per - 1e-9:
        raise RecordingError(f"{len(samples)} samples, fewer than one snippet ({per:g} at {rate_hz:g} Hz)")
    return snippet_rows(samples, rate_hz, snippet_s)
