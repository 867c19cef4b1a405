"""Decoding manifest rows into ordered chunks of samples, one sample every ``snippet_size`` s.

Sample ``i`` is the frame whose timestamp is nearest ``t = i * snippet_size`` (timestamps, not
frame counts, so odd and variable frame rates sample the right instants); a video of duration
``d`` gives ``floor(d / snippet_size)`` samples. Frames are fetched chunk by chunk with
``get_batch``, so memory holds one chunk however long the video is. Chunk rows are `Chunk.to_row()`
dicts, the same from every source: videos give uint8 RGB ``[N, H, W, 3]``, ``.npy`` streams float32
``[N, F]``; `pipelines.data.feed` turns them into model input.

A file that cannot be decoded gives a failure row (samples empty, ``is_last`` True, ``error``
naming the file) instead of raising. Where the failure comes before the first chunk (corrupt,
zero-byte, non-video, missing object) that row is the video's only row, chunk_index 0; where a
file breaks part-way through, the chunks already emitted stand and the failure row ends them.
"""

from __future__ import annotations

import io
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipelines.data import storage
from pipelines.data.corpus import ManifestRow
from pipelines.data.storage import S3Settings

if TYPE_CHECKING:
    from streamer_core.config import ModelConfig

# Output widths for which decord 0.6.0 fails every frame ("DECORDArrayCopyFromTo: The size
# must exactly match"), found by probing widths 2-512 on this build, for any source size.
DECORD_BAD_WIDTHS = frozenset({2, 3, 4, 6, 8, 12, 16, 24, 48, 72})


@dataclass(frozen=True)
class DecodeSettings:
    snippet_size: float = 0.5  # seconds between samples
    image_size: int = 128  # frames are resized to image_size x image_size
    chunk_frames: int = 64  # samples per chunk at most
    max_in_memory_bytes: int = 64 << 20  # larger S3 objects are spooled to a temp file

    def __post_init__(self) -> None:
        if not self.snippet_size > 0:
            raise ValueError(f"snippet_size must be > 0, got {self.snippet_size}")
        if self.chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {self.chunk_frames}")
        if self.image_size < 1 or self.image_size in DECORD_BAD_WIDTHS:
            raise ValueError(f"image_size {self.image_size} is not supported: decord cannot "
                             f"output widths {sorted(DECORD_BAD_WIDTHS)}")

    @classmethod
    def for_model(cls, model: ModelConfig, chunk_frames: int = 64) -> DecodeSettings:
        """What a model needs from the decoder (its sampling step and frame size); ValueError
        when the decoder cannot give it."""
        return cls(snippet_size=model.snippet_size, image_size=model.image_size, chunk_frames=chunk_frames)


@dataclass
class Chunk:
    """One chunk of one video's stream (the dict form is the Ray Data row)."""

    video_id: str
    uri: str
    chunk_index: int
    t_sec: np.ndarray  # float64 [N]
    samples: np.ndarray  # uint8 [N, H, W, 3] or float32 [N, F]
    is_last: bool
    duration_s: float
    error: str = ""

    def to_row(self) -> dict:
        return dict(self.__dict__)


def sample_times(duration_s: float, snippet_size: float) -> np.ndarray:
    """``i * snippet_size`` for ``i < floor(duration_s / snippet_size)``."""
    count = max(0, math.floor(duration_s / snippet_size + 1e-6))
    return np.arange(count, dtype=np.float64) * snippet_size


