"""The training job while its S3 store is killed and restarted (15-20 s down) part-way through,
against a real SeaweedFS store and a real Ray cluster: the clients' retries ride it out, and every
video is learned exactly once (the run's record, checked as the training tests check it)."""
from __future__ import annotations

import threading
import time

import pytest
from helpers.train import assert_exactly_once, read_run_record, write_training_corpus

from pipelines.data import storage
from pipelines.train.job import TrainOptions, train
from streamer_core import load_config

pytestmark = pytest.mark.slow


def _restart_after_first_checkpoint(store, run_root: str, done: threading.Event, log: dict) -> None:
    """Kills and restarts the store once Ray Train has written a checkpoint under `run_root`
    (`checkpoint_<time>/`, not the run's own files written before it starts): the workers are
    mid-run, between videos, with more to read and checkpoints to write."""
    bucket, prefix = storage.split_s3(run_root)
    client = storage.s3_client(store.settings())
    while not done.is_set():
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        if any("/checkpoint_" in item["Key"] for item in listed):
            break
        time.sleep(0.05)
    else:
        return
    log["killed_at"] = time.monotonic()
    store.restart()
    log["down_s"] = time.monotonic() - log["killed_at"]


def test_store_restarts_mid_training(store, bucket, ray_cluster, tmp_path):
    settings = store.settings()
    corpus = storage.join(bucket, "footage")
    storage.upload_dir(write_training_corpus(tmp_path / "corpus"), corpus, settings)
    cfg = load_config("tiny", overrides=[f"data.input={corpus}", f"train.checkpoint_dir={bucket}/ckpt",
                                         "train.workers=2", "train.checkpoint_every=1", "train.max_failures=0"])
    done, log = threading.Event(), {}
    fault = threading.Thread(target=_restart_after_first_checkpoint,
                             args=(store, f"{bucket}/ckpt", done, log))
    fault.start()
    try:
        summary = train(cfg, TrainOptions(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", s3=settings))
        ended = time.monotonic()
    finally:
        done.set()
        fault.join()
    assert log.get("down_s", 0) > 5 and ended > log["killed_at"]  # down, then back, while the run went on
    record = read_run_record(summary.run_dir, settings)
    assert_exactly_once(record, corpus, cfg, settings)  # no video lost to the outage, none learned twice
    assert record.starts == [0]  # ridden out by the retries: no attempt failed and restarted
