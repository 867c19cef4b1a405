"""Compaction: the same rows before and after, few files, and every row exactly once whether a
compaction is killed at any step, races another, or runs beside writers; local and on S3."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.data import storage
from pipelines.results import compact, compactions, query, tables
from pipelines.results.compact_cli import main as compact_main
from pipelines.results.tables import EVENTS_SCHEMA, VIDEOS_SCHEMA
from pipelines.runtime.local_s3 import _free_ports, local_s3

VIEWS = ("events", "videos", "events_all", "videos_all", "runs")
LATER = 10 * compact.GRACE_S  # a clean this far in the future finds everything ripe
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])
def store(request, tmp_path):
    """(output, settings): a local folder, or a prefix in a fresh bucket of the real SeaweedFS server."""
    if request.param == "local":
        return str(tmp_path / "out"), None
    server = request.getfixturevalue("s3_server")
    return f"{request.getfixturevalue('s3_bucket')}/results", server.settings()


def write_batch(output: str, k: int, settings=None, version: str = "v1", video: str | None = None) -> str:
    """One segment-job-style commit: a video's `videos` row and its events (k picks the values)."""
    video_id = video or f"part{k % 3}/video_{k:03d}.mp4"
    status = "failed" if k % 7 == 6 else "ok"
    videos = [{"run_id": f"r{k}", "video_id": video_id, "uri": f"s3://footage/{video_id}", "etag": f"e{k % 2}",
               "duration_s": 10.0 + k, "frames": 20 + k, "status": status, "error": "" if status == "ok" else "bad",
               "seconds": 0.5, "model_version": version, "scores": [[0.1 * k, 0.2]], "changes": [0.01 * k]}]
    events = [{"run_id": f"r{k}", "video_id": video_id, "level": level, "event_index": i, "start_s": 5.0 * i,
               "end_s": 5.0 * (i + 1), "parent_index": -1 if level else i // 2, "embedding": [float(k), float(i)],
               "model_version": version} for level in range(2) for i in range(3 - level)] if status == "ok" else []
    return tables.write_commit(output, {"videos": pa.Table.from_pylist(videos, schema=VIDEOS_SCHEMA),
                                        "events": pa.Table.from_pylist(events, schema=EVENTS_SCHEMA)},
                               settings=settings)


def write_archive(output: str, settings=None, commits: int = 12) -> None:
    """Commits as nightly runs leave them: new videos, a redone one, another model version, a run row."""
    for k in range(commits):
        write_batch(output, k, settings)
    write_batch(output, 100, settings, video="part1/video_001.mp4")  # redone: its latest commit wins
    write_batch(output, 101, settings, version="v2", video="part1/video_001.mp4")
    now = dt.datetime.now(dt.timezone.utc)
    record = tables.RunRecord("segment-x", "segment", now, now, "model.pt", "v1", {"a": 1}, tables.Counts(ok=1))
    tables.write_commit(output, {"runs": record.to_table()}, settings=settings)


def seen_by_readers(output: str, settings=None) -> dict:
    """Every view row for row, and what nightly mode skips per model version."""
    con = query.connect(output, settings)
    rows = {view: con.sql(f"SELECT * FROM {view} ORDER BY ALL").fetchall() for view in VIEWS}
    rows["done"] = {v: tables.done_videos(output, v, settings, ("ok", "failed")) for v in ("v1", "v2")}
    return rows


def stored_files(output: str, settings=None) -> list[str]:
    fs, root = storage.filesystem(output, settings)
    return sorted(info.path[len(root) + 1:] for info in tables.list_files(fs, root) if ".tmp-" not in info.path)


def test_compaction_keeps_every_row_and_view_and_leaves_few_files(store):
    output, settings = store
    write_archive(output, settings)
    before = seen_by_readers(output, settings)
    summary = compact.compact(output, settings)
    assert summary.tables["events"]["files_before"] == 13 and summary.tables["videos"]["files_before"] == 14
    assert {name: t["files_after"] for name, t in summary.tables.items()} == {"events": 1, "videos": 1, "runs": 1}
    assert summary.tables["videos"]["rows"] == 14 and summary.compaction
    fs, root = storage.filesystem(output, settings)
    (events_file,) = tables.snapshot(output, settings).compactions[0].files["events"]
    assert pq.read_metadata(f"{root}/{events_file}", filesystem=fs).num_row_groups == 1  # not one per commit
    assert seen_by_readers(output, settings) == before
    assert compact.compact(output, settings).compaction is None  # nothing left worth rewriting

    # the replaced files stay for readers that listed them, then a later run deletes them
    assert compact.clean(output, settings) == 0
    replaced = sum(t["files_before"] for t in summary.tables.values()) + 15  # data files, then commit markers
    assert compact.clean(output, settings, now=time.time() + LATER) == replaced
    assert seen_by_readers(output, settings) == before
    assert [f for f in stored_files(output, settings) if "compaction=" not in f] == [
        f"{compactions.COMPACTIONS_DIR}/{summary.compaction}.json"]


