"""Compaction: each table's many small commits rewritten into few large files, atomically.

The segment job commits once per batch of videos, so an archive grows by thousands of files of a
few KB, which DuckDB and S3 listings read an order of magnitude slower than files of 100 MB+ with
row groups of 100K-1M rows. `compact` rewrites them, with the commit-marker idea of
`pipelines.results.tables` (the rules readers follow are in `pipelines.results.compactions`):

1. clean: delete what no reader can need any more (below);
2. plan: the commits readers open now, and earlier compactions smaller than the target (merged
   again, so nightly compactions do not pile up small files);
3. write: every table's rows of the plan, streamed, into `<table>/compaction=<id>/part-<k>.parquet`
   of about `target_bytes` each, row groups of up to 1M rows and 256 MiB, each row keeping its
   commit id (the views' "latest commit wins" and the history views read it as before);
4. commit: the marker, one atomic PUT. From then on readers open the new files instead of the old
   ones: never both, never neither. A compaction past its grace period gives up instead.

Killed anywhere, nothing changes for readers: before its marker its files are never opened; after
it, the old files are ignored. Two compactions at once: the first by id wins, the other's files
are never read. Deleting is deferred: the files a compaction replaced are kept for two grace
periods after it started (one for any compaction that started earlier to commit or give up, one
for readers that listed the old files), then step 1 of a later run deletes them, data files before
the markers that name them, so a re-run after a kill finishes any step. Commits written while a
compaction runs are not in its plan and stay readable as they are.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipelines.cli import UserError, one_line
from pipelines.data import storage
from pipelines.data.storage import S3Settings
from pipelines.results import compactions, tables
from pipelines.results.compactions import Compaction, Snapshot

log = logging.getLogger(__name__)

TARGET_BYTES = 256 << 20
GRACE_S = 3600.0
ROW_GROUP_ROWS = 1_000_000
ROW_GROUP_BYTES = 256 << 20  # of rows in memory: bounds what a compaction holds at once
STOPPED = "readers see the tables as before or as compacted, never a mix: run the compaction again to finish"


class CompactionTooLate(UserError):
    """A compaction that could not commit within its grace period (nothing changed)."""


@dataclass(frozen=True)
class Plan:
    """What one compaction rewrites."""

    id: str
    commits: frozenset[str]
    merged: tuple[Compaction, ...] = ()  # earlier small compactions

    @property
    def holds(self) -> frozenset[str]:
        return self.commits.union(*(m.holds | {m.id} for m in self.merged))

    @property
    def source(self) -> Snapshot:
        """The plan as a reader's snapshot: what `tables.dataset` streams the rows from."""
        return Snapshot(self.commits, self.merged)


@dataclass(frozen=True)
class CompactSummary:
    output: str
    compaction: str | None  # None: nothing to compact
    tables: dict[str, dict[str, int]]  # name -> files_before, files_after, rows
    deleted_files: int
    seconds: float


@dataclass
class _Parts:
    """Buffers batches into row groups and row groups into part files of about `target_bytes`."""

    fs: pafs.FileSystem
    folder: str
    schema: pa.Schema
    target_bytes: int
    paths: list[str] = field(default_factory=list)
    rows: int = 0
    _buffer: list[pa.RecordBatch] = field(default_factory=list)
    _buffered_rows: int = 0
    _buffered_bytes: int = 0
    _stream: pa.NativeFile | None = None
    _writer: pq.ParquetWriter | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        self._buffer.append(batch)
        self._buffered_rows += batch.num_rows
        self._buffered_bytes += batch.nbytes
        if self._buffered_rows >= ROW_GROUP_ROWS or self._buffered_bytes >= min(ROW_GROUP_BYTES, self.target_bytes):
            self._write_group()

    def _write_group(self) -> None:
        group = pa.Table.from_batches(self._buffer, self.schema)
        self._buffer, self._buffered_rows, self._buffered_bytes = [], 0, 0
        if group.num_rows == 0:
            return
        if self._writer is None:
            self.paths.append(f"{self.folder}/part-{len(self.paths):05d}.parquet")
            self._stream = self.fs.open_output_stream(self.paths[-1])
            self._writer = pq.ParquetWriter(self._stream, self.schema)
        self._writer.write_table(group, row_group_size=group.num_rows)
        self.rows += group.num_rows
        if self._stream.tell() >= self.target_bytes:
            self._close_file()

    def _close_file(self) -> None:
        self._writer.close()
        self._stream.close()
        self._writer = self._stream = None

    def close(self) -> list[str]:
        self._write_group()
        if self._writer is not None:
            self._close_file()
        return self.paths


