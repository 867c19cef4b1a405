"""Hierarchies without a model (a sample video's planted truth as its events) and result tables
written from them: what the export and report tests start from."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.results import tables
from streamer_core import Hierarchy


def hierarchy_with(video_id: str, duration_s: float, cuts: Sequence[Sequence[float]]) -> Hierarchy:
    """A Hierarchy cut at `cuts` (per level, finest first): each event gets a small embedding of
    its own, each level a score per event."""
    embeddings = [[np.full(4, k, np.float32) for k in range(len(level) + 1)] for level in cuts]
    scores = [[0.1 * k for k in range(len(level) + 1)] for level in cuts]
    return Hierarchy.from_boundaries(video_id, duration_s, [list(c) for c in cuts], embeddings, scores)


def hierarchy_from_truth(video_id: str, truth: Sequence[tuple]) -> Hierarchy:
    """`truth_rows` (video_id, level, start_s, end_s, label) as a Hierarchy: each level's starts are its cuts."""
    levels = sorted({row[1] for row in truth})
    spans = [[(row[2], row[3]) for row in truth if row[1] == level] for level in levels]
    return hierarchy_with(video_id, max(end for _, end in spans[0]), [[a for a, _ in level[1:]] for level in spans])


def write_results(output: Path, videos: Sequence[tuple[Hierarchy, str]], failed: Mapping[str, str] = {},
                  version: str = "v1") -> Path:
    """One commit of `videos` (hierarchy, media) as ok results and `failed` (video_id: error) as failures."""
    base = {"run_id": "r1", "etag": "", "seconds": 1.0, "model_version": version, "changes": []}
    rows = [{**base, "video_id": h.video_id, "uri": media, "duration_s": h.duration_s, "frames": 1, "status": "ok",
             "error": "", "scores": h.scores} for h, media in videos]
    rows += [{**base, "video_id": v, "uri": v, "duration_s": 0.0, "frames": 0, "status": "failed", "error": error,
              "scores": []} for v, error in failed.items()]
    events = [{**row, "run_id": "r1", "model_version": version} for h, _ in videos for row in h.to_rows()]
    tables.write_commit(str(output), {"videos": pa.Table.from_pylist(rows, schema=tables.VIDEOS_SCHEMA),
                                      "events": pa.Table.from_pylist(events, schema=tables.EVENTS_SCHEMA)})
    return output
