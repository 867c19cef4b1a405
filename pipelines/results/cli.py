"""The segment job's tables from the command line: DuckDB queries (`query_main`) and timeline
PNGs (`plot_main`); both read an --output root (local folder or s3:// prefix) through its commits."""
from __future__ import annotations

import json

import pandas as pd

from pipelines import cli

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
