"""Simple segmenters to compare STREAMER against, written as rows of the same `events` table
(model_version ``baseline:<name>``) so that every metric applies unchanged.

- ``uniform``: equal cuts, as many segments per level as the truth has (nested across levels);
- ``scenedetect``: PySceneDetect's ContentDetector on the video file (one level);
- ``twfinch``: TW-FINCH, FINCH clustering of per-snippet features whose first-neighbour distance
  is weighted by temporal distance, so clusters stay contiguous; its partitions are nested levels;
- ``abd``: a cut where the cosine distance between consecutive snippet features is a local peak
  above mean + k * std (ABD-like; one level);
- ``grid``: a cut every ``GRID_PERIOD_S`` seconds, the period that scored best on the tune corpora;
- ``pelt``: ruptures' Pelt, the l2 cost (a change of the features' mean), penalised per cut;
- ``kernel``: ruptures' KernelCPD with an rbf kernel (any change of the features' distribution);
- ``kernel-cues``: the same exact pass with the cues STREAMER's refinement weighs beside its
  embeddings as parts of its kernel, one each, of the recommended presets' kind
  (``model.refine_kernel``: laplace on video, rbf on feature rows; ``model.refine_colour``,
  ``model.refine_edges``: each snippet's colour and edge histograms; ``model.refine_columns``: each
  column of a feature stream's rows): what those cues give without the learned model;
- ``clasp``: ClaSP (claspy's BinaryClaSPSegmentation), a published time-series segmenter, on the
  first principal components of the features. claspy pins numpy < 2.3 and calls ``np.trapz``,
  which numpy 2.4 removed, so it runs in its own environment: ``CLASP_PYTHON`` (default
  ``.venv-clasp/bin/python``, made by ``scripts/setup-clasp.sh``) runs ``clasp_runner.py``.

The penalties, the grid period and ClaSP's window were chosen on the tune corpora only
(``benchmarks/quality.py --tune-baselines``), never on a test corpus.

Per-snippet features are downsampled pixels (16x16 RGB, standardised per video) of the samples
``pipelines.data.decode`` takes every ``snippet_size`` seconds.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
import torch
from scipy.optimize import linear_sum_assignment

from pipelines.data import storage
from pipelines.data.corpus import ManifestRow
from pipelines.data.decode import DecodeSettings, iter_chunks
from pipelines.results.tables import EVENTS_SCHEMA
from streamer_core.config import IMPROVED_DEMARCATION
from streamer_core.hierarchy import Hierarchy
from streamer_core.histograms import colour_histograms, edge_histograms
from streamer_core.neighbours import row_graph, standardised
from streamer_core.refine import column_parts, part_kernel, posterior_temperature, refined_cuts
from streamer_core.timing import start_offset_s

with warnings.catch_warnings():  # finch warns at import that its optional ANN backend is absent
    warnings.simplefilter("ignore", UserWarning)
    from finch.finch import cool_mean, get_clust

GRID_PERIOD_S = 1.0  # 2.0 before the tune corpora with handheld cameras and subtle actions
PELT_PENALTY = 0.2  # per cut, times features x ln(snippets): BIC-like, so one value fits any stream
KERNEL_PENALTY = 0.2  # per cut, times ln(snippets) (the rbf cost of a snippet is at most 1)
CUES_KERNEL = IMPROVED_DEMARCATION["refine_kernel"]  # kernel-cues: the recommended presets' pass
CUES_NEIGHBOURS = IMPROVED_DEMARCATION["refine_neighbours"]
CUES_CYCLES = IMPROVED_DEMARCATION["refine_cycles"]
CUES_POSTERIOR = IMPROVED_DEMARCATION["refine_posterior"]
CLASP_COMPONENTS = 8
SPREAD_FLOOR = 1e-6  # a feature whose spread over time is at most this is left unscaled (it barely moves)
# ClaSP's defaults (a window searched for per series, no change within 5 windows of another, each
# split kept only past a significance test made for series of thousands of points, z-normalised
# subsequences) found no cut on any corpus here. Here: a window of CLASP_WINDOW snippets, changes at
# least 3 windows apart (more than the 2 neighbours it compares), no test (it splits each segment at
# least twice that long where its profile peaks), and plain euclidean distance, since what changes
# between events is mostly the level of a snippet's features, which z-normalising takes away. The
# window and the distance were chosen on the tune corpora (--tune-baselines; docs/quality-log.md)
CLASP_WINDOW = 2
CLASP_OPTIONS = {"excl_radius": 3, "k_neighbours": 2, "validation": None, "distance": "euclidean_distance"}
CLASP_RUNNER = Path(__file__).with_name("clasp_runner.py")
CLASP_VENV = Path(__file__).resolve().parents[2] / ".venv-clasp"  # beside the project's .venv


@dataclass(frozen=True)
class VideoInput:
    """What a baseline may look at for one video."""

    video_id: str
    duration_s: float
    uri: str = ""  # the video file, for detectors that decode it themselves
    t_sec: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [N]
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # [N, F]
    counts: tuple[int, ...] = ()  # true segments per level, finest first (for matched counts)
    start_offset_s: float = 0.0  # an event starting at snippet i is stamped t_sec[i] minus this
    #                              (streamer_core.timing: midway after the snippet before, for frames)
    histograms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # [N, C] colours
    edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # [N, E] edge directions
    error: str = ""  # why the video could not be decoded ("" when fine)


def snippet_features(samples: np.ndarray, size: int = 16) -> np.ndarray:
    """uint8 ``[N, H, W, 3]`` -> float32 ``[N, size*size*3]``: block means, standardised over time."""
    n, h, w, c = samples.shape
    if h % size or w % size:  # nearest rows/columns, then blocks of one pixel
        rows, cols = (np.linspace(0, d - 1, size).round().astype(int) for d in (h, w))
        samples, h, w = samples[:, rows][:, :, cols], size, size
    blocks = samples.reshape(n, size, h // size, size, w // size, c).astype(np.float32).mean(axis=(2, 4))
    return standardised(blocks.reshape(n, -1), SPREAD_FLOOR).astype(np.float32)


def load_video(row: ManifestRow, snippet_size: float = 0.5, size: int = 16,
               counts: Sequence[int] = ()) -> VideoInput:
    """Decode one video (``pipelines.data.decode``) into per-snippet features; errors are kept."""
    settings = DecodeSettings(snippet_size=snippet_size, image_size=2 * size)
    chunks = list(iter_chunks(row, settings))
    if chunks[-1]["error"]:
        return VideoInput(row.video_id, 0.0, row.uri, counts=tuple(counts), error=chunks[-1]["error"])
    samples = np.concatenate([c["samples"] for c in chunks])
    frames = samples.ndim == 4
    feats = snippet_features(samples, size) if frames else standardised(samples, SPREAD_FLOOR)
    offset = start_offset_s("between", "frames" if frames else "features", snippet_size)
    pixels = torch.from_numpy(samples).permute(0, 3, 1, 2) / 127.5 - 1 if frames else None
    colours, edges = ((h(pixels) if frames else np.zeros((len(samples), 0), np.float32))
                      for h in (colour_histograms, edge_histograms))
    return VideoInput(row.video_id, float(chunks[-1]["duration_s"]), row.uri,
                      np.concatenate([c["t_sec"] for c in chunks]), feats.astype(np.float32), tuple(counts), offset,
                      colours, edges)


def uniform(video: VideoInput) -> list[list[float]]:
    """Equal cuts with the true count per level; a coarser level keeps the finer cuts nearest its own
    equal cuts, so its boundaries are a subset of the level below."""
    if not video.counts:
        raise ValueError(f"video {video.video_id!r}: uniform cuts need the true segment counts")
    fine = [video.duration_s * k / video.counts[0] for k in range(1, video.counts[0])]
    levels = [fine]
    for count in video.counts[1:]:
        below = np.array(levels[-1])
        ideal = np.array([video.duration_s * k / count for k in range(1, count)])
        if len(ideal) == 0 or len(below) == 0:
            levels.append([])
            continue
        _, cols = linear_sum_assignment(np.abs(ideal[:, None] - below[None, :]))
        levels.append(sorted(below[cols].tolist()))
    return levels


def scenedetect(video: VideoInput, threshold: float = 27.0, min_scene_s: float = 1.0) -> list[list[float]]:
    """PySceneDetect's ContentDetector on the video file (copied locally when on S3)."""
    from scenedetect import ContentDetector, detect

    detector = ContentDetector(threshold=threshold, min_scene_len=f"{min_scene_s}s")
    if not storage.is_s3(video.uri):
        scenes = detect(storage.local_path(video.uri), detector)
    else:
        with tempfile.TemporaryDirectory(prefix="scenedetect-") as tmp:
            path = Path(tmp) / Path(video.uri).name
            storage.copy_to_file(video.uri, path)
            scenes = detect(str(path), detector)
    return [[float(start.seconds) for start, _ in scenes[1:]]]


