"""Static HTML pages to watch a video's event hierarchy: no server, no CDN, they work offline.

A video's page holds the video in a `<video>` element and one lane per level (coarsest on top),
each event drawn to scale with a thumbnail (the frame sampled at its middle, from the decoder,
embedded as a data URI). Clicking an event seeks the video to the start of the frame the event
began with (as the WebVTT export places it); while it plays, the current event of every level is
highlighted. The index page lists a run's videos: durations, events per level, failures with
their reasons, and links to the pages written.

The video plays from `media_src` when given (any URL the browser can load), else from the media
the events were cut from: a local file by its path relative to the page, an S3 object copied
beside the page (a browser cannot read s3://). A feature stream's page shows its rows instead
(`pipelines.results.streams`), each event's thumbnail its own rows, and a player only for
`media_src`; without one a click moves the playhead.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

import duckdb
from PIL import Image

from pipelines.data import storage
from pipelines.data.decode import FrameClock, keyframes
from pipelines.data.storage import S3Settings
from pipelines.results import export, streams
from streamer_core import Hierarchy

THUMB_WIDTH = 160
INDEX_FILE = "index.html"
PAGE_SCRIPT = Path(__file__).with_name("report.js")
PAGE_STYLE = Path(__file__).with_name("report.css")


def thumbnails(media: str, hierarchy: Hierarchy, s3: S3Settings | None = None) -> list[list[str]]:
    """Per level, per event: a JPEG data URI of the frame sampled at the event's middle."""
    middles = [(e.start_s + e.end_s) / 2 for events in hierarchy.levels for e in events]
    frames = iter(keyframes(media, middles, s3))
    return [[_data_uri(Image.fromarray(next(frames))) for _ in events] for events in hierarchy.levels]


def stream_thumbnails(picture, hierarchy: Hierarchy, clock: FrameClock) -> list[list[str]]:
    """Per level, per event of a feature stream: its own rows of the stream's picture (streams.heat),
    a pixel each (PNG; the page stretches them over the event, in line with the whole stream's)."""
    return [[_data_uri(Image.fromarray(picture[:, a:max(b, a + 1)]), "PNG")
             for a, b in export.frame_spans(hierarchy, level, clock)] for level in range(len(hierarchy.levels))]


def _data_uri(image: Image.Image, fmt: str = "JPEG") -> str:
    """A thumbnail (JPEG, at most THUMB_WIDTH a side), or a whole picture as it is (PNG)."""
    if fmt == "JPEG":
        image.thumbnail((THUMB_WIDTH, THUMB_WIDTH))
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(out.getvalue()).decode()


def _video_src(media: str, folder: Path, s3: S3Settings | None) -> str:
    """Where the page's `<video>` reads the media (see the module doc)."""
    if not storage.is_s3(media):
        return Path(os.path.relpath(storage.local_path(media), folder)).as_posix()
    copy = folder / "media" / export.file_stem(media)
    copy.parent.mkdir(parents=True, exist_ok=True)
    storage.copy_to_file(media, copy, s3)
    return f"media/{copy.name}"


def page_data(hierarchy: Hierarchy, clock: FrameClock, thumbs: list[list[str]]) -> dict:
    """What the page's script draws: per level, each event's seek time, end, title and thumbnail."""
    levels = []
    for level in range(len(hierarchy.levels)):
        spans = export.frame_times(hierarchy, level, clock)
        levels.append([{"start": export.seek_time(a), "end": b, "title": export.event_title(hierarchy, level, k),
                        "thumb": thumbs[level][k]} for k, (a, b) in enumerate(spans)])
    return {"video_id": hierarchy.video_id, "duration": clock.duration_s, "levels": levels}


