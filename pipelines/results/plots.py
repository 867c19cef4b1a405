"""Timeline PNGs of segmented videos, read from the result tables: one row per level (coarsest on
top), event spans in alternating colours, time in seconds (drawn by `pipelines.results.timelines`)."""
from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.cli import UnknownNameError
from pipelines.results import query
from pipelines.results.levels import EVENT_COLUMNS, predicted_levels
from pipelines.results.timelines import draw_timeline


def draw_video(con: duckdb.DuckDBPyConnection, video_id: str, path: str | Path,
               model_version: str | None = None) -> Path:
    """Draws one video's latest events (of `model_version`, default the latest model); an
    `UnknownNameError` (a KeyError) when the results hold no events for it."""
    events = query.video_events(con, video_id, model_version)
    if events.num_rows == 0:
        raise UnknownNameError(f"no events for video {video_id!r}"
                               + (f" and model version {model_version!r}" if model_version else ""))
    (method, videos), = predicted_levels(events.select(EVENT_COLUMNS)).items()
    return draw_timeline(video_id, {}, {method: videos[video_id]}, path)


def file_name(video_id: str) -> str:
    """A flat file name for a video id with folders (`part0/a.mp4` -> `part0__a.mp4.png`)."""
    return video_id.replace("/", "__") + ".png"
