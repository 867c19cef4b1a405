"""The training job on a local Ray cluster, over a small corpus with bad files in SeaweedFS:
every video learned exactly once, identical weights on every worker after the final sync,
uneven shares, a killed worker, a stopped run resumed, bad input refused before any worker."""
from __future__ import annotations

import os
import socket
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


@pytest.fixture(scope="module")
def ray_local():
    """A local cluster whose state API is its own dashboard: Ray Train's placement-group
    cleaner otherwise auto-detects the newest cluster on the machine, which may be another
    test's, finds no controller there and tears down this run's workers."""
    import ray

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    saved = os.environ.get("RAY_API_SERVER_ADDRESS")
    os.environ["RAY_API_SERVER_ADDRESS"] = f"http://127.0.0.1:{port}"
    ray.init(address="local", num_cpus=4, include_dashboard=True, dashboard_port=port)
    yield
    ray.shutdown()
    if saved is None:
        os.environ.pop("RAY_API_SERVER_ADDRESS")
    else:
        os.environ["RAY_API_SERVER_ADDRESS"] = saved


def _config(corpus: str, bucket: str, *extra: str):
    return load_config("tiny", overrides=[f"data.input={corpus}", f"train.checkpoint_dir={bucket}/ckpt",
                                          "train.workers=2", "train.checkpoint_every=1", *extra])


@pytest.mark.slow
def test_two_workers_learn_every_video_exactly_once(corpus, s3_bucket, s3_server, ray_local, tmp_path):
    cfg, s3 = _config(corpus, s3_bucket), s3_server.settings()
    tracking = f"sqlite:///{tmp_path}/mlflow.db"
    summary = train(cfg, TrainOptions(tracking_uri=tracking, s3=s3))
    record = read_run_record(summary.run_dir, s3)
    assert_exactly_once(record, corpus, cfg, s3)
    shares = Counter(v.rank for v in record.videos)
    assert len(shares) == 2 and len(set(shares.values())) == 2  # uneven shares, no deadlock
    assert len(record.history) >= 3  # checkpoints were cut mid-run, not only at the end
    assert summary.failed_videos == 2 and summary.videos == len(record.videos) - 2
    assert summary.checkpoint == storage.join(summary.run_dir, "model.pt")
    assert_tracked(tracking, summary.mlflow_run_id, summary.checkpoint, s3)


@pytest.mark.slow
def test_killed_worker_restarts_from_the_last_checkpoint(corpus, s3_bucket, s3_server, ray_local, tmp_path):
    cfg, s3 = _config(corpus, s3_bucket, "train.max_failures=1"), s3_server.settings()
    marker = tmp_path / "crashed"
    options = TrainOptions(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", s3=s3,
                           crash_once=CrashOnce(rank=1, after_videos=2, marker=str(marker)))
    summary = train(cfg, options)
    assert marker.exists()  # the worker did die mid-run
    assert_exactly_once(read_run_record(summary.run_dir, s3), corpus, cfg, s3)


@pytest.mark.slow
def test_stopped_run_resumes_from_its_checkpoint(corpus, s3_bucket, s3_server, ray_local, tmp_path):
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
