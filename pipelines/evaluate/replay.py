"""A corpus learned and segmented in one process, without Ray: the training job's rule (each video
whole and in order, one pass or more), then the segment job's (no learning, videos batched). For
measuring segmentation quality (benchmarks/quality.py, tests/test_quality.py), where the cluster
would only add start-up time."""
from __future__ import annotations

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


def learned(cfg: Config, videos: list[DecodedVideo], passes: int = 1) -> StreamerModel:
    """A fresh model (seeded by learn.seed) after `passes` passes over the videos, each whole and in
    order: the training job's rule."""
    torch.manual_seed(cfg.learn.seed)
    model = StreamerModel(cfg.model)
    streamer = Streamer(model, Learner(model, cfg.learn))
    for _ in range(passes):
        for v in videos:
            streamer.learn(StreamSource(v.video_id, [v.samples], v.duration_s))
    return model


def segmented(model: StreamerModel, videos: list[DecodedVideo]) -> list[Hierarchy]:
    """Each video's hierarchy, in order, by the model without learning, the videos batched: the segment
    job's rule. The model is left in the mode it was in, so that a caller may go on learning."""
    learning = model.training
    model.eval()
    with torch.no_grad():
        hierarchies = list(Streamer(model).run([StreamSource(v.video_id, [v.samples], v.duration_s) for v in videos]))
    model.train(learning)
    return hierarchies


def boundaries_by_video(hierarchies: list[Hierarchy]) -> dict[str, list[list[float]]]:
    """Video id -> its cut times per level, the form the scoring takes."""
    return {h.video_id: [h.boundaries(level) for level in range(len(h.levels))] for h in hierarchies}
