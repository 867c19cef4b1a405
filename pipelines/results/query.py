"""The result tables in DuckDB, local or on S3, seen through their commits.

DuckDB cannot download its httpfs extension here, so each table's committed files are opened as
a pyarrow dataset (through `pipelines.data.storage`, which knows the S3 endpoint) and registered in
DuckDB, which scans only the columns and rows a query needs. Tables and views:

- `events_all`, `videos_all`, `runs`: every committed row (history; `commit` names its commit);
- `videos`: the latest committed row per (video_id, model_version), so a redone video counts once;
- `events`: the events of those latest `videos` rows (exactly one row set per video and model).

`EXAMPLES` are the README's queries; `$name` parameters are bound by DuckDB.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from pipelines.cli import UnknownNameError, UserError
from pipelines.data.storage import S3Settings
from pipelines.results import tables
from pipelines.results.levels import EVENT_COLUMNS, to_hierarchy
from streamer_core import Hierarchy

VIEWS = """
CREATE VIEW videos AS
  SELECT * FROM videos_all
  QUALIFY row_number() OVER (PARTITION BY video_id, model_version ORDER BY "commit" DESC) = 1;
CREATE VIEW events AS
  SELECT e.* FROM events_all e
  SEMI JOIN videos v ON e."commit" = v."commit" AND e.video_id = v.video_id;
"""


@dataclass(frozen=True)
class Example:
    sql: str
    about: str
    params: dict[str, object] = field(default_factory=dict)  # defaults; override with --param k=v


EXAMPLES: dict[str, Example] = {
    "summary": Example(
        """SELECT model_version, status, count(*) AS videos, round(sum(duration_s), 1) AS video_seconds,
       sum(frames) AS frames
FROM videos GROUP BY ALL ORDER BY ALL""",
        "videos per model version and status"),
    "levels": Example(
        """SELECT level, count(*) AS events, round(avg(end_s - start_s), 2) AS mean_length_s,
       round(min(end_s - start_s), 2) AS min_length_s, round(max(end_s - start_s), 2) AS max_length_s
FROM events WHERE video_id = $video_id GROUP BY level ORDER BY level""",
        "events of one video, per level", {"video_id": ""}),
    "events": Example(
        """SELECT level, event_index, start_s, end_s, parent_index
FROM events WHERE video_id = $video_id ORDER BY level, event_index""",
        "every event of one video by level", {"video_id": ""}),
    "longest": Example(
        """SELECT video_id, level, event_index, start_s, end_s, round(end_s - start_s, 2) AS length_s
FROM events ORDER BY length_s DESC, video_id, level, event_index LIMIT $k""",
        "the longest events", {"k": 10}),
    "at_time": Example(
        """SELECT level, event_index, start_s, end_s
FROM events WHERE video_id = $video_id AND start_s <= $t AND $t < end_s ORDER BY level""",
        "what was happening at time t (seconds) in a video: the event covering t on each level",
        {"video_id": "", "t": 0.0}),
    "failed": Example(
        """SELECT video_id, uri, error, run_id FROM videos WHERE status = 'failed' ORDER BY video_id""",
        "videos that could not be segmented, with the reason"),
    "similar": Example(
        """WITH target AS (
  SELECT model_version, embedding FROM events
  WHERE video_id = $video_id AND level = $level AND event_index = $event_index)
SELECT e.video_id, e.level, e.event_index, e.start_s, e.end_s,
       round(list_cosine_similarity(e.embedding, t.embedding), 4) AS similarity
FROM events e JOIN target t ON e.model_version = t.model_version
WHERE e.level = $level AND len(e.embedding) = len(t.embedding) AND len(t.embedding) > 0
ORDER BY similarity DESC, e.video_id, e.event_index LIMIT $k""",
        "top-k events most like a given event (cosine similarity of embeddings, same level and model)",
        {"video_id": "", "level": 0, "event_index": 0, "k": 5}),
    "hard_cuts": Example(
        """SELECT model_version, k * $snippet_s AS t, round(changes[k]::DOUBLE, 4) AS change
