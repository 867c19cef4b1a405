"""The segment job under faults, against a real SeaweedFS store and a real Ray cluster, each job a
`jobs/segment.py` process: two runs on one output at once, the store killed and restarted mid-run
(within the retry budget, and past it), a segment actor killed mid-batch, a store that refuses
writes. Every time: each video once per model version, nothing half-written, no commit lost."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter

import pytest
from helpers.segment import make_corpus, train_tiny

from pipelines.data import storage
from pipelines.results import query, tables

pytestmark = pytest.mark.slow
VIDEOS = 8


@pytest.fixture
def setup(store, bucket, tmp_path, request):
    """8 sample videos (8-12 s unless the test asks for other durations) and a tiny model in the
    store; the job's arguments."""
    settings = store.settings()
    footage = f"{bucket}/footage"
    seconds = getattr(request, "param", (8, 12))
    storage.upload_dir(make_corpus(tmp_path / "corpus", videos=VIDEOS, min_duration_s=seconds[0],
                                   max_duration_s=seconds[1], bad=False), footage, settings)
    checkpoint = train_tiny(footage, f"{bucket}/model.pt", settings)
    output = f"{bucket}/results"
    args = ["--checkpoint", checkpoint, "--input", footage, "--output", output, "--batch-videos", "1",
            "--actors", "2", "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--plots", "0"]
    return args, output, settings


def rows_per_video(output: str, settings) -> Counter:
    """How many `videos_all` rows each video has; every one must be ok (a store fault is never a
    video's failure)."""
    videos = tables.read_table(output, "videos", settings, columns=["video_id", "status"]).to_pylist()
    assert {v["status"] for v in videos} <= {"ok"}, videos
    return Counter(v["video_id"] for v in videos)


def assert_once_per_model(output: str, settings, runs: int = 1) -> None:
    """The results views: every video exactly once for the model, its events from that one commit,
    and `runs` rows for the runs that finished."""
    con = query.connect(output, settings)
    per_video = query.run(con, "SELECT video_id, count(*) AS n FROM videos GROUP BY 1")
    assert len(per_video) == VIDEOS and set(per_video.column("n").to_pylist()) == {1}
    sets = query.run(con, 'SELECT video_id, count(DISTINCT "commit") AS n FROM events GROUP BY 1')
    assert len(sets) == VIDEOS and set(sets.column("n").to_pylist()) == {1}
    levels = query.run(con, "SELECT video_id, count(DISTINCT level) AS n FROM events GROUP BY 1")
    assert set(levels.column("n").to_pylist()) == {3}
    assert query.run(con, "SELECT count(*) FROM runs").column(0)[0].as_py() == runs


def test_two_runs_on_one_output_at_once(setup, jobs):
    args, output, settings = setup
    first, second = jobs.start(args), jobs.start(args)
    results = [jobs.finish(first), jobs.finish(second)]
    assert [status for status, _, _ in results] == [0, 0], [log[-2000:] for _, _, log in results]
    summaries = [summary for _, summary, _ in results]
    assert_once_per_model(output, settings, runs=2)
    # no commit lost: each run's markers name exactly the videos it reports, and their rows are there
    markers = [json.loads(storage.read_bytes(storage.join(output, tables.COMMITS_DIR, f"{c}.json"), settings))
               for c in tables.committed_ids(output, settings)]
    videos = tables.read_table(output, "videos", settings, columns=["run_id", "video_id"]).to_pylist()
    for summary in summaries:
        named = [v for m in markers if m.get("run_id") == summary["run_id"] for v in m.get("videos", [])]
        rows = [v["video_id"] for v in videos if v["run_id"] == summary["run_id"]]
        assert len(named) == summary["videos_ok"] and sorted(named) == sorted(rows) and len(set(rows)) == len(rows)
    assert len(rows_per_video(output, settings)) == VIDEOS


