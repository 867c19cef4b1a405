"""One-line inference (`from pipelines import InferenceModel`) and its command (jobs/segment_file.py):
the segment job's events for the same file and checkpoint, files advanced together as alone, a bad
file named in one error while the others are done, a missing checkpoint refused at once."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers.segment import ROOT, check_events, make_corpus, train_tiny

from pipelines import InferenceModel
from pipelines.cli import UserError
from pipelines.results import query
from pipelines.segment.job import SegmentOptions, segment
from streamer_core import CheckpointError, Hierarchy, InputError


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inference")
    corpus = make_corpus(folder / "corpus", videos=2)
    videos = sorted(str(p) for p in corpus.glob("part*/*.mp4"))
    return corpus, videos, train_tiny(str(corpus), str(folder / "model.pt"))


def events(h: Hierarchy) -> list[tuple]:
    return [(r["level"], r["event_index"], r["start_s"], r["end_s"], r["parent_index"]) for r in h.to_rows()]


def test_one_file_and_files_together(trained):
    _, videos, checkpoint = trained
    model = InferenceModel(checkpoint=checkpoint)
    alone = [model(filename=v) for v in videos]
    together = model(filename=list(reversed(videos)))
    assert [h.video_id for h in together] == list(reversed(videos))
    for one, batched in zip(alone, reversed(together)):
        assert isinstance(one, Hierarchy) and events(one) == events(batched)
        assert check_events(one.to_rows(), one.duration_s) == 3 and len(one.levels[0]) > 2
        assert all(e.embedding.shape == (32,) for level in one.levels for e in level)
        np.testing.assert_allclose(one.levels[0][1].embedding, batched.levels[0][1].embedding, atol=1e-5)
        assert len(one.scores[0]) == round(one.duration_s / 0.5) - 1
        assert json.loads(one.to_json())["levels"][0][1]["start_s"] == one.levels[0][1].start_s


def test_a_bad_file_is_named_and_the_others_are_done(trained):
    corpus, videos, checkpoint = trained
    model = InferenceModel(checkpoint=checkpoint, precision="float32")
    bad = str(corpus / "broken" / "corrupt.mp4")
    with pytest.raises(InputError, match=f"{bad}:"):
        model(filename=[videos[0], bad])
    results = {r.video_id: r for r in model.results([videos[0], bad])}
    assert results[videos[0]].status == "ok" and results[bad].status == "failed"
    with pytest.raises(UserError, match="given more than once"):
        model(filename=[videos[0], videos[0]])
    with pytest.raises(UserError, match="precision 'half'"):
        InferenceModel(checkpoint=checkpoint, precision="half")


def test_missing_checkpoint_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match=f"checkpoint not found: {tmp_path}/none.pt"):
        InferenceModel(checkpoint=tmp_path / "none.pt")


def test_command_writes_each_good_file_and_names_each_bad_one(trained, tmp_path):
    corpus, videos, checkpoint = trained
    bad = str(corpus / "broken" / "empty.mp4")
    done = subprocess.run([sys.executable, "jobs/segment_file.py", "--checkpoint", checkpoint, videos[0], bad,
                           "--format", "vtt", "--out", str(tmp_path), "--set", "model.refine=0.2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and bad in errors[0], done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["videos_ok"] == 1 and list(summary["failed"]) == [bad]
    assert summary["model_version"].endswith("+refine=0.2")  # placed by the pass, unlike the checkpoint's tiny
    assert [p.rsplit(".", 2)[-2:] for p in summary["written"]] == [["L0", "vtt"], ["L1", "vtt"], ["L2", "vtt"]]
    assert all(open(p).read().startswith("WEBVTT") for p in summary["written"])


@pytest.mark.slow
def test_the_segment_job_finds_the_same_events(trained, ray_cluster, tmp_path):
    corpus, videos, checkpoint = trained
    summary = segment(SegmentOptions(checkpoint=checkpoint, input=str(corpus), output=str(tmp_path / "out"),
                                     tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", plots=0))
    assert summary.videos_ok == len(videos)
    con = query.connect(str(tmp_path / "out"))
    model = InferenceModel(checkpoint=checkpoint)
    for path, mine in zip(videos, model(filename=videos)):
        stored = query.stored_video(con, os.path.relpath(path, corpus))
        assert stored.uri == path and events(stored.hierarchy) == events(mine)
        for theirs, level in zip(stored.hierarchy.scores, mine.scores):  # the actor's one thread sums in
            np.testing.assert_allclose(theirs, level, rtol=1e-5)             # another order: float32 noise
        for theirs, level in zip(stored.hierarchy.levels, mine.levels):
            np.testing.assert_allclose([e.embedding for e in theirs], [e.embedding for e in level], atol=1e-5)