def plan(output: str, settings: S3Settings | None = None, target_bytes: int = TARGET_BYTES) -> Plan | None:
    """Step 2; None when there is nothing worth rewriting (fewer than two things to merge)."""
    seen = tables.snapshot(output, settings)
    merged = tuple(m for m in seen.compactions if m.bytes < target_bytes)
    if len(seen.commits) + len(merged) < 2:
        return None
    return Plan(tables.new_commit_id(), seen.commits, merged)


def write_table(output: str, chosen: Plan, name: str, settings: S3Settings | None = None,
                target_bytes: int = TARGET_BYTES) -> tuple[tuple[str, ...], int]:
    """Step 3 for one table: its part files (paths relative to the output root) and rows."""
    fs, root = storage.filesystem(output, settings)
    source = tables.dataset(output, name, settings, chosen.source)
    folder = compactions.folder(root, name, chosen.id)
    if isinstance(fs, pafs.LocalFileSystem):
        fs.create_dir(folder, recursive=True)
    parts = _Parts(fs, folder, source.schema, target_bytes)
    for batch in source.to_batches():
        parts.add(batch)
    return tuple(path[len(root) + 1:] for path in parts.close()), parts.rows


def write(output: str, chosen: Plan, settings: S3Settings | None = None,
          target_bytes: int = TARGET_BYTES) -> Compaction:
    """Step 3: every table's files; the marker that would make them visible (not yet written)."""
    fs, root = storage.filesystem(output, settings)
    written = {name: write_table(output, chosen, name, settings, target_bytes) for name in tables.SCHEMAS}
    files = {name: paths for name, (paths, _) in written.items() if paths}
    size = sum(info.size for info in fs.get_file_info([f"{root}/{p}" for ps in files.values() for p in ps]))
    return Compaction(chosen.id, chosen.holds, files, {name: written[name][1] for name in files}, size)


def commit(output: str, marker: Compaction, settings: S3Settings | None = None, grace_s: float = GRACE_S) -> None:
    """Step 4: the marker, unless the grace period is over (an earlier-started compaction may
    then already have deleted what this one read: see the module doc)."""
    took = time.time() - compactions.id_seconds(marker.id)
    if took > grace_s:
        raise CompactionTooLate(f"compaction {marker.id} took {took:.0f} s, past its grace period of "
                                f"{grace_s:.0f} s; nothing changed (a later run removes its files): "
                                "run it again with a longer --grace-minutes")
    fs, root = storage.filesystem(output, settings)
    if isinstance(fs, pafs.LocalFileSystem):
        fs.create_dir(f"{root}/{compactions.COMPACTIONS_DIR}", recursive=True)
    tables.put_atomic(fs, compactions.marker_path(root, marker.id), marker.to_json())


