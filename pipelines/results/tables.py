"""The result tables (`events`, `videos`, `runs`) as Parquet under one output URI, written in
commits so that a crashed or killed writer leaves nothing half-written visible.

Layout (an S3 prefix or a local folder)::

    <output>/events/commit=<id>/data.parquet
    <output>/videos/commit=<id>/data.parquet
    <output>/runs/commit=<id>/data.parquet
    <output>/_commits/<id>.json            the commit marker, written last

Why markers and not renames: S3 has no atomic rename, but one PUT is atomic (an object is
absent or complete, never partial). A writer puts every table file of a commit first and the
marker last (one PUT; on a local disk a temp file renamed into place). Readers list
`_commits/` once and open only files of committed ids, so the files of a writer killed before
its marker are never seen (`orphans()` lists them for clean-up). The segment job commits whole
videos (one batch at a time): a video's events and its `videos` row appear together or not at
all, and a re-run after a crash sees exactly the batches that finished.

Commit ids (`<ns since the epoch, 20 digits>-<random>`) sort by time. Where the same video and
model version was committed more than once (`--all`, a retried Ray task), readers keep the
latest commit (the `videos` and `events` views of `pipelines.results.query`).

`pipelines.results.compact` rewrites many commits into few large files that keep each row's
commit id; readers resolve what to open from both kinds of marker (`snapshot`,
`pipelines.results.compactions`).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipelines.data import storage
from pipelines.data.storage import S3Settings
from pipelines.results import compactions
from pipelines.results.compactions import Snapshot

COMMITS_DIR = "_commits"
DATA_FILE = "data.parquet"
COMMIT_COLUMN = "commit"  # from the folder name (hive style), or a column of compacted files

EVENTS_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("video_id", pa.string()), ("level", pa.int32()),
    ("event_index", pa.int32()), ("start_s", pa.float64()), ("end_s", pa.float64()),
    ("parent_index", pa.int32()), ("embedding", pa.list_(pa.float32())), ("model_version", pa.string()),
])
VIDEOS_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("video_id", pa.string()), ("uri", pa.string()), ("etag", pa.string()),
    ("duration_s", pa.float64()), ("frames", pa.int64()), ("status", pa.string()),  # "ok" | "failed"
    ("error", pa.string()), ("seconds", pa.float64()),
    ("model_version", pa.string()),  # nightly mode asks "done with this model?" without the runs table
    # per level, the demarcation score of each input in order (level 0: every sample after the
    # first; level l: every level l-1 event after the first), to re-cut later without the model
    ("scores", pa.list_(pa.list_(pa.float32()))),
    # the hard-cut change of every sample after the first (streamer_core.cuts), to re-cut scenes at
    # another model.hard_cut; empty when the model has no hard cuts, null in outputs from before it
    ("changes", pa.list_(pa.float32())),
])
COUNTS_TYPE = pa.struct([("ok", pa.int64()), ("failed", pa.int64()), ("skipped", pa.int64()),
                         ("events", pa.int64()), ("frames", pa.int64())])
RUNS_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("kind", pa.string()),
    ("started_at", pa.timestamp("us", tz="UTC")), ("finished_at", pa.timestamp("us", tz="UTC")),
    ("checkpoint", pa.string()), ("model_version", pa.string()), ("config", pa.string()),  # JSON
    ("counts", COUNTS_TYPE),
])
SCHEMAS = {"events": EVENTS_SCHEMA, "videos": VIDEOS_SCHEMA, "runs": RUNS_SCHEMA}
_COMMIT_ID = re.compile(r"^\d{20}-[0-9a-f]{8}$")


@dataclass(frozen=True)
class Counts:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    events: int = 0
    frames: int = 0


@dataclass(frozen=True)
class RunRecord:
    """One row of `runs`: what a job did, with which model and config."""

    run_id: str
    kind: str
    started_at: dt.datetime
    finished_at: dt.datetime
    checkpoint: str
    model_version: str
    config: dict
    counts: Counts

    def to_table(self) -> pa.Table:
        row = dict(self.__dict__, config=json.dumps(self.config, sort_keys=True, default=str),
                   counts=self.counts.__dict__)
        return pa.Table.from_pylist([row], schema=RUNS_SCHEMA)


def new_run_id(kind: str) -> str:
    """`<kind>-<UTC time>-<random>`: readable, sortable, unique."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{kind}-{stamp}-{uuid.uuid4().hex[:6]}"


def new_commit_id() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


def put_atomic(fs: pafs.FileSystem, path: str, data: bytes) -> None:
    """One object appears complete or not at all: one PUT on S3, a rename on a local disk."""
    if isinstance(fs, pafs.LocalFileSystem):
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with fs.open_output_stream(tmp) as out:
            out.write(data)
        fs.move(tmp, path)
        return
    with fs.open_output_stream(path) as out:
        out.write(data)


def write_commit(output: str, tables: Mapping[str, pa.Table], info: Mapping | None = None,
                 settings: S3Settings | None = None) -> str:
    """Writes each (non-empty) table's file, then the marker that makes them visible; returns the id."""
    fs, root = storage.filesystem(output, settings)
    commit_id = new_commit_id()
    local = isinstance(fs, pafs.LocalFileSystem)
    written = {}
    for name, table in tables.items():
        if name not in SCHEMAS:
            raise ValueError(f"unknown table {name!r}; known: {', '.join(SCHEMAS)}")
        if table.num_rows == 0:
            continue
        folder = f"{root}/{name}/{COMMIT_COLUMN}={commit_id}"
        if local:
            fs.create_dir(folder, recursive=True)
        pq.write_table(table.select(SCHEMAS[name].names).cast(SCHEMAS[name]), f"{folder}/{DATA_FILE}",
                       filesystem=fs)
        written[name] = table.num_rows
    if local:
        fs.create_dir(f"{root}/{COMMITS_DIR}", recursive=True)
    marker = {"commit": commit_id, "rows": written, **(info or {})}
    put_atomic(fs, f"{root}/{COMMITS_DIR}/{commit_id}.json", json.dumps(marker, default=str).encode())
    return commit_id