def write_page(hierarchy: Hierarchy, media: str, dest: str | Path, media_src: str | None = None,
               s3: S3Settings | None = None) -> Path:
    """Writes `<dest>/<file_stem>.html` for one video or feature stream; returns its path. A
    feature stream's page shows its rows (streams.heat) above the lanes, and plays a video only
    where `media_src` names one (the footage its rows were computed from, say)."""
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    counts = ", ".join(f"L{level}: {len(events)}" for level, events in enumerate(hierarchy.levels))
    if streams.is_stream(media):
        with export.reading(media):  # the rows once: their count is the clock, their values the picture
            rows = streams.read_rows(media, s3)
        clock, picture = FrameClock.of_rows(len(rows), hierarchy.duration_s), streams.heat(rows)
        data = page_data(hierarchy, clock, stream_thumbnails(picture, hierarchy, clock))
        what = f"{clock.rate:.3f} rows/s, each column scaled to its own range; events {counts}"
        strip = _data_uri(Image.fromarray(picture), "PNG")
        top = (f'<div id="lanes" class="stream"><div class="lane"><div class="lane-name">rows</div><div class="track">'
               f'<img id="stream" class="stream" alt="the stream\'s columns over time" src="{strip}">'
               '</div></div></div>')
        src = media_src
    else:
        clock = export.media_clock(media, hierarchy.duration_s, s3)
        data = page_data(hierarchy, clock, thumbnails(media, hierarchy, s3))
        what, top = f"{clock.rate:.3f} fps; events {counts}", '<div id="lanes"></div>'
        src = media_src or _video_src(media, folder, s3)
    player = f'<video id="video" controls preload="auto" src="{html.escape(src)}"></video>\n' if src else ""
    embedded = json.dumps(data).replace("</", "<\\/")  # no "</script>" inside the script
    body = f"""<h1>{html.escape(hierarchy.video_id)}</h1>
<p class="meta">{clock.duration_s:.2f} s, {what}. Click an event to see it.
 <a href="{INDEX_FILE}">all videos</a></p>
{player}{top}
<script id="data" type="application/json">{embedded}</script>
<script>{PAGE_SCRIPT.read_text()}</script>"""
    path = folder / f"{export.file_stem(hierarchy.video_id)}.html"
    path.write_text(_document(hierarchy.video_id, body))
    return path


def _document(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{PAGE_STYLE.read_text()}</style></head>\n<body>\n{body}\n</body></html>\n")


INDEX_SQL = """
SELECT v.video_id, v.status, v.duration_s, v.error, v.model_version,
       list(e.n ORDER BY e.level) FILTER (WHERE e.level IS NOT NULL) AS events
FROM videos v LEFT JOIN (SELECT video_id, model_version, level, count(*) AS n FROM events GROUP BY ALL) e
  ON e.video_id = v.video_id AND e.model_version = v.model_version
GROUP BY ALL ORDER BY v.video_id, v.model_version"""


def write_index(con: duckdb.DuckDBPyConnection, dest: str | Path, title: str) -> Path:
    """`<dest>/index.html`: every video of the results, linked to its page where one is in `dest`."""
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for v in con.sql(INDEX_SQL).to_arrow_table().to_pylist():
        page = f"{export.file_stem(v['video_id'])}.html"
        name = html.escape(v["video_id"])
        link = f'<a href="{html.escape(page)}">{name}</a>' if (folder / page).exists() else name
        counts = " / ".join(str(n) for n in v["events"] or [])
        rows.append(f'<tr class="{v["status"]}"><td>{link}</td><td>{v["status"]}</td>'
                    f'<td class="num">{v["duration_s"]:.2f}</td><td class="num">{counts}</td>'
                    f'<td>{html.escape(v["model_version"])}</td><td>{html.escape(v["error"] or "")}</td></tr>')
    body = f"""<h1>{html.escape(title)}</h1>
<table id="videos"><thead><tr><th>video</th><th>status</th><th>seconds</th><th>events per level (L0 / L1 / ...)</th>
<th>model version</th><th>error</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>"""
    path = folder / INDEX_FILE
    path.write_text(_document(title, body))
    return path
