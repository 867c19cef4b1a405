"""Shared by the segment, query and demo tests: a small corpus with bad files, a tiny model
trained in-process, the checks that event tables must pass."""
from __future__ import annotations

from pathlib import Path

import torch

from helpers.bad_files import MP4_GARBAGE, write_files
from pipelines.data import storage
from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks
from pipelines.sample.corpus import CorpusOptions, write_corpus
from streamer_core import Learner, Streamer, StreamerModel, StreamSource, load_config

ROOT = Path(__file__).resolve().parents[2]
BAD_FILES = {"broken/corrupt.mp4": MP4_GARBAGE, "broken/empty.mp4": b""}


def make_corpus(folder: Path, videos: int = 4, seed: int = 0, bad: bool = True, **options) -> Path:
    """Short sample videos (64 px, 6-10 s), plus a corrupt and an empty file when `bad`."""
    defaults = dict(videos=videos, seed=seed, min_duration_s=6.0, max_duration_s=10.0, size=64, fps=(10.0,))
    write_corpus(folder, CorpusOptions(**{**defaults, **options}))
    write_files(folder, BAD_FILES if bad else {})
    return folder


def train_tiny(corpus: str, dest: str, settings=None, overrides=("model.init_layers=3",), **kw) -> str:
    """A tiny model that learned from the first good video, saved to `dest` (local or s3://)."""
    cfg = load_config("tiny", overrides=list(overrides))
    torch.manual_seed(0)
    model = StreamerModel(cfg.model)
    row = next(r for r in list_corpus(corpus, settings) if "broken" not in r.video_id)
    chunks = [c["samples"] for c in iter_chunks(row, DecodeSettings.for_model(cfg.model), settings)]
    Streamer(model, Learner(model, cfg.learn)).learn(StreamSource(row.video_id, chunks))
    data = model.to_bytes()
    if storage.is_s3(dest):
        bucket, key = storage.split_s3(dest)
        storage.s3_client(settings).put_object(Bucket=bucket, Key=key, Body=data)
    else:
        Path(dest).write_bytes(data)
    return dest


def check_events(events: list[dict], duration_s: float) -> int:
    """Each level tiles [0, duration] in index order; every coarser boundary is a finer one and each
    event lies inside its parent. Returns the number of levels."""
    levels: dict[int, list[dict]] = {}
    for e in sorted(events, key=lambda e: (e["level"], e["event_index"])):
        levels.setdefault(e["level"], []).append(e)
    assert sorted(levels) == list(range(len(levels)))
    for level, evs in levels.items():
        assert [e["event_index"] for e in evs] == list(range(len(evs)))
        assert evs[0]["start_s"] == 0.0 and abs(evs[-1]["end_s"] - duration_s) < 1e-6
        assert all(a["end_s"] == b["start_s"] for a, b in zip(evs, evs[1:]))
        above = levels.get(level + 1)
        if above is None:
            assert all(e["parent_index"] == -1 for e in evs)
            continue
        assert {e["start_s"] for e in above} <= {e["start_s"] for e in evs}
        for e in evs:
            parent = above[e["parent_index"]]
            assert parent["start_s"] <= e["start_s"] and e["end_s"] <= parent["end_s"]
    return len(levels)
