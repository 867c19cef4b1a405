"""Ground truth from the formats users have, read into one typed form (``Truth``).

- plain rows ``video_id,level,start_s,end_s,label`` as CSV (what the sample corpus writes) or JSON
  (a list of objects with those keys);
- per-frame label files (Breakfast / 50Salads / GTEA: one label per line per frame, at a known
  frame rate; runs of equal labels become segments), one file per video;
- EPIC-KITCHENS-style narration CSVs (``video_id,start_timestamp,stop_timestamp,narration``,
  timestamps ``HH:MM:SS.ff``).

Bad input raises ``TruthError`` naming the source and video; what is repaired or left out is
announced with a named warning (``OverlapWarning``, ``UnknownVideoWarning``,
``MissingTruthWarning``, ``DurationMismatchWarning``), never dropped silently.
"""
from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import pyarrow.fs as pafs

from pipelines.cli import UserError
from pipelines.data import storage
from streamer_core.metrics import (
    DurationMismatchWarning,
    EvaluationWarning,
    Segmentation,
    Span,
    SpanError,
)

PLAIN_COLUMNS = ("video_id", "level", "start_s", "end_s", "label")
NARRATION_COLUMNS = ("video_id", "start_timestamp", "stop_timestamp", "narration")


class TruthError(UserError):
    """Ground truth that cannot be read or is inconsistent; the message names source and video."""


class OverlapWarning(EvaluationWarning):
    """Overlapping truth spans were trimmed (or, when fully covered, left out)."""


class UnknownVideoWarning(EvaluationWarning):
    """Truth names a video that has no prediction / no file; it is not scored."""


class MissingTruthWarning(EvaluationWarning):
    """A predicted video has no truth; it is not scored."""


@dataclass(frozen=True)
class TruthRow:
    video_id: str
    level: int  # 0 = finest
    start_s: float
    end_s: float
    label: str


@dataclass(frozen=True)
class Truth:
    """Per video, per level, the true segmentation."""

    videos: dict[str, dict[int, Segmentation]]

    @property
    def durations(self) -> dict[str, float]:
        return {v: next(iter(levels.values())).duration_s for v, levels in self.videos.items()}

    @property
    def levels(self) -> list[int]:
        return sorted({level for levels in self.videos.values() for level in levels})

    def rows(self) -> list[TruthRow]:
        return [TruthRow(v, lv, s.start_s, s.end_s, s.label) for v, levels in sorted(self.videos.items())
                for lv, seg in sorted(levels.items()) for s in seg.spans]

    def matched(self, video_ids: Iterable[str]) -> Truth:
        """This truth with its ids renamed to the given ones they match (see ``match_ids``)."""
        renames = match_ids(self.videos, video_ids)
        if not renames:
            return self
        videos = {}
        for video, levels in self.videos.items():
            new = renames.get(video, video)
            videos[new] = {lv: replace(seg, video_id=new) for lv, seg in levels.items()}
        return Truth(videos)


def segment_counts(levels: Mapping[int, Segmentation]) -> tuple[int, ...]:
    """One video's number of true segments per level, finest first: what a baseline told the true
    count (uniform, TW-FINCH) is given."""
    return tuple(len(levels[level].spans) for level in sorted(levels))


def _stem(video_id: str) -> str:
    """The id without its file extension (``kitchen/a.mp4`` -> ``kitchen/a``)."""
    folder, _, name = video_id.rpartition("/")
    base = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return f"{folder}/{base}" if folder else base


def match_ids(truth_ids: Iterable[str], video_ids: Iterable[str]) -> dict[str, str]:
    """Truth id -> video id, for truth ids that are not video ids but name exactly one of them
    with or without the file extension (``clip_000`` for ``clip_000.mp4``, or the reverse).
    Ambiguous ones (``clip`` for ``clip.mp4`` and ``clip.avi``) stay as they are, to be warned about."""
    truth, known = set(truth_ids), set(video_ids)
    by_stem: dict[str, set[str]] = defaultdict(set)
    for video in known:
        by_stem[_stem(video)].add(video)
    found = {t: by_stem.get(t, set()) | by_stem.get(_stem(t), set()) for t in truth - known}
    renames = {t: next(iter(videos)) for t, videos in found.items() if len(videos) == 1}
    targets = Counter(renames.values())
    # a video claimed by two truth ids, or already a truth id itself, is matched by none
    return {t: v for t, v in renames.items() if targets[v] == 1 and v not in truth}


