"""Segmenting videos with a trained model in plain Python; the segment job's Ray actor wraps it.

Several videos advance together (one batched forward pass per sample, no gradients), each read
through its own `pipelines.data.feed.VideoFeed` (decoded and converted a few chunks ahead in a
thread, so memory holds a few chunks per video and decoding overlaps the model's work). A video
that cannot be decoded, or whose samples the model refuses, gets a `failed` result with the
reason and costs the other videos of its batch nothing: its feed ends and its partial hierarchy
is dropped. Should the shared forward pass itself raise, the unfinished videos are retried one
at a time, so that only the culprit fails.
"""
from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import torch

from pipelines.data import storage
from pipelines.data.corpus import ManifestRow
from pipelines.data.decode import DecodeSettings
from pipelines.data.feed import VideoFeed
from pipelines.data.storage import S3Settings
from pipelines.results.levels import to_hierarchy
from pipelines.results.tables import EVENTS_SCHEMA, VIDEOS_SCHEMA
from streamer_core import (
    CheckpointError,
    Hierarchy,
    Streamer,
    StreamerModel,
    StreamSource,
)
from streamer_core.config import with_placement

EVENT_FIELDS = [f for f in EVENTS_SCHEMA if f.name not in ("run_id", "video_id", "model_version")]
# one row per video: its `videos` columns plus its events nested (the actor -> sink interchange)
_BUFFER = re.compile(r" ?<_io\.BytesIO object at 0x[0-9a-f]+>")
BATCH_SCHEMA = VIDEOS_SCHEMA.append(pa.field("events", pa.list_(pa.struct(EVENT_FIELDS))))


@dataclass(frozen=True)
class LoadedModel:
    model: StreamerModel
    version: str  # recorded in the checkpoint, else a hash of its bytes
    checkpoint: str
    sha256: str


@dataclass
class VideoResult:
    """One video's outcome: the `videos` row and, when ok, its events (`Hierarchy.to_rows()`)."""

    video_id: str
    uri: str
    etag: str
    duration_s: float = 0.0
    frames: int = 0
    status: str = "ok"
    error: str = ""
    seconds: float = 0.0
    scores: list[list[float]] = field(default_factory=list)  # Hierarchy.scores
    changes: list[float] = field(default_factory=list)  # Hierarchy.changes
    events: list[dict] = field(default_factory=list)

    def hierarchy(self) -> Hierarchy:
        """The events as the model's Hierarchy (the rows are what the tables store)."""
        return to_hierarchy(self.video_id, self.duration_s, self.events, self.scores, self.changes)


def load_model(checkpoint: str, settings: S3Settings | None = None, expect_sha256: str | None = None,
               placement: Mapping[str, float] | None = None) -> LoadedModel:
    """Reads and rebuilds the model, with the placement options of ``placement`` in place of the
    checkpoint's (streamer_core.config.with_placement: its version then names them); CheckpointError
    (naming the URI) when missing or unusable."""
    try:
        data = storage.read_bytes(checkpoint, settings)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {checkpoint}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {checkpoint}: {exc}") from None
    sha = hashlib.sha256(data).hexdigest()
    if expect_sha256 and sha != expect_sha256:
        raise CheckpointError(f"checkpoint {checkpoint} changed while the job ran (sha256 {sha[:16]})")
    try:
        payload = StreamerModel.read_checkpoint(data)
        model = StreamerModel.from_checkpoint(data)
    except CheckpointError as exc:  # the core names the in-memory copy; name the URI instead
        raise CheckpointError(f"{checkpoint}: {_BUFFER.sub('', str(exc))}") from None
    except (TypeError, KeyError, RuntimeError, ValueError) as exc:  # another config or state layout
        raise CheckpointError(f"{checkpoint}: incompatible checkpoint: {type(exc).__name__}: {exc}") from None
    model.cfg, placed = with_placement(model.cfg, dict(placement or {}))
    version = str(payload.get("model_version") or f"sha256:{sha[:16]}") + placed
    return LoadedModel(model.eval(), version, checkpoint, sha)