def _tw_distances(means: np.ndarray, times: np.ndarray, span: float) -> np.ndarray:
    """Cosine distance times temporal distance (as a fraction of the video); self excluded."""
    unit = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    cosine = np.clip(1.0 - unit @ unit.T, 0.0, 2.0) + 1e-6  # the epsilon lets time break ties
    dist = cosine * (np.abs(times[:, None] - times[None, :]) / span)
    np.fill_diagonal(dist, np.inf)
    return dist


def _merge_step(labels: np.ndarray, features: np.ndarray, times: np.ndarray, span: float,
                pair_only: bool) -> np.ndarray:
    """One FINCH round on cluster means: link each cluster to its first neighbour (or, with
    ``pair_only``, only the closest pair) and relabel samples by connected components."""
    means, mean_t = cool_mean(features, labels), cool_mean(times[:, None], labels)[:, 0]
    dist = _tw_distances(np.asarray(means), np.asarray(mean_t), span)
    count = len(mean_t)
    if pair_only:
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        rows, cols = np.array([i]), np.array([j])
    else:
        rows, cols = np.arange(count), np.argmin(dist, axis=1)
    adjacency = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(count, count))
    groups, _ = get_clust(adjacency, [], None)
    return groups[labels]


def twfinch_partitions(features: np.ndarray, counts: Sequence[int] = ()) -> list[np.ndarray]:
    """Nested cluster labels per sample, finest first: the partition of every FINCH round but the
    last single cluster, or, with ``counts``, one partition per count with exactly that many
    clusters (FINCH rounds while they stay above it, then merges of the closest pair)."""
    n = len(features)
    times, span = np.arange(n, dtype=np.float64), float(max(n, 1))
    labels, partitions = np.arange(n), []
    if not counts:
        while n > 1 and labels.max() > 0:
            labels = _merge_step(labels, features, times, span, pair_only=False)
            partitions.append(labels)
        return partitions[:-1] if partitions and partitions[-1].max() == 0 else partitions
    for target in sorted((max(1, c) for c in counts), reverse=True):
        while labels.max() + 1 > target:
            merged = _merge_step(labels, features, times, span, pair_only=False)
            if merged.max() + 1 < target:
                merged = _merge_step(labels, features, times, span, pair_only=True)
            labels = merged
        partitions.append(labels)
    return partitions


