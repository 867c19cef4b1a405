"""A video's event hierarchy as files players, editors and spreadsheets load, from the result
tables (`query.stored_video`) or from `InferenceModel` alike (both give a `Hierarchy`):

- `json`: the hierarchy (events with start/end seconds and parent, every level's scores);
- `csv`: one file per level, one row per event, in the model's seconds;
- `vtt`: WebVTT chapters, one file per level (a `<video>` track or a player loads them);
- `otio`: OpenTimelineIO, one track per level, each event a clip of the source media.

Players and editors cut on frames, and a sample taken at 0.5 s is the frame that starts nearest
it (`pipelines.data.decode`): 0.48 s at 12.5 fps, 0.5005 s at 29.97. So `vtt` and `otio` place
each event at the start of the frame it began with, read from the media itself (`FrameClock`):
WebVTT times are rounded up to the millisecond (so that seeking there shows that frame), OTIO
times are frame numbers at the stream's rate, or, on a variable frame rate, the frame's own time
at the average rate. A feature stream's frames are its rows (`pipelines.results.streams`).
"""
from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.data import storage
from pipelines.data.decode import FrameClock, open_video
from pipelines.data.storage import S3Settings
from pipelines.results import streams
from streamer_core import Hierarchy, InputError

FORMATS = ("json", "csv", "vtt", "otio")
NEED_MEDIA = ("vtt", "otio")  # cut on the media's frames
CSV_COLUMNS = ("level", "event_index", "start_s", "end_s", "parent_index")


def file_stem(video_id: str) -> str:
    """A flat file name for a video id or path (`part0/a.mp4` -> `part0__a.mp4`, no scheme)."""
    return re.sub(r"^[a-z0-9]+://", "", video_id).strip("/").replace("/", "__")


@contextmanager
def reading(uri: str) -> Iterator[None]:
    """Whatever fails inside as one InputError naming the media (a user error: one `error:` line)."""
    try:
        yield
    except Exception as exc:  # decord, numpy and S3 raise many types for a missing or broken file
        raise InputError(f"cannot read media {uri}: {' '.join(str(exc).split())[:300]}") from None


def media_clock(uri: str, duration_s: float, s3: S3Settings | None = None) -> FrameClock:
    """The media's frame times (a feature stream's: its rows over `duration_s`, the hierarchy's);
    an InputError naming it when it cannot be read."""
    with reading(uri):
        if streams.is_stream(uri):
            return streams.row_clock(uri, duration_s, s3)
        with open_video(uri, s3) as reader:
            return FrameClock.of(reader)


def frame_spans(hierarchy: Hierarchy, level: int, clock: FrameClock) -> list[tuple[int, int]]:
    """Each event of a level as [first frame, first frame of the next event); the last one runs to
    the frame count."""
    starts = [int(f) for f in clock.frame_at([e.start_s for e in hierarchy.levels[level]])]
    starts[0] = 0
    return list(zip(starts, starts[1:] + [len(clock.starts)]))


def _frame_time(clock: FrameClock, frame: int) -> float:
    return clock.duration_s if frame >= len(clock.starts) else float(clock.starts[frame])


def frame_times(hierarchy: Hierarchy, level: int, clock: FrameClock) -> list[tuple[float, float]]:
    """Each event of a level as [its first frame's start, the next event's), in seconds."""
    return [(_frame_time(clock, a), _frame_time(clock, b)) for a, b in frame_spans(hierarchy, level, clock)]


def seek_time(seconds: float) -> float:
    """A frame's start rounded up to the millisecond: seeking there shows that frame, not the one before."""
    return math.ceil(round(seconds * 1000, 3)) / 1000


def vtt_time(seconds: float) -> str:
    """hh:mm:ss.mmm of `seek_time`."""
    ms = round(seek_time(seconds) * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def event_title(hierarchy: Hierarchy, level: int, k: int) -> str:
    parent = hierarchy.levels[level][k].parent_index
    return f"L{level} #{k}" + (f" (in L{level + 1} #{parent})" if parent >= 0 else "")


def to_vtt(hierarchy: Hierarchy, level: int, clock: FrameClock) -> str:
    lines = [f"WEBVTT - {hierarchy.video_id}, level {level}", ""]
    for k, (start, end) in enumerate(frame_times(hierarchy, level, clock)):
        lines += [f"L{level}-{k}", f"{vtt_time(start)} --> {vtt_time(end)}", event_title(hierarchy, level, k), ""]
    return "\n".join(lines)


def to_otio(hierarchy: Hierarchy, media: str, clock: FrameClock):
    """An otio Timeline: one video track per level (finest first), an event per clip."""
    import opentimelineio as otio

    rate = clock.rate
    at = (lambda frame: float(frame)) if clock.constant_rate else (lambda frame: _frame_time(clock, frame) * rate)
    url = media if storage.is_s3(media) else Path(storage.local_path(media)).as_uri()
    whole = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                    otio.opentime.RationalTime(at(len(clock.starts)), rate))
    timeline = otio.schema.Timeline(name=hierarchy.video_id)
    for level, events in enumerate(hierarchy.levels):
        track = otio.schema.Track(name=f"level {level}", kind=otio.schema.TrackKind.Video)
        for k, (a, b) in enumerate(frame_spans(hierarchy, level, clock)):
            e = events[k]
            span = otio.opentime.TimeRange(otio.opentime.RationalTime(at(a), rate),
                                           otio.opentime.RationalTime(at(b) - at(a), rate))
            track.append(otio.schema.Clip(
                name=f"L{level} #{k}", source_range=span,
                media_reference=otio.schema.ExternalReference(target_url=url, available_range=whole),
                metadata={"streamer": {"level": level, "event_index": k, "parent_index": e.parent_index,
                                       "start_s": e.start_s, "end_s": e.end_s}}))
        timeline.tracks.append(track)
    return timeline


def to_json(hierarchy: Hierarchy, media: str) -> str:
    """`Hierarchy.to_json()` with where the media is and every level's per-input scores."""
    values = json.loads(hierarchy.to_json())
    return json.dumps({**values, "media": media, "scores": hierarchy.scores})


def write(hierarchy: Hierarchy, media: str, fmt: str, dest: str | Path, clock: FrameClock | None = None,
          s3: S3Settings | None = None) -> list[Path]:
    """Writes one video's files of a format into `dest` (`<file_stem>[.L<level>].<fmt>`); reads
    the media's frame times for vtt and otio unless a clock is given. Returns the paths."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / file_stem(hierarchy.video_id)
    if fmt in NEED_MEDIA and clock is None:
        clock = media_clock(media, hierarchy.duration_s, s3)
    levels = range(len(hierarchy.levels))
    if fmt == "json":
        paths = [stem.with_name(f"{stem.name}.json")]
        paths[0].write_text(to_json(hierarchy, media))
    elif fmt == "otio":
        import opentimelineio as otio

        paths = [stem.with_name(f"{stem.name}.otio")]
        otio.adapters.write_to_file(to_otio(hierarchy, media, clock), str(paths[0]))
    else:
        paths = [stem.with_name(f"{stem.name}.L{level}.{fmt}") for level in levels]
        for level, path in zip(levels, paths):
            if fmt == "vtt":
                path.write_text(to_vtt(hierarchy, level, clock))
                continue
            with open(path, "w", newline="") as f:
                out = csv.writer(f)
                out.writerow(CSV_COLUMNS)
                out.writerows((level, k, e.start_s, e.end_s, e.parent_index)
                              for k, e in enumerate(hierarchy.levels[level]))
    return paths
