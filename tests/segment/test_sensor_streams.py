"""Sensor streams through both jobs, as a user with `.npy` recordings in S3 would run them: the
recommended preset told only `model.input_kind=features` (the width is read from the corpus), two
training workers, then the segment job; a stream with a NaN and an empty one fail by name in both,
and every other stream is learned once and segmented into a nested hierarchy, its MLflow timelines
drawn from its rows."""
from __future__ import annotations

import mlflow
import numpy as np
import pytest
from helpers.segment import check_events

from pipelines.data import storage
from pipelines.results import query
from pipelines.segment.job import SegmentOptions, segment
from pipelines.train.job import TrainOptions, train
from streamer_core import StreamerModel, load_config
from streamer_core.config import InferenceConfig

WIDTH = 6
BAD = ("broken/empty.npy", "broken/nan.npy")


def _streams(folder) -> list[str]:
    """Four streams of three stretches each (a step in the mean of a few columns), and the two bad ones."""
    rng = np.random.default_rng(11)
    names = []
    for k in range(4):
        rows = rng.normal(size=(60 + 10 * k, WIDTH)).astype(np.float32)
        rows[20:40, : 2 + k % 3] += 3.0
        names.append(f"arm/s{k}.npy")
        (folder / "arm").mkdir(parents=True, exist_ok=True)
        np.save(folder / names[-1], rows)
    (folder / "broken").mkdir()
    np.save(folder / BAD[0], np.zeros((0, WIDTH), np.float32))
    nan = rng.normal(size=(50, WIDTH)).astype(np.float32)
    nan[30, 1] = np.nan
    np.save(folder / BAD[1], nan)
    return names


@pytest.mark.slow
def test_sensor_streams_are_learned_and_segmented_and_bad_ones_fail_by_name(ray_cluster, s3_server, s3_bucket,
                                                                            tmp_path):
    settings = s3_server.settings()
    names = _streams(tmp_path / "streams")
    storage.upload_dir(tmp_path / "streams", f"{s3_bucket}/sensors", settings)
    cfg = load_config("tiny-default", overrides=[f"data.input={s3_bucket}/sensors", "model.input_kind=features",
                                                 "train.workers=2", f"train.checkpoint_dir={s3_bucket}/ckpt"])
    learned = train(cfg, TrainOptions(tracking_uri=f"sqlite:///{tmp_path}/train.db", s3=settings))
    assert (learned.videos, sorted(learned.failed)) == (len(names), sorted(BAD))
    model = StreamerModel.from_checkpoint(storage.read_bytes(learned.checkpoint, settings))
    assert model.cfg.feature_dim == WIDTH  # read from a stream's header

    tracking = f"sqlite:///{tmp_path}/segment.db"
    options = SegmentOptions(checkpoint=learned.checkpoint, input=f"{s3_bucket}/sensors",
                             output=f"{s3_bucket}/results", tracking_uri=tracking, plots=2,
                             inference=InferenceConfig(batch_videos=2, actors=2))
    done = segment(options, settings)
    assert (done.videos_ok, done.videos_failed) == (len(names), len(BAD))
    con = query.connect(options.output, settings)
    videos = query.run(con, "SELECT video_id, status, error, duration_s FROM videos ORDER BY 1").to_pylist()
    assert [v["video_id"] for v in videos if v["status"] == "failed"] == sorted(BAD)
    assert all(v["video_id"] in v["error"] for v in videos if v["status"] == "failed")
    for video in (v for v in videos if v["status"] == "ok"):
        events = query.video_events(con, video["video_id"]).to_pylist()
        assert check_events(events, video["duration_s"]) >= 2
        assert video["duration_s"] == pytest.approx(0.5 * np.load(tmp_path / "streams" / video["video_id"]).shape[0])
    client = mlflow.MlflowClient(tracking)
    pngs = [a.path for a in client.list_artifacts(done.mlflow_run_id, "timelines")]
    assert len(pngs) == 2 and all(p.endswith(".npy.png") for p in pngs)