def test_store_restarts_mid_run(setup, jobs, store):
    """Past the retry budget (1 s) the run stops with one `error:` line and records no video as
    failed; with the default budget a restart (15-20 s) is ridden out; the re-run does the rest."""
    args, output, settings = setup
    short = jobs.start(args, STREAMER_S3_RETRY_S="1")
    jobs.wait_for_commits(output, settings, short)
    store.down()
    status, _, log = jobs.finish(short)
    store.up()
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert status == 2 and len(errors) == 1 and "run the job again" in errors[0], log[-3000:]
    done = rows_per_video(output, settings)
    assert 0 < len(done) < VIDEOS and set(done.values()) == {1}

    rerun = jobs.start(args)
    before = tables.committed_ids(output, settings)
    jobs.wait_for_commits(output, settings, rerun, count=len(before) + 1)
    assert rerun.poll() is None
    store.restart()
    status, summary, log = jobs.finish(rerun)
    assert status == 0, log[-3000:]
    assert (summary["videos_ok"], summary["videos_skipped"]) == (VIDEOS - len(done), len(done))
    done = rows_per_video(output, settings)
    assert len(done) == VIDEOS and set(done.values()) == {1}
    assert_once_per_model(output, settings)


def _busy_actor(job, timeout_s: float = 120) -> int:
    """The PID of a segment actor while it runs a batch (a running task of the actor pool)."""
    from ray.util.state import list_tasks

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and job.poll() is None:
        for task in list_tasks(filters=[("state", "=", "RUNNING")], detail=True):
            if "SegmentActor" in task.name and task.worker_pid:
                return task.worker_pid
        time.sleep(0.1)
    raise AssertionError("no segment batch seen running")


@pytest.mark.parametrize("setup", [(20, 30)], indirect=True)  # batches of a few seconds, to be caught running
def test_actor_killed_mid_batch(setup, jobs):
    args, output, settings = setup
    job = jobs.start([*args, "--batch-videos", "4"])
    os.kill(_busy_actor(job), signal.SIGKILL)
    status, summary, log = jobs.finish(job)
    assert status == 0, log[-3000:]
    assert summary["videos_ok"] == VIDEOS
    assert set(rows_per_video(output, settings).values()) == {1}
    assert_once_per_model(output, settings)


def test_read_only_store_is_one_error_and_nothing_written(setup, jobs, store):
    """A key that may read the footage and the model but not write the output."""
    args, output, settings = setup
    job = jobs.start(args, **store.reader_env())
    status, _, log = jobs.finish(job)
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert status == 2 and len(errors) == 1 and output in errors[0], log[-3000:]
    bucket, key = storage.split_s3(output)
    listed = storage.s3_client(settings).list_objects_v2(Bucket=bucket, Prefix=key)
    assert listed.get("KeyCount", 0) == 0


def test_full_output_is_one_error_then_a_rerun_finishes(setup, jobs, tmp_path):
    """A local output on a 64 KB tmpfs: room for a few commits, then no space left. Every visible
    commit is whole; once there is room again the re-run does the rest."""
    args, _, settings = setup
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        output = str(disk / "results")
        args = [*args[:args.index("--output") + 1], output, *args[args.index("--output") + 2:]]
        status, _, log = jobs.finish(jobs.start(args))
        errors = [line for line in log.splitlines() if line.startswith("error:")]
        assert status == 2 and len(errors) == 1 and "no space left" in errors[0] and output in errors[0], log[-3000:]
        done = rows_per_video(output, settings)
        assert len(done) < VIDEOS and set(done.values()) <= {1}
        for name in tables.SCHEMAS:
            tables.read_table(output, name, settings)  # every committed file is whole
        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)
        status, summary, log = jobs.finish(jobs.start(args))
        assert status == 0, log[-3000:]
        assert (summary["videos_ok"], summary["videos_skipped"]) == (VIDEOS - len(done), len(done))
        assert set(rows_per_video(output, settings).values()) == {1}
        assert_once_per_model(output, settings)
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)
