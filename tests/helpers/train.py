"""A small training corpus with bad files, and the checks every training test makes."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import mlflow

from helpers.bad_files import MP4_GARBAGE, corrupt_middle, write_files
from pipelines.data import storage
from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks
from pipelines.sample.corpus import CorpusOptions, write_corpus
from pipelines.train.record import TrainRecord
from streamer_core import Config, StreamerModel

# drawn at 64 px, decoded at the tiny preset's 32 px; one long video makes the shares uneven
SHORT = CorpusOptions(videos=5, seed=3, min_duration_s=3, max_duration_s=6, size=64, fps=(10.0,),
                      style="flat")
LONG = CorpusOptions(videos=1, seed=4, min_duration_s=24, max_duration_s=24, size=64, fps=(10.0,),
                     style="flat")
BAD = ("bad/corrupt.mp4", "bad/damaged.mp4")


def write_training_corpus(root: Path) -> Path:
    """Five short videos, a long one, a corrupt file and a damaged copy of a good one."""
    write_corpus(root / "short", SHORT)
    write_corpus(root / "long", LONG)
    some = sorted((root / "short").rglob("*.mp4"))[0]
    write_files(root, dict(zip(BAD, (MP4_GARBAGE, corrupt_middle(some.read_bytes(), start=0.6, fraction=0.3)))))
    return root


def expected_samples(corpus_uri: str, cfg: Config, s3=None) -> dict[str, int]:
    """Samples each ok video yields (what exactly-once learning must have consumed)."""
    settings = DecodeSettings.for_model(cfg.model, chunk_frames=cfg.data.chunk_frames)
    counts = {}
    for row in list_corpus(corpus_uri, s3):
        chunks = list(iter_chunks(row, settings, s3))
        if not chunks[-1]["error"]:
            counts[row.video_id] = sum(len(c["samples"]) for c in chunks)
    return counts


def read_run_record(run_dir: str, s3=None) -> TrainRecord:
    return TrainRecord.from_json(storage.read_bytes(storage.join(run_dir, "record.json"), s3).decode())


def assert_exactly_once(record: TrainRecord, corpus_uri: str, cfg: Config, s3=None) -> None:
    """Every listed video appears once in the record; ok ones with all their samples; the bad
    files as failed; the ranks' weights identical at the final sync."""
    listed = [r.video_id for r in list_corpus(corpus_uri, s3)]
    counts = Counter(v.video_id for v in record.videos)
    assert sorted(counts) == sorted(listed) and set(counts.values()) == {1}, counts
    assert sorted(v.video_id for v in record.failed()) == sorted(BAD)
    expected = expected_samples(corpus_uri, cfg, s3)
    assert {v.video_id: v.samples for v in record.videos if v.status == "ok"} == expected
    assert len(record.digests) == cfg.train.workers and len(set(record.digests)) == 1


def assert_tracked(tracking_uri: str, run_id: str, model_uri: str, s3=None) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["failed_videos"] == len(BAD)
    assert {"loss_l0", "frames_per_s", "boundaries_per_min_l0"} <= set(run.data.metrics)
    assert run.data.params["model.embed_dim"] == "32" and run.data.params["corpus_uri"]
    assert run.data.tags["checkpoint_uri"] == model_uri
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"failed_videos.txt", "record.json"} <= names
    model = StreamerModel.from_checkpoint(storage.read_bytes(model_uri, s3))
    assert model.cfg.embed_dim == 32
