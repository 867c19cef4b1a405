"""Events rows -> per-level segmentations (what plots draw and evaluation scores) and back to
the model's `Hierarchy` (what exports and reports read, from the tables or from a model alike)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads

from pipelines.data import storage
from streamer_core import Event, Hierarchy
from streamer_core.metrics import Segmentation, Span, SpanError

EVENT_COLUMNS = ["run_id", "video_id", "level", "event_index", "start_s", "end_s", "model_version"]


def to_hierarchy(video_id: str, duration_s: float, rows: Iterable[Mapping], scores: Sequence = (),
                 changes: Sequence = ()) -> Hierarchy:
    """A video's `events` rows (`Hierarchy.to_rows()` or the table's) as its Hierarchy again."""
    levels: dict[int, list[Mapping]] = defaultdict(list)
    for row in rows:
        levels[int(row["level"])].append(row)
    events = [[Event(float(r["start_s"]), float(r["end_s"]), int(r["parent_index"]),
                     np.asarray(r.get("embedding") or [], np.float32))
               for r in sorted(levels[level], key=lambda r: r["event_index"])] for level in sorted(levels)]
    return Hierarchy(video_id, float(duration_s), events, [list(s) for s in scores or []], list(changes or []))

def read_events(uri: str) -> pa.Table:
    """The `events` table (a Parquet file or folder, local or s3://), without embeddings."""
    fs, path = storage.filesystem(uri)
    try:
        dataset = pads.dataset(path, filesystem=fs, format="parquet")
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no events table at {uri}: {exc}") from exc
    missing = [c for c in EVENT_COLUMNS if c not in dataset.schema.names]
    if missing:
        raise ValueError(f"{uri}: not an events table, missing {', '.join(missing)}")
    return dataset.to_table(columns=EVENT_COLUMNS)


def predicted_levels(events: pa.Table) -> dict[str, dict[str, list[Segmentation]]]:
    """method -> video -> levels (finest first). A method is a model_version, suffixed with
    ``@run_id`` when the table holds several runs of it, so runs are never mixed."""
    frame = events.to_pandas()
    runs = frame.groupby("model_version")["run_id"].nunique()
    out: dict[str, dict[str, list[Segmentation]]] = defaultdict(dict)
    for (version, run, video), rows in frame.groupby(["model_version", "run_id", "video_id"], sort=True):
        method = version if runs[version] == 1 else f"{version}@{run}"
        duration = float(rows["end_s"].max())
        levels = []
        for level in range(int(rows["level"].max()) + 1):
            part = rows[rows["level"] == level].sort_values("event_index")
            spans = tuple(Span(float(a), float(b)) for a, b in zip(part["start_s"], part["end_s"]))
            try:
                levels.append(Segmentation(video, duration, spans, level))
            except SpanError as exc:
                raise SpanError(f"{method}: {exc}") from exc
        out[method][video] = levels
    return dict(out)
