"""Checks shared by the held-out generators' tests (pipelines.sample.shots, pipelines.sample.photos)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks
from pipelines.sample.corpus import TRUTH_FILE, TRUTH_HEADER


def assert_written_as_drawn(out: Path, videos: list, render) -> None:
    """The corpus written to ``out`` lists exactly ``videos``; each decodes to its truth's duration
    (within a frame), and a decoded sample is the frame ``render(video, t)`` drew (within codec loss)."""
    with open(out / TRUTH_FILE) as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == TRUTH_HEADER
    ends: dict[str, float] = {}
    for r in rows[1:]:
        ends[r[0]] = max(ends.get(r[0], 0.0), float(r[3]))
    specs = {v.video_id: v for v in videos}
    listed = list_corpus(str(out))
    assert sorted(r.video_id for r in listed) == sorted(ends) == sorted(specs)
    for row in listed:
        video = specs[row.video_id]
        chunks = list(iter_chunks(row, DecodeSettings(image_size=video.size)))
        assert not chunks[-1]["error"]
        assert abs(chunks[-1]["duration_s"] - ends[row.video_id]) <= 1 / float(video.fps) + 1e-6
        t, frame = chunks[0]["t_sec"][3], chunks[0]["samples"][3]
        shown = render(video, math.floor(t * video.fps + 0.5) / video.fps)
        assert np.abs(frame.astype(np.float32) - shown).mean() < 6
