"""Raw sensor recordings -> feature streams, the input of `model.input_kind=features` (pipelines.data.sensors).

    streamer-features --input raw/ --rate 50 --dest s3://bucket/sensors [--snippet 0.5] [--drop time ...]
    python jobs/features.py ...

Every .csv (columns of numbers; a first row of channel names is optional) and .npy ([T, C] samples)
below --input, all sampled at --rate Hz, becomes <dest>/<its path>.npy: one row per snippet of
--snippet seconds (the model's model.snippet_size), each channel's mean, then each channel's standard
deviation, then each channel's mean absolute change (3 C columns); at one sample per snippet (2 Hz at
0.5 s), the samples as recorded (C columns). A snippet holds the samples recorded in its own time, so
rows keep the recording's clock at any rate (12 and 13 samples in turn at 25 Hz). --drop leaves out columns that
are not channels, such as a timestamp (by name, or by position from 0 where a file has no names).
A recording that cannot be read is named in one `error:` line and the others are still written; two
recordings that would write one stream are both refused. The last stdout line is a JSON summary:
written (URIs), failed (recording -> why), widths (row width -> streams); exit status 2 when any
recording failed. Then: `streamer-train --input <dest> --set model.input_kind=features`.
"""
from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from pipelines import cli
from pipelines.data import storage
from pipelines.data.sensors import SUFFIXES, feature_stream, read_recording, samples_per_snippet
from streamer_core.config import ModelConfig

log = logging.getLogger(__name__)


def parser() -> cli.Parser:
    p = cli.parser(__doc__)
    p.add_argument("--input", required=True, help="a local folder of recordings (.csv, .npy), read recursively")
    p.add_argument("--rate", required=True, type=float, help="samples per second of every recording")
    p.add_argument("--dest", required=True, help="folder or s3:// prefix to write the streams into")
    p.add_argument("--snippet", type=float, default=ModelConfig.snippet_size,
                   help="seconds per row: the model's model.snippet_size")
    p.add_argument("--drop", action="append", default=[], metavar="COLUMN",
                   help="a column that is not a channel, left out of every recording; repeatable")
    return p


def recordings(folder: str) -> dict[str, list[Path]]:
    """Each stream to write (its path below --dest) -> the recordings that would write it."""
    root = Path(storage.local_path(folder))
    if not root.is_dir():
        raise FileNotFoundError(f"recordings folder not found: {folder}")
    targets: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES):
        targets[path.relative_to(root).with_suffix(".npy").as_posix()].append(path)
    if not targets:
        raise FileNotFoundError(f"no .csv or .npy recording below {folder}")
    return targets


@cli.command
def main(argv: list[str] | None = None) -> int:
    p = parser()
    a = cli.parse(p, argv)
    try:
        samples_per_snippet(a.rate, a.snippet)
    except ValueError as exc:
        p.error(f"--rate and --snippet: {exc}")
    if storage.is_s3(a.input):
        p.error("--input: a local folder (recordings are converted where they were recorded; --dest may be s3://)")
    root = Path(storage.local_path(a.input))
    if not storage.is_s3(a.dest) and Path(storage.local_path(a.dest)).is_relative_to(root):
        p.error("--dest: must be outside --input (its streams would be read as recordings next time)")
    failed: dict[str, str] = {}
    widths: Counter = Counter()
    with tempfile.TemporaryDirectory(prefix="streamer-features-") as staging:
        out = Path(staging) if storage.is_s3(a.dest) else Path(storage.local_path(a.dest))
        written = []
        for stream, sources in recordings(a.input).items():
            names = [s.relative_to(root).as_posix() for s in sources]
            try:
                if len(sources) > 1:
                    raise ValueError(f"{' and '.join(names)} would both write {stream}; rename one")
                rows = feature_stream(read_recording(sources[0], a.drop)[1], a.rate, a.snippet)
            except (ValueError, EOFError, OSError) as exc:
                for name in names:
                    failed[name] = cli.one_line(exc)
                    print(f"error: {name}: {failed[name]}", file=sys.stderr, flush=True)
                continue
            target = out / stream
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target, rows)
            widths[rows.shape[1]] += 1
            written.append(storage.join(a.dest, *stream.split("/")))
            log.info("%s: %d rows of %d columns", stream, *rows.shape)
        if storage.is_s3(a.dest):
            storage.upload_dir(staging, a.dest)
    if len(widths) > 1:
        log.warning("streams of %d widths (%s): one model takes one width", len(widths), sorted(widths))
    for uri in written:
        print(uri)
    print(json.dumps({"written": written, "failed": failed, "widths": dict(sorted(widths.items()))}))
    return 2 if failed else 0