def nearest_frames(frame_starts: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Index of the frame whose start time is nearest each time (ties go to the earlier)."""
    order = np.argsort(frame_starts, kind="stable")
    starts = frame_starts[order]
    if len(starts) == 1:
        return np.zeros(len(times), dtype=np.int64)
    right = np.clip(np.searchsorted(starts, times), 1, len(starts) - 1)
    left = right - 1
    # within a microsecond counts as a tie (decord's timestamps are float32)
    pick = np.where(times - starts[left] <= starts[right] - times + 1e-6, left, right)
    return order[pick].astype(np.int64)


def _chunk_bounds(count: int, chunk_frames: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + chunk_frames, count)) for lo in range(0, max(count, 1), chunk_frames)]


@contextmanager
def _local_source(uri: str, settings: DecodeSettings, s3: S3Settings | None):
    """A path for local files; for S3, a BytesIO or, when large, a spooled temp file."""
    if not storage.is_s3(uri):
        yield storage.local_path(uri)
        return
    with storage.open_input(uri, s3) as f:
        data = f.read() if f.size() <= settings.max_in_memory_bytes else None
    if data is not None:
        yield io.BytesIO(data)
        return
    suffix = os.path.splitext(uri)[1]
    fd, path = tempfile.mkstemp(prefix="decode-", suffix=suffix)
    os.close(fd)
    try:
        storage.copy_to_file(uri, path, s3)
        yield path
    finally:
        os.unlink(path)


@dataclass(frozen=True)
class FrameClock:
    """When each frame of a video starts, from its first frame on, as decord reports it: the
    timeline samples are taken on, and the one exports and reports cut on."""

    starts: np.ndarray  # float64 [frames], seconds since the first frame
    duration_s: float  # to the end of the last frame
    rate: float  # the stream's average frame rate

    @classmethod
    def of(cls, reader) -> FrameClock:
        if len(reader) == 0:
            raise ValueError("no video frames")
        stamps = np.asarray(reader.get_frame_timestamp(np.arange(len(reader))), np.float64)
        origin = stamps[:, 0].min()
        duration = round(float(stamps[:, 1].max() - origin), 6)  # decord gives float32
        return cls(stamps[:, 0] - origin, duration, float(reader.get_avg_fps()))

    @classmethod
    def of_rows(cls, rows: int, duration_s: float) -> FrameClock:
        """A feature stream's clock: its rows evenly over its duration (row k at k x snippet)."""
        if rows == 0:
            raise ValueError("no rows")
        return cls(np.arange(rows) * (duration_s / rows), duration_s, rows / duration_s)

    def frame_at(self, times) -> np.ndarray:
        """The frame each time was sampled from (the nearest start, as decoding picks it)."""
        return nearest_frames(self.starts, np.atleast_1d(np.asarray(times, np.float64)))

    @property
    def constant_rate(self) -> bool:
        """Whether frame k starts at k / rate (to a quarter frame) all through the video."""
        return bool(np.abs(self.starts * self.rate - np.arange(len(self.starts))).max() < 0.25)


def stream_shape(uri: str, s3: S3Settings | None = None) -> tuple[int, ...]:
    """A ``.npy`` feature stream's shape, from its header alone (a few bytes, also from S3)."""
    with storage.open_input(uri, s3) as f:
        np.lib.format.read_magic(f)
        return tuple(np.lib.format.read_array_header_1_0(f)[0])


@contextmanager
def open_video(uri: str, s3: S3Settings | None = None, size: int | None = None,
               settings: DecodeSettings = DecodeSettings()):
    """A decord VideoReader of a local or S3 video, frames resized to size x size when given."""
    import decord  # imported here so that listing and tests of other parts do not need it

    with _local_source(uri, settings, s3) as source:
        yield decord.VideoReader(source, width=size or -1, height=size or -1)


def keyframes(uri: str, times, s3: S3Settings | None = None) -> np.ndarray:
    """The frames sampled at `times` (seconds), at the video's own size: uint8 [N, H, W, 3]."""
    with open_video(uri, s3) as reader:
        frames = FrameClock.of(reader).frame_at(times)
        return reader.get_batch(frames.tolist()).asnumpy()


def _video_chunks(row: ManifestRow, settings: DecodeSettings,
                  s3: S3Settings | None) -> Iterator[Chunk]:
    with open_video(row.uri, s3, settings.image_size, settings) as reader:
        clock = FrameClock.of(reader)
        duration = clock.duration_s
        times = sample_times(duration, settings.snippet_size)
        frames = clock.frame_at(times)
        bounds = _chunk_bounds(len(times), settings.chunk_frames)
        for index, (lo, hi) in enumerate(bounds):
            batch = (reader.get_batch(frames[lo:hi].tolist()).asnumpy() if hi > lo else
                     np.zeros((0, settings.image_size, settings.image_size, 3), np.uint8))
            yield Chunk(video_id=row.video_id, uri=row.uri, chunk_index=index, t_sec=times[lo:hi],
                        samples=batch, is_last=index == len(bounds) - 1, duration_s=duration)


@contextmanager
def stream_rows(uri: str, s3: S3Settings | None = None, settings: DecodeSettings = DecodeSettings()):
    """A ``.npy`` feature stream's rows ``[T, F]`` (memory-mapped where the file is local); ValueError
    for an array of another shape or with no rows."""
    with _local_source(uri, settings, s3) as source:
        array = np.load(source, mmap_mode=None if isinstance(source, io.BytesIO) else "r")
        if array.ndim != 2 or not len(array):
            raise ValueError(f"expected a [T, F] array with rows, got shape {array.shape}")
        yield array


def _feature_chunks(row: ManifestRow, settings: DecodeSettings,
                    s3: S3Settings | None) -> Iterator[Chunk]:
    with stream_rows(row.uri, s3, settings) as array:
        duration = array.shape[0] * settings.snippet_size
        times = sample_times(duration, settings.snippet_size)
        bounds = _chunk_bounds(len(times), settings.chunk_frames)
        for index, (lo, hi) in enumerate(bounds):
            yield Chunk(video_id=row.video_id, uri=row.uri, chunk_index=index, t_sec=times[lo:hi],
                        samples=np.asarray(array[lo:hi], dtype=np.float32),
                        is_last=index == len(bounds) - 1, duration_s=duration)


_DECORD_NOISE = re.compile(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ")  # "[hh:mm:ss] src/x.cc:12: "


def _failure(row: ManifestRow, settings: DecodeSettings, exc: BaseException,
             chunk_index: int) -> Chunk:
    message = _DECORD_NOISE.sub("", " ".join(str(exc).split()))[:400]
    empty = (np.zeros((0, settings.image_size, settings.image_size, 3), np.uint8)
             if row.kind == "video" else np.zeros((0, 0), np.float32))
    return Chunk(video_id=row.video_id, uri=row.uri, chunk_index=chunk_index, t_sec=np.zeros(0, np.float64),
                 samples=empty, is_last=True, duration_s=0.0, error=f"{type(exc).__name__}: {row.uri}: {message}")


def iter_chunks(row: ManifestRow | Mapping, settings: DecodeSettings = DecodeSettings(),
                s3: S3Settings | None = None) -> Iterator[dict]:
    """Chunk rows of one video in order; never raises for a bad file (see module doc).

    Plain Python: usable in a Ray Train worker or a test without Ray Data. ``s3`` defaults to
    ``S3Settings.from_env()`` in the process that decodes.
    """
    row = ManifestRow.coerce(row)
    decode = _feature_chunks if row.kind == "features" else _video_chunks
    emitted = 0
    try:
        for chunk in decode(row, settings, s3):
            yield chunk.to_row()
            emitted += 1
    except Exception as exc:  # one bad file must never cost the others
        if storage.unavailable(exc):  # but a store that is down is no fault of the file's: stop the job
            raise
        yield _failure(row, settings, exc, emitted).to_row()


def read_chunks(manifest, settings: DecodeSettings = DecodeSettings(),
                s3: S3Settings | None = None, **ray_remote_args):
    """A Ray Dataset of chunk rows: one task per video (``flat_map``), videos in parallel.

    ``manifest`` is a Ray Dataset of manifest rows or an iterable of ManifestRow / dicts.
    Chunks of one video come from one task in order, so their order is kept downstream.
    """
    import ray.data

    if not isinstance(manifest, ray.data.Dataset):
        rows = [ManifestRow.coerce(r).to_dict() for r in manifest]
        manifest = ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
    return manifest.flat_map(iter_chunks, fn_kwargs={"settings": settings, "s3": s3},
                             **ray_remote_args)
