"""One video's samples as model input, chunk by chunk: what training and segmentation both read.

`VideoFeed` reads a video with `pipelines.data.decode.iter_chunks` in a thread that runs a few
chunks ahead of the model (decord and torch release the GIL, so decoding overlaps the model's
work) and converts each chunk to model input there, once: `streamer_core.to_model_input` is
also the check that the model accepts the samples. The first error, a decode failure row or
samples the model refuses, ends the feed and is kept in `error`; the chunks before it stand.
Memory holds `depth` chunks per video however long the video is.
"""
from __future__ import annotations

import itertools
import queue
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch

from pipelines.data.corpus import ManifestRow
from pipelines.data.decode import DecodeSettings, iter_chunks
from pipelines.data.storage import S3Settings
from streamer_core import InputError, StreamerModel, to_model_input
from streamer_core.config import ModelConfig

_END = object()


@dataclass(frozen=True)
class _Raised:
    """An exception of the thread, handed to the reader to raise (the thread never hangs it)."""

    error: BaseException


def _converted(chunks: Iterator[dict], cfg: ModelConfig, dtype: torch.dtype, uri: str) -> Iterator[dict]:
    """Chunk rows with `samples` as model input, up to and including the first one in error."""
    for chunk in chunks:
        if not chunk["error"]:
            try:
                chunk["samples"] = to_model_input(chunk["samples"], cfg, dtype=dtype)
            except InputError as exc:
                chunk["error"] = f"InputError: {uri}: {exc}"
        yield chunk
        if chunk["error"]:
            return


def _ahead(items: Iterator, depth: int, stop: threading.Event) -> queue.Queue:
    """Starts a thread that puts `items` (then `_END`) on a queue of `depth`, until `stop`."""
    ready: queue.Queue = queue.Queue(maxsize=depth)

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in itertools.chain(items, [_END]):
                if not put(item):
                    return
        except BaseException as exc:  # noqa: B036 - the reader re-raises it
            put(_Raised(exc))

    threading.Thread(target=work, name="decode-ahead", daemon=True).start()
    return ready


class VideoFeed:
    """One video's chunks of model input, in order: iterate it once. Decoding starts at once.

    `samples` counts the samples handed out, `duration_s` is the video's (known from the first
    chunk), `error` names the first failure. The thread stops when the video ends, when the
    reader stops early, or when the feed is dropped.
    """

    def __init__(self, row: ManifestRow | Mapping, settings: DecodeSettings, model: StreamerModel,
                 s3: S3Settings | None = None, depth: int = 2):
        self.row = ManifestRow.coerce(row)
        self.error, self.samples, self.duration_s = "", 0, 0.0
        self._stop = threading.Event()
        weakref.finalize(self, self._stop.set)
        chunks = _converted(iter_chunks(self.row, settings, s3), model.cfg, model.dtype, self.row.uri)
        self._ready = _ahead(chunks, depth, self._stop)
        self._first: torch.Tensor | None = None

    def prime(self) -> bool:
        """Waits for the first chunk (it holds the duration); False when the video failed already."""
        self._first = self._next()
        return self._first is not None

    def __iter__(self) -> Iterator[torch.Tensor]:
        try:
            chunk = self._first if self._first is not None else self._next()
            self._first = None
            while chunk is not None:
                yield chunk
                chunk = self._next()
        finally:
            self._stop.set()

    def _next(self) -> torch.Tensor | None:
        """The next chunk's samples; None at the end or at the first error (kept)."""
        if self.error or self._stop.is_set():
            return None
        item = self._ready.get()
        if isinstance(item, _Raised):
            raise item.error
        if item is _END:
            self._stop.set()
            return None
        if item["error"]:
            self.error = item["error"]
            self._stop.set()
            return None
        self.duration_s = float(item["duration_s"])
        self.samples += len(item["samples"])
        return item["samples"]
