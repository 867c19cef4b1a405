"""Listing a corpus (an S3 prefix or a local folder) into manifest rows, and balancing them.

A row's ``video_id`` is the key relative to the listed prefix, so the same footage gets the same
id on every run; ``etag`` (S3 ETag, or mtime and size for local files) is what "new footage"
is judged by.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass

from botocore.exceptions import BotoCoreError, ClientError

from pipelines.data import storage
from pipelines.data.storage import S3Settings

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm")
FEATURE_SUFFIXES = (".npy",)


@dataclass(frozen=True)
class ManifestRow:
    """One listed object: a video file or a ``[T, F]`` feature stream."""

    video_id: str
    uri: str
    size: int
    etag: str
    kind: str  # "video" | "features"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def coerce(cls, row: ManifestRow | Mapping) -> ManifestRow:
        """Accept a row or its dict form (Ray Data passes dicts)."""
        if isinstance(row, cls):
            return row
        return cls(video_id=str(row["video_id"]), uri=str(row["uri"]), size=int(row["size"]),
                   etag=str(row["etag"]), kind=str(row["kind"]))


def kind_of(name: str) -> str | None:
    """``"video"``, ``"features"`` or None (not part of the corpus), by file suffix."""
    lower = name.lower()
    if lower.endswith(VIDEO_SUFFIXES):
        return "video"
    if lower.endswith(FEATURE_SUFFIXES):
        return "features"
    return None


def list_corpus(uri: str, settings: S3Settings | None = None) -> list[ManifestRow]:
    """All videos and feature streams below ``uri``, recursively, sorted by ``video_id``.

    Raises FileNotFoundError (missing folder or bucket), ConnectionError (unreachable
    endpoint) or PermissionError, each naming the URI.
    """
    rows = _list_s3(uri, settings) if storage.is_s3(uri) else _list_local(uri)
    return sorted(rows, key=lambda r: r.video_id)


def _list_local(uri: str) -> list[ManifestRow]:
    root = storage.local_path(uri)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"corpus folder not found: {uri}")
    rows = []
    for folder, _, names in os.walk(root):
        for name in names:
            kind = kind_of(name)
            if kind is None:
                continue
            path = os.path.join(folder, name)
            stat = os.stat(path)
            rows.append(ManifestRow(
                video_id=os.path.relpath(path, root).replace(os.sep, "/"),
                uri=path,
                size=stat.st_size,
                etag=f"mtime:{stat.st_mtime_ns}:size:{stat.st_size}",
                kind=kind,
            ))
    return rows


def _list_s3(uri: str, settings: S3Settings | None) -> list[ManifestRow]:
    bucket, prefix = storage.split_s3(uri)
    prefix = prefix.strip("/")
    key_prefix = f"{prefix}/" if prefix else ""
    pages = storage.s3_client(settings).get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=key_prefix)
    try:
        objects = [obj for page in pages for obj in page.get("Contents", [])]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise FileNotFoundError(f"bucket not found: {uri}") from exc
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise PermissionError(f"access denied ({code}) listing {uri}") from exc
        raise
    except BotoCoreError as exc:
        raise ConnectionError(f"cannot reach S3 listing {uri}: {exc}") from exc
    rows = []
    for obj in objects:
        key = obj["Key"]
        kind = kind_of(key)
        if kind is None or key.endswith("/"):
            continue
        rows.append(ManifestRow(
            video_id=key[len(key_prefix):],
            uri=f"s3://{bucket}/{key}",
            size=int(obj["Size"]),
            etag=str(obj.get("ETag", "")).strip('"'),
            kind=kind,
        ))
    return rows


def balance(
    rows: Iterable[ManifestRow],
    n_workers: int,
    weight: Callable[[ManifestRow], float] = lambda row: row.size,
) -> list[list[ManifestRow]]:
    """Whole videos per worker, greedy longest-first onto the lightest worker.

    ``weight`` defaults to the size in bytes; pass durations where known. Deterministic: ties
    go to the lower worker index, and each worker's list is in ``video_id`` order.
    """
    if n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    loads = [(0.0, w) for w in range(n_workers)]
    assigned: list[list[ManifestRow]] = [[] for _ in range(n_workers)]
    for row in sorted(rows, key=lambda r: (-weight(r), r.video_id)):
        load, worker = heapq.heappop(loads)
        assigned[worker].append(row)
        heapq.heappush(loads, (load + weight(row), worker))
    return [sorted(videos, key=lambda r: r.video_id) for videos in assigned]
