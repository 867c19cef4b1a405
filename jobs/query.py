"""Query the segment job's tables with DuckDB (local folder or s3:// prefix).

    python jobs/query.py --output s3://results/streamer "SELECT count(*) FROM events"
    python jobs/query.py --output s3://results/streamer --example at_time --param video_id=a.mp4 --param t=12.5
    python jobs/query.py --list          # the named examples and their SQL

Tables: events, videos (latest result per video and model version), events_all, videos_all, runs.
"""
from __future__ import annotations

import argparse
import json
import sys

import duckdb
import pandas as pd

from pipelines.results import query


def _value(text: str, default: object) -> object:
    """A --param value typed like the example's default (or as JSON, else text)."""
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        return type(default)(text)
    if isinstance(default, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _list_examples() -> None:
    for name, ex in query.EXAMPLES.items():
        params = " ".join(f"--param {k}={v!r}" for k, v in ex.params.items())
        print(f"-- {name}: {ex.about}  {params}\n{ex.sql};\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sql", nargs="?", help="a DuckDB statement ($name parameters allowed)")
    p.add_argument("--output", help="the segment job's --output")
    p.add_argument("--example", choices=sorted(query.EXAMPLES), help="run a named example")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--json", action="store_true", help="one JSON object per row")
    p.add_argument("--list", action="store_true", help="print the named examples")
    a = p.parse_args(argv)
    if a.list:
        _list_examples()
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
    try:
        table = query.example(con, a.example, **params) if a.example else query.run(con, a.sql, params)
    except duckdb.Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if a.json:
        for row in table.to_pylist():
            print(json.dumps(row, default=str))
    else:
        with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 60):
            print(table.to_pandas().to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
