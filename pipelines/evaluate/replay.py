"""A corpus learned and segmented in one process, without Ray: the training job's rule (each video
whole and in order, one pass or more), then the segment job's (no learning, videos batched). For
measuring segmentation quality (benchmarks/quality.py, tests/test_quality.py), where the cluster
would only add start-up time."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks
from streamer_core import Config, Learner, Streamer, StreamerModel, StreamSource
from streamer_core.hierarchy import Hierarchy


@dataclass(frozen=True)
class DecodedVideo:
    video_id: str
    samples: np.ndarray  # uint8 [N, H, W, 3]
    duration_s: float


@dataclass(frozen=True)
class Replay:
    hierarchies: list[Hierarchy]  # one per video, in the corpus's order
    learn_s: float
    segment_s: float


def decode_folder(folder: str | Path, settings: DecodeSettings) -> list[DecodedVideo]:
    """Every video of a local corpus, whole, in listing order; RuntimeError naming a bad one."""
    videos = []
    for row in list_corpus(str(folder)):
        chunks = list(iter_chunks(row, settings))
        if chunks[-1]["error"]:
            raise RuntimeError(chunks[-1]["error"])
        videos.append(DecodedVideo(row.video_id, np.concatenate([c["samples"] for c in chunks]),
                                   float(chunks[-1]["duration_s"])))
    return videos


def learn_then_segment(cfg: Config, videos: list[DecodedVideo], passes: int = 1) -> Replay:
    """A fresh model (seeded by learn.seed) learns `passes` passes over the videos, then segments them."""
    torch.manual_seed(cfg.learn.seed)
    model = StreamerModel(cfg.model)
    streamer = Streamer(model, Learner(model, cfg.learn))
    started = time.perf_counter()
    for _ in range(passes):
        for v in videos:
            streamer.learn(StreamSource(v.video_id, [v.samples], v.duration_s))
    learned = time.perf_counter() - started
    model.eval()
    started = time.perf_counter()
    with torch.no_grad():
        hierarchies = list(Streamer(model).run([StreamSource(v.video_id, [v.samples], v.duration_s) for v in videos]))
    return Replay(hierarchies, learned, time.perf_counter() - started)