def garbage(output: str, settings: S3Settings | None = None, grace_s: float = GRACE_S,
            now: float | None = None) -> list[str]:
    """What step 1 deletes, in a safe order: data files, then the markers of void compactions,
    then those of what valid ones replaced (a marker goes only after the files it names)."""
    fs, root = storage.filesystem(output, settings)
    now = time.time() if now is None else now
    seen = tables.snapshot(output, settings)

    def ripe(compaction_id: str) -> bool:
        return now - compactions.id_seconds(compaction_id) > 2 * grace_s

    replaced = {i for i, by in seen.claimed_by.items() if ripe(by)}
    old = [m for m in seen.void if ripe(m.id)] + [m for m in seen.superseded if m.id in replaced]
    marked = {m.id for m in seen.compactions + seen.superseded + seen.void}
    files = [f"{root}/{path}" for m in old for paths in m.files.values() for path in paths]
    for name in tables.SCHEMAS:
        files += [path for commit_id, path in tables.data_files(fs, root, name) if commit_id in replaced]
        for info in tables.list_files(fs, f"{root}/{name}"):
            unmarked = compactions.folder_id(info.path.rsplit("/", 1)[0])
            if unmarked and unmarked not in marked and ripe(unmarked):  # a killed or late compaction
                files.append(info.path)
    markers = [compactions.marker_path(root, m.id) for m in seen.void if ripe(m.id)]
    markers += [compactions.marker_path(root, m.id) for m in seen.superseded if m.id in replaced]
    committed = tables.committed_ids(output, settings)
    markers += [f"{root}/{tables.COMMITS_DIR}/{i}.json" for i in sorted(replaced & committed)]
    return files + markers


def clean(output: str, settings: S3Settings | None = None, grace_s: float = GRACE_S,
          now: float | None = None) -> int:
    """Step 1; returns how many files it deleted."""
    fs, _ = storage.filesystem(output, settings)
    doomed = garbage(output, settings, grace_s, now)
    delete(fs, doomed)
    return len(doomed)


def delete(fs: pafs.FileSystem, paths: list[str]) -> None:
    """In the order given; a local folder left empty goes too (S3 has no folders to leave behind)."""
    for path in paths:
        try:
            fs.delete_file(path)
        except FileNotFoundError:  # another run's clean got there first
            pass
        if isinstance(fs, pafs.LocalFileSystem) and not path.endswith(".json"):
            _remove_if_empty(os.path.dirname(path))


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:  # not empty, or gone
        pass


def visible_files(output: str, settings: S3Settings | None = None) -> dict[str, int]:
    """Files per table that a reader opens now."""
    fs, root = storage.filesystem(output, settings)
    seen = tables.snapshot(output, settings)
    return {name: sum(1 for commit_id, _ in tables.data_files(fs, root, name) if commit_id in seen.commits)
            + sum(len(m.files.get(name, ())) for m in seen.compactions) for name in tables.SCHEMAS}


def compact(output: str, settings: S3Settings | None = None, target_bytes: int = TARGET_BYTES,
            grace_s: float = GRACE_S) -> CompactSummary:
    """The steps of the module doc, in order; what the store refuses is one line, as in the jobs
    (`pipelines.data.storage.store_error`), whatever step it stops."""
    clock = time.perf_counter()
    settings = settings or S3Settings.from_env()
    try:
        if tables.snapshot(output, settings).is_empty:
            raise UserError(f"no results under {output} (nothing committed); give the segment job's --output")
        before = visible_files(output, settings)
        deleted = clean(output, settings, grace_s)
        chosen = plan(output, settings, target_bytes)
        if chosen is not None:
            log.info("compacting %d commits and %d earlier compactions of %s into compaction %s",
                     len(chosen.commits), len(chosen.merged), output, chosen.id)
            commit(output, write(output, chosen, settings, target_bytes), settings, grace_s)
        after, seen = visible_files(output, settings), tables.snapshot(output, settings)
        rows = {name: tables.dataset(output, name, settings, seen).count_rows() for name in tables.SCHEMAS}
    except OSError as exc:  # the store down, read-only or full (one line, as the jobs say it), or another refusal
        raise (storage.store_error(exc, output, settings, STOPPED)
               or UserError(f"cannot compact {output}: {one_line(exc)}; {STOPPED}")) from exc
    summary = {name: {"files_before": before[name], "files_after": after[name], "rows": rows[name]}
               for name in tables.SCHEMAS}
    seconds = round(time.perf_counter() - clock, 3)
    return CompactSummary(output, chosen.id if chosen else None, summary, deleted, seconds)
