"""Broken input files, shared by the decode, segment and training tests: every job must give each
of them a failure of its own and carry on with the others."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

MP4_GARBAGE = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8  # an MP4 signature, then no video
NOT_A_VIDEO = b"this is not a video, only text\n" * 20


def corrupt_middle(data: bytes, start: float = 0.5, fraction: float = 0.2, seed: int = 1) -> bytes:
    """Noise over ``fraction`` of the file from ``start``: it opens, then breaks part-way."""
    lo, n = int(len(data) * start), int(len(data) * fraction)
    noise = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()
    return data[:lo] + noise + data[lo + n:]


def broken_copies(good: bytes) -> dict[str, bytes]:
    """Files named by their breakage that fail before their first sample, two made from a good
    video's bytes (noise over half of it, its first half alone)."""
    return {"corrupt.mp4": corrupt_middle(good, start=0.02, fraction=0.5, seed=0),
            "truncated.mp4": good[: len(good) // 2], "empty.mp4": b"", "text.mp4": NOT_A_VIDEO,
            "garbage.mp4": MP4_GARBAGE}


def write_files(root: Path, files: Mapping[str, bytes]) -> list[str]:
    """Writes each relative path's bytes below ``root``; returns the paths (the video ids)."""
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return list(files)