def _starts(video: VideoInput, indices: Sequence[int]) -> list[float]:
    """The stamped start times of events that begin at these snippets."""
    return [float(video.t_sec[i]) - video.start_offset_s for i in indices]


def _label_boundaries(labels: np.ndarray, video: VideoInput) -> list[float]:
    return _starts(video, np.flatnonzero(labels[1:] != labels[:-1]) + 1)


def twfinch(video: VideoInput) -> list[list[float]]:
    """TW-FINCH levels over the snippet features; with true counts when the video has them."""
    partitions = twfinch_partitions(video.features, video.counts)
    return [_label_boundaries(labels, video) for labels in partitions] or [[]]


def abd(video: VideoInput, k: float = 1.0) -> list[list[float]]:
    """Cuts at local peaks of consecutive cosine distance above mean + k * std."""
    f = video.features
    if len(f) < 3:
        return [[]]
    unit = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    d = 1.0 - np.sum(unit[1:] * unit[:-1], axis=1)  # d[i]: between sample i and i + 1
    padded = np.concatenate([[-np.inf], d, [-np.inf]])
    peak = (d >= padded[:-2]) & (d > padded[2:]) & (d > d.mean() + k * d.std())
    return [_starts(video, np.flatnonzero(peak) + 1)]


def grid(video: VideoInput, period_s: float = GRID_PERIOD_S) -> list[list[float]]:
    """A cut every ``period_s`` seconds."""
    return [np.arange(period_s, video.duration_s - 1e-9, period_s).round(6).tolist()]


def _cut_times(video: VideoInput, ends: Sequence[int]) -> list[float]:
    """Segment ends (ruptures / claspy: indices into the snippets, the last one ``N``) as times."""
    return _starts(video, [i for i in ends if 0 < i < len(video.t_sec)])


def pelt(video: VideoInput, penalty: float = PELT_PENALTY) -> list[list[float]]:
    """ruptures Pelt over the snippet features, l2 cost."""
    import ruptures

    n, width = video.features.shape
    if n < 4:
        return [[]]
    algo = ruptures.Pelt(model="l2", min_size=2, jump=1).fit(video.features)
    return [_cut_times(video, algo.predict(pen=penalty * width * np.log(n)))]


