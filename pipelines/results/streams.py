"""Feature streams (``.npy``, one row per snippet) where the result views expect a video: a picture of
the rows to look at, and their clock to cut on. A sensor stream has no frames; its columns over time,
each scaled to its own range, show where it changes, which is what one looks for beside its events."""
from __future__ import annotations

import matplotlib
import numpy as np

from pipelines.data.corpus import kind_of
from pipelines.data.decode import FrameClock, stream_rows, stream_shape
from pipelines.data.storage import S3Settings

COLOURS = matplotlib.colormaps["viridis"]


def is_stream(uri: str) -> bool:
    return kind_of(uri) == "features"


def read_rows(uri: str, s3: S3Settings | None = None) -> np.ndarray:
    """A stream's rows, ``[T, F]``, in memory (decode.stream_rows: the same checks as decoding)."""
    with stream_rows(uri, s3) as rows:
        return np.array(rows)


def heat(rows: np.ndarray) -> np.ndarray:
    """uint8 ``[F, T, 3]``: column f at row t, time along x, each column scaled from its 1st to its
    99th percentile (one spike does not flatten the rest of it; NaN reads as the low end)."""
    values = np.asarray(rows, np.float64)
    low, high = np.nanpercentile(values, [1, 99], axis=0)
    scaled = np.nan_to_num(np.clip((values - low) / np.where(high > low, high - low, 1.0), 0, 1))
    return (COLOURS(scaled.T)[..., :3] * 255).round().astype(np.uint8)


def row_clock(uri: str, duration_s: float, s3: S3Settings | None = None) -> FrameClock:
    """The stream's rows as its frames: exports and pages cut where a row starts."""
    return FrameClock.of_rows(stream_shape(uri, s3)[0], duration_s)
