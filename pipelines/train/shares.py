"""Each training worker's share of the corpus: whole videos, balanced by duration.

A worker's time goes with the seconds of footage it learns, not the bytes: bitrates differ by
orders of magnitude across an archive (a 64 px clip and a 4K one of equal length), so shares
balanced by size leave workers idle at the end. The driver reads each video's duration once, from
the container's header (PyAV opens it: an MP4's `moov` box, a Matroska segment's info; a few
small ranged reads, no decoding), or a `.npy` stream's array header; every rank then splits the
same way. A file whose duration cannot be read (corrupt, or no duration in its header) weighs
its size at the corpus's mean seconds per byte, and fails in its worker as before.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from pipelines.data import storage
from pipelines.data.corpus import ManifestRow, balance
from pipelines.data.decode import stream_shape
from pipelines.data.storage import S3Settings

READERS = 16  # concurrent header reads: each is a few round trips to the store


def read_duration(row: ManifestRow, snippet_size: float, s3: S3Settings | None = None) -> float | None:
    """Seconds of footage by the file's header, or None where it cannot tell."""
    try:
        if row.kind == "features":
            return float(stream_shape(row.uri, s3)[0] * snippet_size)
        with storage.open_input(row.uri, s3) as f:
            import av  # PyAV: imported here, like decord, so that listing does not need it

            with av.open(f) as container:
                return container.duration / av.time_base if container.duration else None
    except Exception:  # noqa: BLE001 - a file that cannot be read is weighed by its size instead
        return None


def read_durations(rows: Sequence[ManifestRow], snippet_size: float,
                   s3: S3Settings | None = None) -> dict[str, float]:
    """video_id -> seconds, for the rows whose duration could be read."""
    with ThreadPoolExecutor(READERS) as pool:
        found = pool.map(lambda r: read_duration(r, snippet_size, s3), rows)
        return {r.video_id: d for r, d in zip(rows, found) if d is not None and d > 0}


def shares(rows: Sequence[ManifestRow], workers: int,
           durations: Mapping[str, float]) -> list[list[ManifestRow]]:
    """`pipelines.data.corpus.balance` by seconds; unknown durations estimated from size."""
    known = [r for r in rows if r.video_id in durations]
    bytes_known = sum(r.size for r in known)
    per_byte = sum(durations[r.video_id] for r in known) / bytes_known if bytes_known else 1.0
    return balance(rows, workers, weight=lambda r: durations.get(r.video_id, r.size * per_byte))