def test_a_nightly_compaction_merges_the_last_small_one(store):
    output, settings = store
    write_archive(output, settings, commits=4)
    first = compact.compact(output, settings).compaction
    write_batch(output, 50, settings)
    write_batch(output, 51, settings, video="part0/video_000.mp4")  # redoes a compacted video
    before = seen_by_readers(output, settings)
    summary = compact.compact(output, settings)
    assert summary.tables["events"] == {"files_before": 3, "files_after": 1, "rows": len(before["events_all"])}
    seen = tables.snapshot(output, settings)
    assert [m.id for m in seen.superseded] == [first] and first in seen.compactions[0].holds
    assert seen_by_readers(output, settings) == before
    compact.clean(output, settings, now=time.time() + LATER)
    assert seen_by_readers(output, settings) == before
    assert len([f for f in stored_files(output, settings) if f.endswith(".parquet")]) == 3


def test_files_split_at_the_target_with_whole_row_groups(tmp_path):
    output = str(tmp_path)
    for k in range(40):
        write_batch(output, k)
    before = seen_by_readers(output)
    marker = compact.write(output, compact.plan(output), target_bytes=4096)
    compact.commit(output, marker)
    files = [tmp_path / path for path in marker.files["events"]]
    assert len(files) > 1 and sum(pq.ParquetFile(f).metadata.num_rows for f in files) == marker.rows["events"]
    assert all(f.stat().st_size < 4 * 4096 for f in files)
    assert seen_by_readers(output) == before


# Each stage stops a compaction in a subprocess, which the test then kills by PID.
STAGES = {
    "planned": "chosen = compact.plan(out, settings)",
    "one table written": "compact.write_table(out, compact.plan(out, settings), 'events', settings)",
    "files written": "compact.write(out, compact.plan(out, settings), settings)",
    "committed": "chosen = compact.plan(out, settings)\n"
                 "compact.commit(out, compact.write(out, chosen, settings), settings)",
    "half cleaned": "compact.commit(out, compact.write(out, compact.plan(out, settings), settings), settings)\n"
                    "doomed = compact.garbage(out, settings, now=time.time() + LATER)\n"
                    "compact.delete(fs, doomed[:len(doomed) // 2])",
}
STOP_AT = """
import os, sys, time
from pipelines.data import storage
from pipelines.data.storage import S3Settings
from pipelines.results import compact
out, LATER = sys.argv[1], float(sys.argv[2])
settings = S3Settings.from_env()
fs, root = storage.filesystem(out, settings)
{stage}
print("stopped", flush=True)
time.sleep(600)
"""


def run_until_killed(stage: str, output: str, env: dict) -> None:
    code = STOP_AT.format(stage=STAGES[stage])
    proc = subprocess.Popen([sys.executable, "-c", code, output, str(LATER)], cwd=REPO, stdout=subprocess.PIPE,
                            env={**os.environ, **env}, text=True)
    try:
        assert proc.stdout.readline().strip() == "stopped", f"the {stage!r} stage did not run"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_killed_compaction_leaves_every_row_once_and_a_rerun_finishes(tmp_path, stage):
    output = str(tmp_path / "out")
    write_archive(output)
    before = seen_by_readers(output)
    run_until_killed(stage, output, {})
    assert seen_by_readers(output) == before
    summary = compact.compact(output)
    assert {t["files_after"] for t in summary.tables.values()} == {1}
    assert seen_by_readers(output) == before
    compact.clean(output, now=time.time() + LATER)  # the killed run's files too, once no one can need them
    assert seen_by_readers(output) == before
    assert len([f for f in stored_files(output) if f.endswith(".parquet")]) == 3
    assert sorted(p.name for p in (tmp_path / "out" / "events").iterdir()) == [
        f"compaction={tables.snapshot(output).compactions[0].id}"]  # no empty folders left behind


@pytest.mark.slow
def test_a_compaction_killed_on_s3_before_its_marker(s3_server, s3_bucket):
    output, settings = f"{s3_bucket}/results", s3_server.settings()
    write_archive(output, settings, commits=4)
    before = seen_by_readers(output, settings)
    run_until_killed("files written", output, s3_server.env())
    assert seen_by_readers(output, settings) == before
    compact.compact(output, settings)
    compact.clean(output, settings, now=time.time() + LATER)
    assert seen_by_readers(output, settings) == before
    assert len([f for f in stored_files(output, settings) if f.endswith(".parquet")]) == 3


@pytest.mark.parametrize("late_first", [False, True])
def test_two_compactions_of_the_same_commits_the_first_by_id_wins(tmp_path, late_first):
    """Both planned before either committed; whichever marker lands first, readers (and the clean
    that follows) keep the first compaction by id, and every row once."""
    output = str(tmp_path)
    write_archive(output)
    before = seen_by_readers(output)
    first, second = compact.plan(output), compact.plan(output)
    markers = [compact.write(output, first), compact.write(output, second)]
    for marker in reversed(markers) if late_first else markers:
        compact.commit(output, marker)
        assert seen_by_readers(output) == before
    seen = tables.snapshot(output)
    assert [m.id for m in seen.compactions] == [first.id] and [m.id for m in seen.void] == [second.id]
    compact.clean(output, now=time.time() + LATER)
    assert seen_by_readers(output) == before
    assert not [f for f in stored_files(output) if second.id in f]


