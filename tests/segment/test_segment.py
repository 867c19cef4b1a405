"""The segment job: bad files and checkpoints (plain Python), then end to end against SeaweedFS,
a local Ray cluster and a sqlite MLflow store: tables, nesting, MLflow, nightly runs, a killed run,
the run compacted (`--compact`)."""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import mlflow
import pytest
from helpers.segment import ROOT, check_events, make_corpus, train_tiny

from pipelines.data import storage
from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings
from pipelines.results import compact, query, tables
from pipelines.segment import cli
from pipelines.segment.job import SegmentOptions, segment
from pipelines.segment.segmenter import load_model, segment_rows, split_batch, to_batch
from streamer_core import CheckpointError
from streamer_core.config import InferenceConfig


@pytest.fixture(scope="module")
def local_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segment")
    corpus = make_corpus(folder / "corpus", videos=3)
    return corpus, train_tiny(str(corpus), str(folder / "model.pt"))


def test_bad_files_fail_alone_and_the_rest_is_complete(local_model):
    corpus, checkpoint = local_model
    loaded = load_model(checkpoint)
    out = list(segment_rows(loaded.model, list_corpus(str(corpus)), DecodeSettings.for_model(loaded.model.cfg)))
    by_id = {r.video_id: r for r in out}
    assert sorted(by_id) == sorted(r.video_id for r in list_corpus(str(corpus)))
    for name in ("broken/corrupt.mp4", "broken/empty.mp4"):
        assert by_id[name].status == "failed" and name in by_id[name].error and not by_id[name].events
    good = [r for r in out if r.status == "ok"]
    assert len(good) == 3
    for r in good:
        assert r.frames == int(r.duration_s / 0.5 + 1e-6) and check_events(r.events, r.duration_s) == 3
        cuts = [sum(e["level"] == level for e in r.events) - 1 for level in range(3)]  # inputs sent up
        assert [len(s) for s in r.scores] == [r.frames - 1, max(cuts[0] - 1, 0), max(cuts[1] - 1, 0)]
    tables = split_batch(to_batch(out, "r1", loaded.version))
    stored = tables["videos"].column("scores").to_pylist()  # float32 copies of every level's scores
    assert [[len(level) for level in s] for s in stored] == [[len(level) for level in r.scores] for r in out]
    assert tables["videos"].column("changes").to_pylist() == [[] for _ in out]  # tiny has no hard cuts
    assert tables["videos"].num_rows == 5 and tables["events"].num_rows == sum(len(r.events) for r in good)
    assert set(tables["events"].column("run_id").to_pylist()) == {"r1"}


