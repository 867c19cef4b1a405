"""Helpers shared by the corpus/decode tests: bad files, and streams gathered from chunk rows."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from pipelines.data.decode import DecodeSettings, iter_chunks

BAD_FILES = ("bad/corrupt.mp4", "bad/truncated.mp4", "bad/empty.mp4", "bad/text.mp4",
             "bad/features_3d.npy")


def write_bad_files(root: Path, good_video: Path) -> list[str]:
    """One file per kind of breakage, made from a good video; returns their video ids."""
    data = good_video.read_bytes()
    noise = np.random.default_rng(0).integers(0, 256, len(data) // 2, dtype=np.uint8).tobytes()
    contents = {
        "bad/corrupt.mp4": data[:2000] + noise + data[2000 + len(noise):],
        "bad/truncated.mp4": data[: len(data) // 2],
        "bad/empty.mp4": b"",
        "bad/text.mp4": b"this is not a video, only text\n" * 20,
    }
    for name, payload in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(payload)
    np.save(root / "bad/features_3d.npy", np.zeros((4, 2, 2), np.float32))
    return list(BAD_FILES)


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



def corrupt_middle(data: bytes, start: float = 0.5, fraction: float = 0.2) -> bytes:
    """Noise over ``fraction`` of the file from ``start``: it opens, then breaks part-way."""
    lo, n = int(len(data) * start), int(len(data) * fraction)
    noise = np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8).tobytes()
    return data[:lo] + noise + data[lo + n:]
