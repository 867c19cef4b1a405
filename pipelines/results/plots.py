"""Timeline PNGs of segmented videos, read from the result tables: one row per level (coarsest on
top), event spans in alternating colours, time in seconds, and a strip of the video's frames above
them when its media can still be read (a feature stream's rows instead; drawn by
`pipelines.results.timelines`)."""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from pipelines.cli import UnknownNameError
from pipelines.data.decode import keyframes
from pipelines.data.storage import S3Settings
from pipelines.results import query, streams
from pipelines.results.levels import EVENT_COLUMNS, predicted_levels
from pipelines.results.timelines import draw_timeline

FRAMES = 12  # frames in the strip above the levels
log = logging.getLogger(__name__)


def strip_frames(media: str, duration_s: float, count: int = FRAMES, s3: S3Settings | None = None) -> list:
    """`count` frames evenly spaced over the video as (time, image), or a feature stream's rows as
    one picture across its duration (streams.heat); none, with a warning, when the media cannot be
    read any more (the timeline is drawn without them)."""
    times = [(k + 0.5) * duration_s / count for k in range(count)]
    try:
        if streams.is_stream(media):
            return [(duration_s / 2, streams.heat(streams.read_rows(media, s3)))]
        return list(zip(times, keyframes(media, times, s3)))
    except Exception as exc:  # decord and S3 raise many types for a moved or broken file
        log.warning("timeline of %s without frames: %s", media, " ".join(str(exc).split())[:200])
        return []


def draw_video(con: duckdb.DuckDBPyConnection, video_id: str, path: str | Path,
               model_version: str | None = None, s3: S3Settings | None = None) -> Path:
    """Draws one video's latest events (of `model_version`, default the latest model); an
    `UnknownNameError` (a KeyError) when the results hold no events for it."""
    events = query.video_events(con, video_id, model_version)
    if events.num_rows == 0:
        raise UnknownNameError(f"no events for video {video_id!r}"
                               + (f" and model version {model_version!r}" if model_version else ""))
    (method, videos), = predicted_levels(events.select(EVENT_COLUMNS)).items()
    levels = videos[video_id]
    media = query.run(con, "SELECT uri FROM videos WHERE video_id = $v AND model_version = $m",
                      {"v": video_id, "m": events.column("model_version")[0].as_py()}).column(0)[0].as_py()
    return draw_timeline(video_id, {}, {method: levels}, path, strip_frames(media, levels[0].duration_s, s3=s3))


def file_name(video_id: str) -> str:
    """A flat file name for a video id with folders (`part0/a.mp4` -> `part0__a.mp4.png`)."""
    return video_id.replace("/", "__") + ".png"