FROM (SELECT model_version, changes, unnest(range(1, len(changes) + 1)) AS k FROM videos WHERE video_id = $video_id)
WHERE changes[k] > $threshold ORDER BY model_version, t""",
        "where a video's scenes would be cut at another model.hard_cut: the samples whose change passes "
        "`threshold` (changes are kept only by models with hard cuts)",
        {"video_id": "", "threshold": 0.04, "snippet_s": 0.5}),
    "runs": Example(
        """SELECT run_id, kind, started_at, finished_at, model_version, counts FROM runs ORDER BY started_at""",
        "the jobs that wrote the tables"),
}


def connect(output: str, settings: S3Settings | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the tables and views of `output` (read once, at connect time).
    A `UserError` when `output` holds no committed results: a mistyped path must not read as
    "no events"."""
    seen = tables.snapshot(output, settings)
    if seen.is_empty:
        raise UserError(f"no results under {output} (no {tables.COMMITS_DIR}/ commit markers; "
                        "give the segment job's --output)")
    con = duckdb.connect()
    for name in tables.SCHEMAS:
        table = f"{name}_all" if name in ("events", "videos") else name
        con.register(table, tables.dataset(output, name, settings, seen))
    con.execute(VIEWS)
    return con


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pa.Table:
    """Runs one statement; only the parameters the statement names are bound."""
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    return con.sql(sql, params=used).to_arrow_table()


def example(con: duckdb.DuckDBPyConnection, name: str, **params) -> pa.Table:
    if name not in EXAMPLES:
        raise UnknownNameError(f"unknown example {name!r}; known: {', '.join(EXAMPLES)}")
    chosen = EXAMPLES[name]
    return run(con, chosen.sql, {**chosen.params, **params})


def video_events(con: duckdb.DuckDBPyConnection, video_id: str, model_version: str | None = None) -> pa.Table:
    """The latest events of one video (of one model version, or of the latest one that segmented it)."""
    sql = """SELECT * FROM events WHERE video_id = $video_id AND model_version = coalesce($model_version,
               (SELECT model_version FROM videos WHERE video_id = $video_id AND status = 'ok'
                ORDER BY "commit" DESC LIMIT 1))
             ORDER BY level, event_index"""
    return con.sql(sql, params={"video_id": video_id, "model_version": model_version}).to_arrow_table()


@dataclass(frozen=True)
class StoredVideo:
    """One segmented video as the tables hold it: what exports and reports start from."""

    hierarchy: Hierarchy
    uri: str  # where the segment job read the media
    model_version: str


def stored_video(con: duckdb.DuckDBPyConnection, video_id: str, model_version: str | None = None) -> StoredVideo:
    """A video's latest ok result (of `model_version`, default the latest model that segmented it),
    scores included; an `UnknownNameError` when there is none."""
    sql = """SELECT * FROM videos WHERE video_id = $video_id AND status = 'ok'
               AND model_version = coalesce($model_version, model_version) ORDER BY "commit" DESC LIMIT 1"""
    found = con.sql(sql, params={"video_id": video_id, "model_version": model_version}).to_arrow_table().to_pylist()
    if not found:
        raise UnknownNameError(f"no result for video {video_id!r}"
                               + (f" and model version {model_version!r}" if model_version else ""))
    video = found[0]
    events = video_events(con, video_id, video["model_version"]).to_pylist()
    hierarchy = to_hierarchy(video_id, video["duration_s"], events, video["scores"] or [], video["changes"] or [])
    return StoredVideo(hierarchy, video["uri"], video["model_version"])


def latest_events(output: str, settings: S3Settings | None = None) -> pa.Table:
    """Every video's latest events per model version (the `events` view), without embeddings:
    what evaluation scores. One method per model version, however many runs wrote its videos."""
    columns = ", ".join('model_version AS run_id' if c == "run_id" else c for c in EVENT_COLUMNS)
    return connect(output, settings).sql(f"SELECT {columns} FROM events").to_arrow_table()
