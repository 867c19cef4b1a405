"""The segment job's tables from the command line: DuckDB queries (`query_main`), timeline PNGs
(`plot_main`), exports (`export_main`) and HTML pages (`report_main`); all read an --output root
(local folder or s3:// prefix) through its commits."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from pipelines import cli

if TYPE_CHECKING:
    from pipelines.results.query import StoredVideo

QUERY_DOC = """Query the segment job's tables with DuckDB (local folder or s3:// prefix).

    streamer-query --output s3://results/streamer "SELECT count(*) FROM events"
    streamer-query --output s3://results/streamer --example at_time --param video_id=a.mp4 --param t=12.5
    streamer-query --list          # the named examples and their SQL

Tables: events, videos (latest result per video and model version), events_all, videos_all, runs.
A path that holds no results is an error, not an empty table.
"""

PLOT_DOC = """Draw the event timeline of one video from the segment job's tables (PNG: one row per level).

    streamer-plot --output s3://results/streamer --video part0/video_000.mp4 [--model-version V] \\
        [--out timeline.png]
"""


EXPORT_DOC = """Export videos' event hierarchies from the segment job's tables, for players and editors.

    streamer-export --output s3://results/streamer --video part0/video_000.mp4 --format vtt --dest chapters/
    streamer-export --output s3://results/streamer --all --format otio --dest timelines/

Formats: json (the hierarchy), csv and vtt (one file per level: rows, WebVTT chapters), otio
(OpenTimelineIO, one track per level); vtt and otio read the media's frame times, so the cuts
fall on frames. A video that cannot be exported is one `error:` line; the others are still
written, and the status is 2. The last stdout line is a JSON summary.
"""

REPORT_DOC = """Write static HTML pages to watch videos' event hierarchies (no server; open them in a browser).

    streamer-report --output s3://results/streamer --video part0/video_000.mp4 [--media URI] --dest report/
    streamer-report --output s3://results/streamer --all --dest report/

A page per video (the video, a lane per level with each event's thumbnail; click an event to see
it) and index.html over every video of the results (durations, events, failures with reasons).
A video that cannot be drawn is one `error:` line; the others are still written, and the status
is 2. The last stdout line is a JSON summary.
"""


def _value(text: str, default: object) -> object:
    """A --param value typed like the example's default (or as JSON, else text)."""
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            return type(default)(text)
        except ValueError:
            raise cli.UserError(f"--param {text!r}: expected a {type(default).__name__}") from None
    if isinstance(default, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def query_parser() -> cli.Parser:
    from pipelines.results.query import EXAMPLES

    p = cli.parser(QUERY_DOC)
    p.add_argument("sql", nargs="?", help="a DuckDB statement ($name parameters allowed)")
    p.add_argument("--output", help="the segment job's --output")
    p.add_argument("--example", choices=sorted(EXAMPLES), help="run a named example")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a $name parameter of the statement or example, repeatable")
    p.add_argument("--json", action="store_true", help="one JSON object per row")
    p.add_argument("--list", action="store_true", help="print the named examples")
    return p


@cli.command
def query_main(argv: list[str] | None = None) -> int:
    from pipelines.results import query

    p = query_parser()
    a = cli.parse(p, argv)
    if a.list:
        for name, ex in query.EXAMPLES.items():
            params = " ".join(f"--param {k}={v!r}" for k, v in ex.params.items())
            print(f"-- {name}: {ex.about}  {params}\n{ex.sql};\n")
        return 0
    if not a.output or bool(a.sql) == bool(a.example):
        p.error("give --output and either SQL or --example")
    defaults = query.EXAMPLES[a.example].params if a.example else {}
    params = {}
    for item in a.param:
        name, sep, text = item.partition("=")
        if not sep:
            p.error(f"--param {item!r}: expected NAME=VALUE")
        params[name] = _value(text, defaults.get(name))
    con = query.connect(a.output)
    table = query.example(con, a.example, **params) if a.example else query.run(con, a.sql, params)
    if a.json:
        for row in table.to_pylist():
            print(json.dumps(row, default=str))
    else:
        with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 60):
            print(table.to_pandas().to_string(index=False))
    return 0


def plot_parser() -> cli.Parser:
    p = cli.parser(PLOT_DOC)
    p.add_argument("--output", required=True, help="the segment job's --output")
    p.add_argument("--video", required=True, help="video_id, as in the tables")
    p.add_argument("--model-version", help="default: the latest model that segmented the video")
    p.add_argument("--out", help="PNG path (default: <video id with __ for />.png)")
    return p


@cli.command
def plot_main(argv: list[str] | None = None) -> int:
    from pipelines.results import plots, query

    a = cli.parse(plot_parser(), argv)
    path = plots.draw_video(query.connect(a.output), a.video, a.out or plots.file_name(a.video), a.model_version)
    print(path)
    return 0


def _videos_parser(doc: str) -> cli.Parser:
    """--output, --video/--all, --model-version, --dest: what export and report share."""
    p = cli.parser(doc)
    p.add_argument("--output", required=True, help="the segment job's --output")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--video", action="append", metavar="ID", help="video_id, as in the tables; repeatable")
    which.add_argument("--all", action="store_true", help="every video segmented without error")
    p.add_argument("--model-version", help="default: the latest model that segmented each video")
    p.add_argument("--dest", required=True, help="folder to write into")
    return p


def for_each_video(con, a: argparse.Namespace, write: Callable[[StoredVideo], list[str]]) -> dict:
    """Runs `write` on each chosen video; a user error costs that video only (one `error:` line)."""
    from pipelines.results import query

    ids = a.video or query.run(con, "SELECT DISTINCT video_id FROM videos WHERE status = 'ok' ORDER BY 1"
                               ).column(0).to_pylist()
    written, failed = [], {}
    for video_id in ids:
        try:
            paths = write(query.stored_video(con, video_id, a.model_version))
        except cli.USER_ERRORS as exc:
            failed[video_id] = cli.one_line(exc)
            print(f"error: {video_id}: {failed[video_id]}", file=sys.stderr, flush=True)
            continue
        for path in paths:
            print(path)
        written += paths
    return {"written": written, "failed": failed}


def export_parser() -> cli.Parser:
    from pipelines.results.export import FORMATS

    p = _videos_parser(EXPORT_DOC)
    p.add_argument("--format", required=True, choices=FORMATS, help="what to write (see above)")
    return p


@cli.command
def export_main(argv: list[str] | None = None) -> int:
    from pipelines.results import export, query

    a = cli.parse(export_parser(), argv)
    con = query.connect(a.output)
    summary = for_each_video(con, a, lambda v: [str(p) for p in export.write(v.hierarchy, v.uri, a.format, a.dest)])
    print(json.dumps(summary))
    return 2 if summary["failed"] else 0


def report_parser() -> cli.Parser:
    p = _videos_parser(REPORT_DOC)
    p.add_argument("--media", metavar="URI", help="what the page plays (with one --video; default: the "
                   "file the video was segmented from, copied beside the page when in S3)")
    return p


@cli.command
def report_main(argv: list[str] | None = None) -> int:
    from pipelines.results import query, report

    p = report_parser()
    a = cli.parse(p, argv)
    if a.media and len(a.video or []) != 1:
        p.error("--media goes with exactly one --video")
    con = query.connect(a.output)
    summary = for_each_video(con, a, lambda v: [str(report.write_page(v.hierarchy, v.uri, a.dest, a.media))])
    summary["index"] = str(report.write_index(con, a.dest, f"STREAMER results: {a.output}"))
    print(summary["index"])
    print(json.dumps(summary))
    return 2 if summary["failed"] else 0