def test_compactions_and_writers_at_once_lose_and_duplicate_nothing(store):
    """Writers commit batches while two compaction loops run and delete what they replaced: every
    batch is read exactly once."""
    output, settings = store
    write_archive(output, settings, commits=3)
    written, stop, errors = [], threading.Event(), []

    def writer(first: int) -> None:
        for k in range(first, first + 15):
            write_batch(output, k, settings, video=f"live/{k}.mp4")
            written.append(k)

    def compactor() -> None:
        """A short grace period, so that replaced files are deleted while the others run."""
        while not stop.is_set():
            try:
                compact.compact(output, settings, grace_s=1.0)
            except compact.CompactionTooLate:  # gave up, changing nothing: allowed
                pass
            except Exception as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=compactor) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(first,)) for first in (1000, 2000)]
    for t in threads + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in threads:
        t.join()
    assert not errors and len(written) == 30
    videos = tables.read_table(output, "videos", settings).column("video_id").to_pylist()
    live = sorted(v for v in videos if v.startswith("live/"))
    assert live == sorted(f"live/{k}.mp4" for k in written)  # each exactly once
    compact.compact(output, settings)
    assert sorted(v for v in tables.read_table(output, "videos", settings).column("video_id").to_pylist()
                  if v.startswith("live/")) == live


def test_a_commit_made_while_compacting_stays_readable(tmp_path):
    output = str(tmp_path)
    write_archive(output, commits=3)
    chosen = compact.plan(output)
    late = write_batch(output, 77, video="late.mp4")  # after the plan, before the marker
    compact.commit(output, compact.write(output, chosen))
    assert late in tables.snapshot(output).commits
    compact.clean(output, now=time.time() + LATER)
    assert tables.read_table(output, "videos").column("video_id").to_pylist().count("late.mp4") == 1


def test_a_reader_that_listed_before_keeps_its_files(tmp_path):
    output = str(tmp_path)
    write_archive(output, commits=3)
    before = tables.snapshot(output)
    rows = tables.dataset(output, "events", seen=before).to_table().num_rows
    compact.compact(output)
    write_batch(output, 9)
    compact.compact(output)  # cleans first: nothing is old enough to go
    assert tables.dataset(output, "events", seen=before).to_table().num_rows == rows


def test_a_compaction_past_its_grace_period_changes_nothing(tmp_path):
    output = str(tmp_path)
    write_archive(output, commits=3)
    before = seen_by_readers(output)
    marker = compact.write(output, compact.plan(output))
    with pytest.raises(compact.CompactionTooLate, match="grace period"):
        compact.commit(output, marker, grace_s=0.0)
    assert seen_by_readers(output) == before and not tables.snapshot(output).compactions


def test_the_command_prints_a_json_summary_and_errors_in_one_line(tmp_path, capsys):
    output = str(tmp_path / "out")
    write_archive(output, commits=3)
    files, rows = compact.visible_files(output)["events"], tables.read_table(output, "events").num_rows
    assert compact_main(["--output", output, "--target-mb", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["tables"]["events"] == {"files_before": files, "files_after": 1, "rows": rows} and files > 1
    for argv in (["--output", str(tmp_path / "nothing")], ["--output", output, "--target-mb", "0"]):
        assert compact_main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ")


def test_a_store_that_is_down_is_one_error_line(monkeypatch, capsys):
    """As the segment and training jobs say it (`storage.store_error`), at the first request."""
    (port,) = _free_ports(1)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
           storage.RETRY_ENV: "0"}
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert compact_main(["--output", "s3://b/out"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: the store of s3://b/out did not answer for 0 s (see {storage.RETRY_ENV}); " \
                          f"{compact.STOPPED}"


@pytest.mark.slow
def test_a_read_only_store_is_one_error_line_and_changes_nothing(tmp_path, capsys, monkeypatch):
    """A SeaweedFS server of its own, with a second identity that may only read and list."""
    admin = {"name": "admin", "credentials": [{"accessKey": "admin0123456", "secretKey": "adminsecret0123456789"}],
             "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    reader = {"name": "reader", "credentials": [{"accessKey": "reader012345", "secretKey": "readersecret012345678"}],
              "actions": ["Read", "List"]}
    (tmp_path / "identities.json").write_text(json.dumps({"identities": [admin, reader]}))
    with local_s3(tmp_path) as server:
        output, settings = "s3://read-only-test/results", server.settings()
        storage.s3_client(settings).create_bucket(Bucket="read-only-test")
        write_archive(output, settings, commits=3)
        before, files = seen_by_readers(output, settings), stored_files(output, settings)
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "reader012345")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "readersecret012345678")
        assert compact_main(["--output", output]) == 2
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in err
        assert errors[0] == f"error: the store refused writes to {output} (access denied: a read-only store, or a " \
                            f"key that may not write); {compact.STOPPED}"
        assert stored_files(output, settings) == files and seen_by_readers(output, settings) == before