def build_truth(rows: Iterable[TruthRow], durations: Mapping[str, float] | None = None,
                source: str = "truth", tolerance_s: float = 1.0) -> Truth:
    """Group rows into segmentations. A video's duration is ``durations[video]`` when known (its
    truth is clipped there, with a warning past ``tolerance_s``), else its last truth end."""
    grouped: dict[str, dict[int, list[Span]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        grouped[row.video_id][row.level].append(Span(row.start_s, row.end_s, row.label))
    videos = {}
    for video_id, levels in sorted(grouped.items()):
        end = max(s.end_s for spans in levels.values() for s in spans)
        duration = durations.get(video_id, end) if durations else end
        if abs(duration - end) > tolerance_s:
            warnings.warn(DurationMismatchWarning(
                f"{source}: video {video_id!r} truth ends at {end:.3f} s but the video lasts "
                f"{duration:.3f} s"), stacklevel=2)
        try:
            segs = {level: Segmentation(video_id, max(end, duration), tuple(spans), level)
                    for level, spans in sorted(levels.items())}
        except SpanError as exc:
            raise TruthError(f"{source}: {exc}") from exc
        videos[video_id] = {level: seg.clipped(duration) for level, seg in segs.items()}
        lost = sum(len(seg.spans) - len(videos[video_id][lv].spans) for lv, seg in segs.items())
        if lost:
            warnings.warn(DurationMismatchWarning(
                f"{source}: video {video_id!r}: {lost} truth span(s) start after the video's end "
                f"({duration:.3f} s) and are left out"), stacklevel=2)
    return Truth(videos)


def check_coverage(truth: Truth, video_ids: Iterable[str], what: str = "predictions") -> list[str]:
    """Videos both predicted and annotated; the others are named in warnings."""
    predicted, annotated = set(video_ids), set(truth.videos)
    unknown, missing = sorted(annotated - predicted), sorted(predicted - annotated)
    if unknown:
        warnings.warn(UnknownVideoWarning(
            f"truth for {len(unknown)} video(s) without {what}, not scored: {_some(unknown)}"), stacklevel=2)
    if missing:
        warnings.warn(MissingTruthWarning(
            f"{len(missing)} video(s) in {what} without truth, not scored: {_some(missing)}"), stacklevel=2)
    return sorted(predicted & annotated)


def _some(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + (f" (+{len(names) - most} more)" if len(names) > most else "")


def _number(value, name: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TruthError(f"{where}: {name} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise TruthError(f"{where}: {name} is not finite: {value!r}")
    return number


def plain_rows(records: Iterable[Mapping], source: str) -> list[TruthRow]:
    """Rows of the plain format from dicts (CSV rows or JSON objects)."""
    rows = []
    for n, rec in enumerate(records, start=1):
        missing = [c for c in PLAIN_COLUMNS if c not in rec]
        where = f"{source} record {n} (video {rec.get('video_id')!r})"
        if missing:
            raise TruthError(f"{where}: missing {', '.join(missing)}")
        level = _number(rec["level"], "level", where)
        if level < 0 or level != int(level):
            raise TruthError(f"{where}: level must be a non-negative integer, got {rec['level']!r}")
        start, end = _number(rec["start_s"], "start_s", where), _number(rec["end_s"], "end_s", where)
        if start < 0 or end <= start:
            raise TruthError(f"{where}: bad span [{start}, {end}) (negative or end not after start)")
        rows.append(TruthRow(str(rec["video_id"]), int(level), start, end, str(rec["label"] or "")))
    return rows


def parse_timestamp(text: str) -> float:
    """``HH:MM:SS.ff`` (or ``MM:SS.ff``, or plain seconds) to seconds."""
    parts = [float(p) for p in str(text).strip().split(":")]
    if not parts or len(parts) > 3 or any(p < 0 for p in parts):
        raise ValueError(f"bad timestamp {text!r}")
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def narration_rows(records: Iterable[Mapping], source: str, level: int = 0, video_suffix: str = "",
                   overlaps: str = "trim") -> list[TruthRow]:
    """Rows from EPIC-style narrations. Narrations overlap in practice: with ``overlaps="trim"``
    a span starts where the previous one ended (one wholly inside it is left out), each video's
    changes named in an ``OverlapWarning``; with ``"error"`` an overlap raises ``TruthError``."""
    by_video: dict[str, list[TruthRow]] = defaultdict(list)
    for n, rec in enumerate(records, start=1):
        where = f"{source} record {n} (video {rec.get('video_id')!r})"
        missing = [c for c in NARRATION_COLUMNS if c not in rec]
        if missing:
            raise TruthError(f"{where}: missing {', '.join(missing)}")
        try:
            start, end = parse_timestamp(rec["start_timestamp"]), parse_timestamp(rec["stop_timestamp"])
        except ValueError as exc:
            raise TruthError(f"{where}: {exc}") from None
        if end <= start:
            raise TruthError(f"{where}: stop {rec['stop_timestamp']} not after start {rec['start_timestamp']}")
        video = str(rec["video_id"]) + video_suffix
        by_video[video].append(TruthRow(video, level, start, end, str(rec["narration"])))
    return [row for video, spans in sorted(by_video.items())
            for row in _resolve_overlaps(video, spans, source, overlaps)]


def _resolve_overlaps(video: str, spans: list[TruthRow], source: str, mode: str) -> list[TruthRow]:
    kept, trimmed, dropped = [], [], []
    for row in sorted(spans, key=lambda r: (r.start_s, r.end_s)):
        if kept and row.start_s < kept[-1].end_s:
            if mode == "error":
                raise TruthError(f"{source}: video {video!r}: {row.label!r} [{row.start_s}, {row.end_s}) "
                                 f"overlaps {kept[-1].label!r} [{kept[-1].start_s}, {kept[-1].end_s})")
            if row.end_s <= kept[-1].end_s:
                dropped.append(row.label)
                continue
            trimmed.append(row.label)
            row = TruthRow(row.video_id, row.level, kept[-1].end_s, row.end_s, row.label)
        kept.append(row)
    if trimmed or dropped:
        warnings.warn(OverlapWarning(
            f"{source}: video {video!r}: {len(trimmed)} overlapping span(s) trimmed "
            f"({_some(trimmed)}), {len(dropped)} wholly covered span(s) left out ({_some(dropped)})"),
            stacklevel=3)
    return kept


def frame_label_rows(lines: Iterable[str], video_id: str, fps: float, level: int = 0) -> list[TruthRow]:
    """Runs of equal per-frame labels as spans; frame k covers [k / fps, (k + 1) / fps)."""
    if not fps or fps <= 0:
        raise TruthError(f"video {video_id!r}: per-frame labels need a positive frame rate, got {fps}")
    labels = [line.strip() for line in lines]
    while labels and not labels[-1]:
        labels.pop()
    if not labels:
        raise TruthError(f"video {video_id!r}: per-frame label file is empty")
    rows, start = [], 0
    for k in range(1, len(labels) + 1):
        if k == len(labels) or labels[k] != labels[start]:
            rows.append(TruthRow(video_id, level, start / fps, k / fps, labels[start]))
            start = k
    return rows


def _label_files(uri: str) -> list[tuple[str, str]]:
    """(relative path, uri) of every file below a folder or prefix, sorted."""
    fs, root = storage.filesystem(uri)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    files = sorted(i.path for i in infos if i.type == pafs.FileType.File)
    base = uri.rstrip("/")
    return [(p[len(root):].lstrip("/"), storage.join(base, p[len(root):].lstrip("/"))) for p in files]


def read_frame_labels(uri: str, fps: float, level: int = 0, video_suffix: str = "") -> list[TruthRow]:
    """Per-frame label files: one file, or every file below a folder. The video id is the path
    relative to the folder (or the file name) with its extension replaced by ``video_suffix``."""
    fs, path = storage.filesystem(uri)
    if fs.get_file_info(path).type == pafs.FileType.Directory:
        files = _label_files(uri)
    else:
        files = [(path.rsplit("/", 1)[-1], uri)]
    rows = []
    for rel, file_uri in files:
        video_id = rel.rsplit(".", 1)[0] + video_suffix if "." in rel else rel + video_suffix
        rows += frame_label_rows(_text(file_uri).splitlines(), video_id, fps, level)
    return rows


def _text(uri: str) -> str:
    try:
        return storage.read_bytes(uri).decode("utf-8-sig")
    except (FileNotFoundError, OSError) as exc:
        raise TruthError(f"cannot read truth {uri}: {exc}") from exc


def read_truth(uri: str, fmt: str = "auto", fps: float | None = None, level: int = 0,
               video_suffix: str = "", durations: Mapping[str, float] | None = None) -> Truth:
    """Read truth in format ``plain`` (CSV or JSON), ``narrations``, ``frames`` or ``auto``
    (a folder is per-frame labels; a CSV is told apart by its header)."""
    if fmt == "frames" or (fmt == "auto" and _is_dir(uri)):
        return build_truth(read_frame_labels(uri, fps, level, video_suffix), durations, uri)
    text = _text(uri)
    if uri.lower().endswith(".json"):
        try:
            records = json.loads(text)
        except ValueError as exc:
            raise TruthError(f"{uri}: not JSON: {exc}") from None
        if not isinstance(records, list):
            raise TruthError(f"{uri}: expected a JSON list of {{{', '.join(PLAIN_COLUMNS)}}} objects")
        return build_truth(plain_rows(records, uri), durations, uri)
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or ())
    if fmt == "narrations" or (fmt == "auto" and set(NARRATION_COLUMNS) <= header):
        return build_truth(narration_rows(reader, uri, level, video_suffix), durations, uri)
    if fmt in ("plain", "auto") and set(PLAIN_COLUMNS) <= header:
        return build_truth(plain_rows(reader, uri), durations, uri)
    raise TruthError(f"{uri}: header {sorted(header)} is neither {PLAIN_COLUMNS} nor {NARRATION_COLUMNS}")


def _is_dir(uri: str) -> bool:
    fs, path = storage.filesystem(uri)
    return fs.get_file_info(path).type == pafs.FileType.Directory