def check_writable(output: str, settings: S3Settings | None = None) -> None:
    """Writes and removes a small object beside the commit markers (never read as one): a
    read-only store or key fails here, before any work, as one `StoreReadOnly` line."""
    fs, root = storage.filesystem(output, settings)
    probe = f"{root}/{COMMITS_DIR}/.write-check-{uuid.uuid4().hex[:8]}"
    with storage.store_errors(output, settings):
        if isinstance(fs, pafs.LocalFileSystem):
            fs.create_dir(f"{root}/{COMMITS_DIR}", recursive=True)
        put_atomic(fs, probe, b"")
        fs.delete_file(probe)


def list_files(fs: pafs.FileSystem, folder: str) -> list[pafs.FileInfo]:
    selector = pafs.FileSelector(folder, recursive=True, allow_not_found=True)
    return [info for info in fs.get_file_info(selector) if info.type == pafs.FileType.File]


def committed_ids(output: str, settings: S3Settings | None = None) -> set[str]:
    fs, root = storage.filesystem(output, settings)
    names = (os.path.basename(info.path) for info in list_files(fs, f"{root}/{COMMITS_DIR}"))
    return {name[:-len(".json")] for name in names
            if name.endswith(".json") and _COMMIT_ID.match(name[:-len(".json")])}


def is_output(uri: str, settings: S3Settings | None = None) -> bool:
    """Whether `uri` is an output root written in commits (`_commits/` or `events/` below it),
    rather than a plain Parquet file or folder of one table."""
    fs, root = storage.filesystem(uri, settings)
    found = fs.get_file_info([f"{root}/{COMMITS_DIR}", f"{root}/events"])
    return any(info.type == pafs.FileType.Directory for info in found)


def data_files(fs: pafs.FileSystem, root: str, name: str) -> list[tuple[str, str]]:
    """(commit id, path) of every data file of a table, committed or not."""
    found = []
    for info in list_files(fs, f"{root}/{name}"):
        folder, base = os.path.split(info.path)
        leaf = os.path.basename(folder)
        if base == DATA_FILE and leaf.startswith(f"{COMMIT_COLUMN}="):
            found.append((leaf.split("=", 1)[1], info.path))
    return sorted(found)


def snapshot(output: str, settings: S3Settings | None = None) -> Snapshot:
    """What readers open now: the committed ids not yet rewritten, and the valid compactions."""
    fs, root = storage.filesystem(output, settings)
    return compactions.resolve(committed_ids(output, settings), compactions.read_markers(fs, root))


def dataset(output: str, name: str, settings: S3Settings | None = None,
            seen: Snapshot | None = None) -> ds.Dataset:
    """A table's committed rows as one pyarrow dataset, with a `commit` column (lazy: DuckDB and
    pyarrow scan only the columns and rows a query needs). Pass one `seen` snapshot to read
    several tables as of the same moment."""
    if name not in SCHEMAS:
        raise ValueError(f"unknown table {name!r}; known: {', '.join(SCHEMAS)}")
    fs, root = storage.filesystem(output, settings)
    seen = snapshot(output, settings) if seen is None else seen
    schema = SCHEMAS[name].append(pa.field(COMMIT_COLUMN, pa.string()))
    parts = []
    paths = [path for commit, path in data_files(fs, root, name) if commit in seen.commits]
    if paths:  # the commit id is the folder name
        partitioning = ds.partitioning(pa.schema([(COMMIT_COLUMN, pa.string())]), flavor="hive")
        parts.append(ds.dataset(paths, schema=schema, filesystem=fs, format="parquet",
                                partitioning=partitioning, partition_base_dir=f"{root}/{name}"))
    compacted = [f"{root}/{path}" for marker in seen.compactions for path in marker.files.get(name, ())]
    if compacted:  # the commit id is a column of the file
        parts.append(ds.dataset(compacted, schema=schema, filesystem=fs, format="parquet"))
    if not parts:
        return ds.dataset(schema.empty_table())
    return parts[0] if len(parts) == 1 else ds.dataset(parts)


def read_table(output: str, name: str, settings: S3Settings | None = None, columns=None,
               filter=None) -> pa.Table:
    return dataset(output, name, settings).to_table(columns=columns, filter=filter)


def done_videos(output: str, model_version: str, settings: S3Settings | None = None,
                statuses: tuple[str, ...] = ("ok",)) -> set[tuple[str, str]]:
    """(video_id, etag) whose latest committed row for this model version has one of `statuses`:
    what nightly mode skips."""
    table = read_table(output, "videos", settings, columns=["video_id", "etag", "status", COMMIT_COLUMN],
                       filter=ds.field("model_version") == model_version)
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for row in table.to_pylist():
        key = (row["video_id"], row["etag"])
        if key not in latest or row[COMMIT_COLUMN] > latest[key][0]:
            latest[key] = (row[COMMIT_COLUMN], row["status"])
    return {key for key, (_, status) in latest.items() if status in statuses}


def orphans(output: str, settings: S3Settings | None = None) -> list[str]:
    """Data files with no commit marker (left by killed writers; invisible to readers). A writer
    still running also has some: delete only those older than any run that may still be going."""
    fs, root = storage.filesystem(output, settings)
    commits = committed_ids(output, settings)
    return [path for name in SCHEMAS for commit, path in data_files(fs, root, name) if commit not in commits]
