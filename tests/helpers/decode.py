"""Helpers shared by the corpus/decode tests: bad files, and streams gathered from chunk rows."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from helpers.bad_files import broken_copies, write_files
from pipelines.data.decode import DecodeSettings, iter_chunks


def write_bad_files(root: Path, good_video: Path) -> list[str]:
    """Every broken file of `helpers.bad_files` under bad/, plus a feature file of the wrong
    rank; returns their video ids."""
    names = write_files(root, {f"bad/{name}": data for name, data in broken_copies(good_video.read_bytes()).items()})
    np.save(root / "bad/features_3d.npy", np.zeros((4, 2, 2), np.float32))
    return [*names, "bad/features_3d.npy"]


def gather(rows) -> dict[str, list[dict]]:
    """Chunk rows grouped by video, in the order they arrived."""
    videos: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        videos[row["video_id"]].append(row)
    return dict(videos)


def decode_all(manifest, settings: DecodeSettings, s3=None) -> dict[str, list[dict]]:
    return gather(chunk for row in manifest for chunk in iter_chunks(row, settings, s3))


def assert_well_ordered(chunks: list[dict], settings: DecodeSettings) -> None:
    """Chunk indices 0..n-1, only the last flagged, times i * snippet_size in order."""
    assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
    assert [c["is_last"] for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert all(len(c["t_sec"]) <= settings.chunk_frames for c in chunks)
    times = np.concatenate([c["t_sec"] for c in chunks])
    np.testing.assert_allclose(times, np.arange(len(times)) * settings.snippet_size)
    assert all(c["error"] == "" for c in chunks)


def assert_same_streams(a: dict[str, list[dict]], b: dict[str, list[dict]]) -> None:
    """Same videos, same chunks, identical samples (errors compared by their kind only)."""
    assert sorted(a) == sorted(b)
    for video_id in a:
        assert len(a[video_id]) == len(b[video_id]), video_id
        for x, y in zip(a[video_id], b[video_id]):
            assert x["chunk_index"] == y["chunk_index"] and x["is_last"] == y["is_last"]
            assert x["duration_s"] == y["duration_s"]
            assert x["error"].split(":")[0] == y["error"].split(":")[0]
            np.testing.assert_array_equal(x["t_sec"], y["t_sec"])
            np.testing.assert_array_equal(x["samples"], y["samples"])