def kernel(video: VideoInput, penalty: float = KERNEL_PENALTY, cues: float = 0.0) -> list[list[float]]:
    """ruptures KernelCPD over the snippet features, rbf kernel (median-distance bandwidth); with
    ``cues``, the same exact pass with refinement's cues as parts of the kernel, each weighed by
    it (the colour and edge histograms of video snippets, the columns of feature rows), each part's
    kernel, the feature rows' neighbour graph and their cuts' posterior the recommended presets'
    (``model.refine_kernel``, ``model.refine_neighbours``, ``model.refine_cycles``,
    ``model.refine_posterior``)."""
    import ruptures

    n = len(video.features)
    if n < 4:
        return [[]]
    if cues:
        frames = bool(video.histograms.size)
        extra = [(video.histograms, cues), (video.edges, cues)] if frames else column_parts(video.features, cues)
        kind = "frames" if frames else "features"
        shape, posterior = part_kernel(CUES_KERNEL, kind), posterior_temperature(CUES_POSTERIOR, kind)
        graph = None if frames else row_graph(video.features, CUES_NEIGHBOURS, CUES_CYCLES)
        return [_cut_times(video, refined_cuts([(video.features, 1.0), *extra], [], penalty, 2, shape, graph,
                                               posterior))]
    algo = ruptures.KernelCPD(kernel="rbf", min_size=2).fit(video.features.astype(np.float64))
    return [_cut_times(video, algo.predict(pen=penalty * np.log(n)))]


def _components(features: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` principal components of standardised features: ClaSP's cost grows with
    the width, and a few components keep most of a snippet's variation."""
    centred = features - features.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[:count].T).astype(np.float64)


def clasp_many(videos: Sequence[VideoInput], window_size: int = CLASP_WINDOW) -> list[list[list[float]]]:
    """ClaSP on each video, in one run of its own interpreter (numba compiles once per process)."""
    python = os.environ.get("CLASP_PYTHON", str(CLASP_VENV / "bin" / "python"))
    if not Path(python).exists():
        raise RuntimeError(f"ClaSP needs its own environment: {python} not found "
                           "(bash scripts/setup-clasp.sh, or set CLASP_PYTHON)")
    with tempfile.TemporaryDirectory(prefix="clasp-") as tmp:
        path = Path(tmp) / "series.npz"
        np.savez(path, *[_components(v.features, CLASP_COMPONENTS) for v in videos])
        options = json.dumps({**CLASP_OPTIONS, "window_size": window_size})
        done = subprocess.run([python, str(CLASP_RUNNER), str(path), options], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"ClaSP failed: {done.stderr.strip().splitlines()[-1:]}")
    return [[_cut_times(v, ends)] for v, ends in zip(videos, json.loads(done.stdout))]


@dataclass(frozen=True)
class Baseline:
    """A registered segmenter: per video (``segment``) or a corpus at once (``segment_many``), whether
    it needs the decoded snippet features (else the true counts or the file suffice), whether it
    is told the true number of segments (a table marks it), and whether it is an ablation of this
    project's own method (refinement's cues without the model), which a margin over the baselines
    leaves out."""

    segment: Callable[[VideoInput], list[list[float]]] | None = None
    segment_many: Callable[[Sequence[VideoInput]], list[list[list[float]]]] | None = None
    needs_features: bool = True
    told_counts: bool = False
    ablation: bool = False

    def run(self, videos: Sequence[VideoInput], **params) -> list[list[list[float]]]:
        """Each video's cuts per level; ``params`` (a penalty, a period, a window) override the defaults."""
        return self.segment_many(videos, **params) if self.segment_many else [self.segment(v, **params) for v in videos]


SEGMENTERS: dict[str, Baseline] = {
    "uniform": Baseline(uniform, needs_features=False, told_counts=True), "grid": Baseline(grid, needs_features=False),
    "scenedetect": Baseline(scenedetect), "twfinch": Baseline(twfinch, told_counts=True), "abd": Baseline(abd),
    "pelt": Baseline(pelt), "kernel": Baseline(kernel), "clasp": Baseline(segment_many=clasp_many),
    "kernel-cues": Baseline(functools.partial(kernel, cues=1.0), ablation=True)}
BASELINES = tuple(SEGMENTERS)
VERSION_PREFIX = "baseline:"  # a baseline's events' model_version: this, then its name


def run_baselines(name: str, videos: Sequence[VideoInput], run_id: str) -> list[dict]:
    """Event rows (the `events` schema) of one baseline on some videos (a corpus-level segmenter
    such as ClaSP starts once for them all)."""
    if name not in SEGMENTERS:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(SEGMENTERS)}")
    for video in videos:
        if video.error:
            raise RuntimeError(f"baseline {name} cannot run on video {video.video_id!r}: {video.error}")
    rows = []
    for video, boundaries in zip(videos, SEGMENTERS[name].run(videos)):
        hierarchy = Hierarchy.from_boundaries(video.video_id, video.duration_s, boundaries, [])
        rows += [{"run_id": run_id, **row, "model_version": VERSION_PREFIX + name} for row in hierarchy.to_rows()]
    return rows


def events_table(rows: list[dict]) -> pa.Table:
    """Rows as an Arrow table with the `events` schema (`pipelines.results.tables`)."""
    return pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)
