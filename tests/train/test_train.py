"""The training job on a local Ray cluster, over a small corpus with bad files in SeaweedFS:
every video learned exactly once, identical weights on every worker after the final sync,
uneven shares, a killed worker, a stopped run resumed, bad input refused before any worker."""
from __future__ import annotations

from collections import Counter

import pytest
from helpers.train import (
    assert_exactly_once,
    assert_tracked,
    read_run_record,
    write_training_corpus,
)

from pipelines.data import storage
from pipelines.train.job import TrainInputError, TrainOptions, plan_run, train
from pipelines.train.worker import CrashOnce
from streamer_core import ConfigError, load_config


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return write_training_corpus(tmp_path_factory.mktemp("train-corpus"))


@pytest.fixture
def corpus(corpus_dir, upload_corpus) -> str:
    return upload_corpus(corpus_dir)


def assert_resumed_once(record) -> None:
    """The second attempt began from a checkpoint the first one cut (its record, not from scratch),
    with videos left to learn."""
    assert len(record.starts) == 2 and record.starts[0] == 0, record.starts
    assert 0 < record.starts[1] < len(record.videos)
    assert record.starts[1] in [entry["videos"] for entry in record.history]


def _config(corpus: str, bucket: str, *extra: str):
    return load_config("tiny", overrides=[f"data.input={corpus}", f"train.checkpoint_dir={bucket}/ckpt",
                                          "train.workers=2", "train.checkpoint_every=1", *extra])


@pytest.mark.slow
def test_two_workers_learn_every_video_exactly_once(corpus, s3_bucket, s3_server, ray_cluster, tmp_path):
    cfg, s3 = _config(corpus, s3_bucket), s3_server.settings()
    tracking = f"sqlite:///{tmp_path}/mlflow.db"
    summary = train(cfg, TrainOptions(tracking_uri=tracking, s3=s3))
    record = read_run_record(summary.run_dir, s3)
    assert_exactly_once(record, corpus, cfg, s3)
    shares = Counter(v.rank for v in record.videos)
    assert len(shares) == 2 and len(set(shares.values())) == 2  # uneven shares, no deadlock
    assert len(record.history) >= 3  # checkpoints were cut mid-run, not only at the end
    assert record.starts == [0]  # one attempt, from scratch
    assert summary.failed_videos == 2 and summary.videos == len(record.videos) - 2
    assert summary.checkpoint == storage.join(summary.run_dir, "model.pt")
    assert_tracked(tracking, summary.mlflow_run_id, summary.checkpoint, s3)


@pytest.mark.slow
def test_killed_worker_restarts_from_the_last_checkpoint(corpus, s3_bucket, s3_server, ray_cluster, tmp_path):
    cfg, s3 = _config(corpus, s3_bucket, "train.max_failures=1"), s3_server.settings()
    marker = tmp_path / "crashed"
    options = TrainOptions(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", s3=s3,
                           crash_once=CrashOnce(rank=1, after_videos=2, marker=str(marker)))
    summary = train(cfg, options)
    assert marker.exists()  # the worker did die mid-run
    record = read_run_record(summary.run_dir, s3)
    assert_exactly_once(record, corpus, cfg, s3)
    assert_resumed_once(record)


@pytest.mark.slow
def test_stopped_run_resumes_from_its_checkpoint(corpus, s3_bucket, s3_server, ray_cluster, tmp_path):
    from ray.train import TrainingFailedError

    cfg, s3 = _config(corpus, s3_bucket, "train.max_failures=0"), s3_server.settings()
    tracking = f"sqlite:///{tmp_path}/mlflow.db"
    crash = CrashOnce(rank=1, after_videos=2, marker=str(tmp_path / "crashed"))
    with pytest.raises(TrainingFailedError):
        train(cfg, TrainOptions(tracking_uri=tracking, s3=s3, crash_once=crash, run_name="stopped"))
    summary = train(cfg, TrainOptions(tracking_uri=tracking, s3=s3, resume="last"))
    assert summary.run_name == "stopped"
    record = read_run_record(summary.run_dir, s3)
    assert_exactly_once(record, corpus, cfg, s3)
    assert_resumed_once(record)
    assert record.history[0]["finished"] == 0 and record.history[-1]["finished"] == 1


def test_bad_config_or_input_fails_before_any_worker(tmp_path):
    folder = tmp_path / "nothing"
    with pytest.raises(TrainInputError, match="corpus folder not found"):
        plan_run(load_config("tiny", overrides=[f"data.input={folder}"]), TrainOptions())
    folder.mkdir()
    with pytest.raises(TrainInputError, match="no videos"):
        plan_run(load_config("tiny", overrides=[f"data.input={folder}"]), TrainOptions())
    with pytest.raises(ConfigError, match="data.input"):
        plan_run(load_config("tiny"), TrainOptions())
    with pytest.raises(ConfigError, match="model.image_size"):
        plan_run(load_config("tiny", overrides=[f"data.input={folder}", "model.image_size=16",
                                                "model.encoder_channels=4,8"]), TrainOptions())
