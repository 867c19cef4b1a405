"""Compaction: files per table and DuckDB latency of a per-video query before and after.

Writes `--commits` segment-job-style commits (`--videos-per-commit` videos each, a hierarchy of
`--events` events per video with `--dim`-wide embeddings) through the real results writer to a
folder, or with `--s3` to a local SeaweedFS server, then compacts. Prints one JSON line: files per
table before and after, event rows, seconds to connect (list and open the tables), and the p50 of
the `levels` example over `--queries` videos, before and after. Usage::

    python benchmarks/compact.py [--commits 300] [--videos-per-commit 4] [--events 80] [--dim 32] [--s3]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import tempfile
import time

import numpy as np
import pyarrow as pa

from pipelines.data import storage
from pipelines.results import compact, query, tables
from pipelines.runtime.local_s3 import local_s3


def write_commits(output: str, args: argparse.Namespace, settings) -> list[str]:
    """Returns the video ids written."""
    rng = np.random.default_rng(0)
    ids = []
    for c in range(args.commits):
        videos, events = [], []
        for v in range(args.videos_per_commit):
            video_id = f"part{c % 10}/video_{c:05d}_{v}.mp4"
            ids.append(video_id)
            videos.append({"run_id": "bench", "video_id": video_id, "uri": f"s3://footage/{video_id}", "etag": "e",
                           "duration_s": 60.0, "frames": 120, "status": "ok", "error": "", "seconds": 1.0,
                           "model_version": "v1", "scores": [rng.random(119, np.float32).tolist()], "changes": []})
            for k in range(args.events):
                level = 0 if k < args.events * 3 // 4 else 1 if k < args.events * 15 // 16 else 2
                events.append({"run_id": "bench", "video_id": video_id, "level": level, "event_index": k,
                               "start_s": 0.5 * k, "end_s": 0.5 * (k + 1), "parent_index": -1,
                               "embedding": rng.standard_normal(args.dim, np.float32).tolist(),
                               "model_version": "v1"})
        tables.write_commit(output, {"videos": pa.Table.from_pylist(videos, schema=tables.VIDEOS_SCHEMA),
                                     "events": pa.Table.from_pylist(events, schema=tables.EVENTS_SCHEMA)},
                            settings=settings)
    return ids


def measure(output: str, videos: list[str], settings) -> dict:
    start = time.perf_counter()
    con = query.connect(output, settings)
    connect_s = time.perf_counter() - start
    times = []
    for video_id in videos:
        start = time.perf_counter()
        query.example(con, "levels", video_id=video_id)
        times.append(time.perf_counter() - start)
    return {"connect_s": round(connect_s, 3), "levels_p50_ms": round(1000 * statistics.median(times), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--commits", type=int, default=300)
    p.add_argument("--videos-per-commit", type=int, default=4)
    p.add_argument("--events", type=int, default=80)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--queries", type=int, default=30)
    p.add_argument("--s3", action="store_true", help="a local SeaweedFS server instead of a folder")
    args = p.parse_args()
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="compact-bench-"))
        if args.s3:
            server = stack.enter_context(local_s3())
            settings, output = server.settings(), "s3://bench/results"
            storage.s3_client(settings).create_bucket(Bucket="bench")
        else:
            settings, output = None, folder
        videos = write_commits(output, args, settings)
        sample = random.Random(0).sample(videos, min(args.queries, len(videos)))
        before = measure(output, sample, settings)
        summary = compact.compact(output, settings)
        after = measure(output, sample, settings)
        print(json.dumps({
            "store": "s3" if args.s3 else "local", "commits": args.commits,
            "event_rows": summary.tables["events"]["rows"],
            "files_before": {name: t["files_before"] for name, t in summary.tables.items()},
            "files_after": {name: t["files_after"] for name, t in summary.tables.items()},
            "compact_s": summary.seconds, "before": before, "after": after}))


if __name__ == "__main__":
    main()
