"""The compaction log: which compacted files hold the rows of which commits, resolved the same way
by every reader from the markers alone.

Layout, beside the commits of `pipelines.results.tables`::

    <output>/<table>/compaction=<id>/part-<k>.parquet   rows of many commits, each row with its `commit`
    <output>/_compactions/<id>.json                     the marker, written last (one atomic PUT)

A marker names its files and every id whose rows they hold: the commits it rewrote and, for a
compaction that merged earlier small compactions, those compactions and everything they held.
Readers take the markers in id order; a compaction is *void* when an earlier valid one that it did
not merge already holds one of its ids (two compactions ran at once: the first by id wins, the
other's files are never read), else it is valid and its ids are *claimed*: their files are no
longer read. So a
reader sees each row in exactly one place, the commit's files or one compaction's, whatever it
lists. Ids carry the time they were made (`tables.new_commit_id`), which bounds how late a marker
may appear (`pipelines.results.compact`: a compaction commits within its grace period or not at
all) and so when a claimed file can no longer be needed.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow.fs as pafs

COMPACTIONS_DIR = "_compactions"
FOLDER_KEY = "compaction"  # <table>/compaction=<id>/


def id_seconds(commit_or_compaction_id: str) -> float:
    """When an id was made (its leading nanoseconds since the epoch)."""
    return int(commit_or_compaction_id.split("-", 1)[0]) / 1e9


@dataclass(frozen=True)
class Compaction:
    """One compaction's marker."""

    id: str
    holds: frozenset[str]  # every commit and compaction id whose rows its files hold
    files: Mapping[str, tuple[str, ...]]  # table -> paths relative to the output root
    rows: Mapping[str, int] = field(default_factory=dict)
    bytes: int = 0  # of all its files, to tell small compactions worth merging again

    def to_json(self) -> bytes:
        return json.dumps({"compaction": self.id, "holds": sorted(self.holds),
                           "files": {k: list(v) for k, v in self.files.items()},
                           "rows": dict(self.rows), "bytes": self.bytes}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Compaction:
        raw = json.loads(data)
        return cls(raw["compaction"], frozenset(raw["holds"]), {k: tuple(v) for k, v in raw["files"].items()},
                   raw["rows"], raw["bytes"])


@dataclass(frozen=True)
class Snapshot:
    """What a reader opens, and what no reader opens any more."""

    commits: frozenset[str]  # committed ids whose own files are read
    compactions: tuple[Compaction, ...]  # valid compactions whose files are read
    claimed_by: Mapping[str, str] = field(default_factory=dict)  # id -> the valid compaction holding it
    superseded: tuple[Compaction, ...] = ()  # valid, but merged into a later compaction
    void: tuple[Compaction, ...] = ()  # lost to an earlier compaction of the same rows

    @property
    def is_empty(self) -> bool:
        return not self.commits and not self.compactions


def resolve(committed: Iterable[str], markers: Iterable[Compaction]) -> Snapshot:
    """The module doc's rule: markers in id order, the first to hold an id wins it."""
    claimed_by: dict[str, str] = {}
    valid, void = [], []
    for marker in sorted(markers, key=lambda m: m.id):
        if any(claimed_by.get(i, i) not in marker.holds for i in marker.holds):  # held by one it did not merge
            void.append(marker)
            continue
        valid.append(marker)
        claimed_by.update(dict.fromkeys(marker.holds, marker.id))
    live = tuple(m for m in valid if m.id not in claimed_by)
    superseded = tuple(m for m in valid if m.id in claimed_by)
    return Snapshot(frozenset(set(committed) - claimed_by.keys()), live, claimed_by, superseded, tuple(void))


def read_markers(fs: pafs.FileSystem, root: str) -> list[Compaction]:
    selector = pafs.FileSelector(f"{root}/{COMPACTIONS_DIR}", allow_not_found=True)
    markers = []
    for info in fs.get_file_info(selector):
        if info.type == pafs.FileType.File and info.path.endswith(".json"):
            with fs.open_input_stream(info.path) as stream:
                markers.append(Compaction.from_json(stream.read()))
    return markers


def marker_path(root: str, compaction_id: str) -> str:
    return f"{root}/{COMPACTIONS_DIR}/{compaction_id}.json"


def folder(root: str, table: str, compaction_id: str) -> str:
    return f"{root}/{table}/{FOLDER_KEY}={compaction_id}"


def folder_id(path: str) -> str | None:
    """The compaction id of a `<table>/compaction=<id>` folder, else None."""
    leaf = os.path.basename(path.rstrip("/"))
    return leaf.split("=", 1)[1] if leaf.startswith(f"{FOLDER_KEY}=") else None