def _result(row: ManifestRow, started: float, **values) -> VideoResult:
    return VideoResult(video_id=row.video_id, uri=row.uri, etag=row.etag,
                       seconds=round(time.perf_counter() - started, 4), **values)


def _together(model: StreamerModel, rows: Sequence[ManifestRow], decode: DecodeSettings,
              s3: S3Settings | None) -> Iterator[VideoResult]:
    started = time.perf_counter()
    feeds = {}
    for feed in [VideoFeed(row, decode, model, s3) for row in rows]:  # all decoding in parallel
        if feed.prime():
            feeds[feed.row.video_id] = feed
        else:
            yield _result(feed.row, started, status="failed", error=feed.error or "no chunks")
    sources = [StreamSource(f.row.video_id, f, f.duration_s) for f in feeds.values()]
    with torch.no_grad():
        for hierarchy in Streamer(model).run(sources):
            feed = feeds[hierarchy.video_id]
            if feed.error:
                yield _result(feed.row, started, status="failed", error=feed.error)
            else:
                yield _result(feed.row, started, duration_s=hierarchy.duration_s, frames=feed.samples,
                              scores=hierarchy.scores, changes=hierarchy.changes, events=hierarchy.to_rows())


def segment_rows(model: StreamerModel, rows: Sequence[ManifestRow | Mapping], decode: DecodeSettings,
                 s3: S3Settings | None = None) -> Iterator[VideoResult]:
    """One result per row (never raises for a bad video), each as soon as its video ends."""
    rows = [ManifestRow.coerce(r) for r in rows]
    done: set[str] = set()
    try:
        for result in _together(model, rows, decode, s3):
            done.add(result.video_id)
            yield result
    except Exception as exc:  # the shared pass broke: isolate the video that broke it
        if storage.unavailable(exc):  # the store is down: no video is at fault, the job stops
            raise
        left = [r for r in rows if r.video_id not in done]
        if len(left) == 1:
            yield _result(left[0], time.perf_counter(), status="failed", error=f"{type(exc).__name__}: {exc}")
            return
        for row in left:
            yield from segment_rows(model, [row], decode, s3)


def to_batch(results: Sequence[VideoResult], run_id: str, model_version: str) -> pa.Table:
    """Results as `BATCH_SCHEMA` rows (one per video, events nested)."""
    rows = [dict(r.__dict__, run_id=run_id, model_version=model_version,
                 events=[{k: e[k] for k in ("level", "event_index", "start_s", "end_s", "parent_index", "embedding")}
                         for e in r.events]) for r in results]
    return pa.Table.from_pylist(rows, schema=BATCH_SCHEMA)


def split_batch(batch: pa.Table) -> dict[str, pa.Table]:
    """`BATCH_SCHEMA` rows -> the `videos` and `events` tables (events in video, level, index order)."""
    nested = batch.column("events").combine_chunks()
    flat = pc.list_flatten(nested)
    owner = pc.list_parent_indices(nested)
    columns = {name: batch.column(name).take(owner) for name in ("run_id", "video_id", "model_version")}
    columns.update({f.name: flat.field(f.name) for f in EVENT_FIELDS})
    events = pa.table({f.name: columns[f.name] for f in EVENTS_SCHEMA}, schema=EVENTS_SCHEMA)
    return {"videos": batch.select(VIDEOS_SCHEMA.names), "events": events}


class SegmentActor:
    """The Ray Data callable class: loads the model once, then segments each batch of manifest rows."""

    def __init__(self, checkpoint: str, sha256: str, run_id: str, version: str, chunk_frames: int = 64,
                 s3: S3Settings | None = None, device: str = "cpu", placement: Mapping[str, float] | None = None):
        loaded = load_model(checkpoint, s3, expect_sha256=sha256, placement=placement)
        self.model = loaded.model.to(device)
        self.decode = DecodeSettings.for_model(self.model.cfg, chunk_frames=chunk_frames)
        self.run_id, self.version, self.s3 = run_id, version, s3

    def __call__(self, batch: pa.Table) -> pa.Table:
        results = list(segment_rows(self.model, batch.to_pylist(), self.decode, self.s3))
        return to_batch(results, self.run_id, self.version)