def test_missing_or_incompatible_checkpoint_fails_before_any_work(local_model, tmp_path):
    corpus, _ = local_model
    not_a_model = tmp_path / "model.pt"
    not_a_model.write_bytes(b"\x00not a checkpoint")
    for checkpoint, message in ((str(tmp_path / "nope.pt"), "checkpoint not found"),
                                (str(not_a_model), "cannot read checkpoint")):
        options = SegmentOptions(checkpoint=checkpoint, input=str(corpus), output=str(tmp_path / "out"),
                                 tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
        with pytest.raises(CheckpointError, match=message) as info:
            segment(options)
        assert checkpoint in str(info.value) and "BytesIO" not in str(info.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "mlflow.db").exists()


def test_placement_options_place_the_events_again_under_their_own_version(local_model):
    corpus, checkpoint = local_model
    online, placed = load_model(checkpoint), load_model(checkpoint, placement={"refine": 0.2})
    assert online.model.cfg.refine == 0.0 and placed.model.cfg.refine == 0.2  # tiny cuts online only
    assert placed.version == online.version + "+refine=0.2"
    assert load_model(checkpoint, placement={"refine": 0.0}).version == online.version  # the checkpoint's own
    rows = [r for r in list_corpus(str(corpus)) if "broken" not in r.video_id]
    decode = DecodeSettings.for_model(online.model.cfg)
    results = [list(segment_rows(m.model, rows, decode)) for m in (online, placed)]
    for result in results[1]:
        assert result.status == "ok" and check_events(result.events, result.duration_s) == 3
    assert [r.events for r in results[0]] != [r.events for r in results[1]]  # the pass placed them again


def _upload(folder, uri, settings):
    storage.upload_dir(folder, uri, settings)
    return uri


@pytest.mark.slow
def test_end_to_end_then_nightly(ray_cluster, s3_server, s3_bucket, tmp_path):
    settings = s3_server.settings()
    footage = _upload(make_corpus(tmp_path / "corpus"), f"{s3_bucket}/footage", settings)
    checkpoint = train_tiny(footage, f"{s3_bucket}/models/model.pt", settings)
    options = SegmentOptions(checkpoint=checkpoint, input=footage, output=f"{s3_bucket}/results",
                             tracking_uri=f"sqlite:///{tmp_path}/mlflow/mlflow.db", plots=2,
                             inference=InferenceConfig(batch_videos=3, actors=2))
    first = segment(options, settings)
    assert (first.videos_ok, first.videos_failed, first.videos_skipped) == (4, 2, 0)
    objects = sorted(r.video_id for r in list_corpus(footage, settings))
    con = query.connect(options.output, settings)
    videos = query.run(con, "SELECT * FROM videos_all ORDER BY video_id").to_pylist()
    assert [v["video_id"] for v in videos] == objects  # one row per object
    assert [v["video_id"] for v in query.example(con, "failed").to_pylist()] == sorted(
        ["broken/corrupt.mp4", "broken/empty.mp4"])
    for video in (v for v in videos if v["status"] == "ok"):
        events = query.video_events(con, video["video_id"]).to_pylist()
        assert check_events(events, video["duration_s"]) == 3 and events[0]["model_version"] == first.model_version
    assert query.run(con, "SELECT count(*) FROM events").column(0)[0].as_py() == first.events
    _check_examples(con, videos[-1])
    _check_mlflow(options.tracking_uri, first)

    again = segment(options, settings)
    assert (again.videos_ok, again.videos_failed, again.videos_skipped) == (0, 0, 6)
    _upload(make_corpus(tmp_path / "more", videos=2, seed=7, bad=False), f"{footage}/new", settings)
    third = segment(options, settings)
    assert (third.videos_ok, third.videos_failed, third.videos_skipped) == (2, 0, 6)
    con = query.connect(options.output, settings)
    added = query.run(con, "SELECT video_id FROM videos_all WHERE run_id = $r ORDER BY 1", {"r": third.run_id})
    assert added.column(0).to_pylist() == ["new/part0/video_000.mp4", "new/part1/video_001.mp4"]
    runs = query.example(con, "runs").to_pylist()
    assert [r["counts"]["ok"] for r in runs] == [4, 0, 2]

    placed = segment(dataclasses.replace(options, placement={"refine": 0.2}), settings)  # another version: all again
    assert placed.model_version == first.model_version + "+refine=0.2"
    assert (placed.videos_ok, placed.videos_failed, placed.videos_skipped) == (6, 2, 0)
    con = query.connect(options.output, settings)
    versions = query.run(con, "SELECT DISTINCT model_version FROM events WHERE run_id = $r", {"r": placed.run_id})
    assert versions.column(0).to_pylist() == [placed.model_version]


def _check_examples(con, video: dict) -> None:
    """The README examples on real output: the time query and the similar-events query."""
    t = round(video["duration_s"] / 2, 2) + 0.25
    covering = query.example(con, "at_time", video_id=video["video_id"], t=t).to_pylist()
    assert [e["level"] for e in covering] == [0, 1, 2]
    assert all(e["start_s"] <= t < e["end_s"] for e in covering)
    similar = query.example(con, "similar", video_id=video["video_id"], level=0, event_index=1, k=3).to_pylist()
    assert (similar[0]["video_id"], similar[0]["event_index"]) == (video["video_id"], 1)
    assert similar[0]["similarity"] == pytest.approx(1.0, abs=1e-4) and len(similar) == 3


def _check_mlflow(uri: str, summary) -> None:
    client = mlflow.MlflowClient(uri)
    run = client.get_run(summary.mlflow_run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == summary.run_id
    assert run.data.tags["model_version"] == summary.model_version
    assert run.data.params["options.checkpoint"].endswith("models/model.pt")
    assert run.data.metrics["videos_ok"] == 4 and run.data.metrics["videos_failed"] == 2
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"summary.json", "timelines"}
    pngs = [a.path for a in client.list_artifacts(run.info.run_id, "timelines")]
    assert len(pngs) == 2 and all(p.endswith(".png") for p in pngs)


def _run_job(args: list[str], env: dict, log, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "jobs" / "segment.py"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True, **kw)


def _wait_until_quiet(output: str, settings, quiet_s: float = 3.0) -> None:
    """A killed driver's Ray workers die soon after it; wait until no commit has appeared for a while."""
    seen, since = tables.committed_ids(output, settings), time.monotonic()
    while time.monotonic() - since < quiet_s:
        time.sleep(0.5)
        now = tables.committed_ids(output, settings)
        if now != seen:
            seen, since = now, time.monotonic()


@pytest.mark.slow
def test_killed_run_resumes_without_duplicates(ray_cluster, s3_server, s3_bucket, tmp_path):
    settings = s3_server.settings()
    footage = _upload(make_corpus(tmp_path / "corpus", videos=8, min_duration_s=20, max_duration_s=30, bad=False),
                      f"{s3_bucket}/footage", settings)
    checkpoint = train_tiny(footage, f"{s3_bucket}/model.pt", settings)
    output = f"{s3_bucket}/results"
    args = ["--checkpoint", checkpoint, "--input", footage, "--output", output, "--batch-videos", "1",
            "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--plots", "0"]
    env = {**os.environ, **s3_server.env(), "RAY_ADDRESS": ray_cluster}
    with open(tmp_path / "job.log", "w") as log:
        job = _run_job(args, env, log)
        while not tables.committed_ids(output, settings):
            assert job.poll() is None, (tmp_path / "job.log").read_text()[-3000:]
            time.sleep(0.02)
        os.kill(job.pid, signal.SIGKILL)
        job.wait()
    _wait_until_quiet(output, settings)
    before = Counter(tables.read_table(output, "videos", settings).column("video_id").to_pylist())
    assert 0 < len(before) < 8 and set(before.values()) == {1}

    with open(tmp_path / "rerun.log", "w") as log:
        stdout, _ = _run_job(args, env, log).communicate(timeout=300)
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert (summary["videos_ok"], summary["videos_skipped"]) == (8 - len(before), len(before))
    con = query.connect(output, settings)
    per_video = query.run(con, "SELECT video_id, count(*) AS n FROM videos_all WHERE status = 'ok' GROUP BY 1")
    assert len(per_video) == 8 and set(per_video.column("n").to_pylist()) == {1}
    sets = query.run(con, 'SELECT video_id, count(DISTINCT "commit") AS n FROM events_all GROUP BY 1')
    assert len(sets) == 8 and set(sets.column("n").to_pylist()) == {1}


@pytest.mark.slow
def test_compact_flag_leaves_few_files_and_every_event_once(ray_cluster, s3_server, s3_bucket, tmp_path,
                                                            monkeypatch, capsys):
    settings = s3_server.settings()
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    footage = _upload(make_corpus(tmp_path / "corpus", videos=3, bad=False), f"{s3_bucket}/footage", settings)
    output = f"{s3_bucket}/results"
    argv = ["--checkpoint", train_tiny(footage, f"{s3_bucket}/model.pt", settings), "--input", footage,
            "--output", output, "--batch-videos", "1", "--actors", "1", "--plots", "0", "--compact",
            "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db"]
    assert cli.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    files = summary["compaction"]["tables"]
    assert (files["events"]["files_before"], files["videos"]["files_before"]) == (3, 3)  # a commit per video
    assert compact.visible_files(output, settings) == {name: 1 for name in files}
    con = query.connect(output, settings)
    once = query.run(con, 'SELECT count(*), count(DISTINCT (video_id, level, event_index, "commit")), '
                          'count(DISTINCT (video_id, level, event_index)) FROM events_all').to_pylist()[0]
    assert list(once.values()) == [summary["events"]] * 3 == [files["events"]["rows"]] * 3
    for video in query.run(con, "SELECT * FROM videos").to_pylist():
        assert check_events(query.video_events(con, video["video_id"]).to_pylist(), video["duration_s"]) == 3
    events = query.run(con, "SELECT * FROM events_all ORDER BY ALL")

    # a compaction that fails (the store full) is one error line; the run's rows stay as they were
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(compact, "write", full)
    assert cli.main(argv) == 2  # nightly: nothing to segment, a `runs` row, then the compaction
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: no space left to write {output}; {compact.STOPPED}"] and "Traceback" not in err, err
    con = query.connect(output, settings)
    assert query.run(con, "SELECT * FROM events_all ORDER BY ALL") == events
    assert len(query.example(con, "runs")) == 2
