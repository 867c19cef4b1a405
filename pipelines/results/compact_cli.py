"""Compact the segment job's tables: each table's many small commits into few large files.

    streamer-compact --output s3://results/streamer [--target-mb 256] [--grace-minutes 60]

Readers see the old files or the new ones, never both and never neither; a compaction killed at
any point changes nothing readers see, and a re-run finishes it. Run it after the nightly segment
run (or while one runs: commits made meanwhile stay as they are until the next compaction). The
files it replaced are deleted by a later run, two grace periods after it started (queries that
listed them keep working until then). The last stdout line is a JSON summary: files before and
after and rows, per table.
"""
from __future__ import annotations

import dataclasses
import json

from pipelines import cli


def parser() -> cli.Parser:
    p = cli.parser(__doc__)
    p.add_argument("--output", required=True, help="results: s3://bucket/prefix or a folder")
    p.add_argument("--target-mb", type=float, default=256.0, help="size of each compacted file, in MB")
    p.add_argument("--grace-minutes", type=float, default=60.0,
                   help="a compaction commits within this or gives up; what it replaced is deleted after twice this")
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    args = cli.parse(parser(), argv)
    if args.target_mb <= 0 or args.grace_minutes <= 0:
        raise cli.UserError("--target-mb and --grace-minutes must be positive")
    from pipelines.results.compact import compact

    summary = compact(args.output, target_bytes=int(args.target_mb * (1 << 20)), grace_s=args.grace_minutes * 60)
    print(json.dumps(dataclasses.asdict(summary)))
    return 0
