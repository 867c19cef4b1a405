"""Baselines: planted cases for each segmenter, then each one on generated videos, scored by the
same code path as STREAMER's events."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from pipelines.data.corpus import ManifestRow, list_corpus
from pipelines.evaluate import scoring
from pipelines.evaluate.baselines import (
    SEGMENTERS,
    VideoInput,
    abd,
    events_table,
    grid,
    kernel,
    load_video,
    pelt,
    run_baselines,
    snippet_features,
    twfinch_partitions,
    uniform,
)
from pipelines.evaluate.truth import read_truth, segment_counts
from pipelines.results.levels import predicted_levels
from pipelines.results.tables import EVENTS_SCHEMA
from pipelines.sample.corpus import CorpusOptions, write_corpus

CLASP_PYTHON = Path(__file__).resolve().parents[2] / ".venv-clasp" / "bin" / "python"


def planted(blocks=(10, 10, 10, 10), dims=24, seed=0) -> VideoInput:
    """Per-snippet features constant within each block (plus noise); blocks start at 0, 5, 10, ... s."""
    rng = np.random.default_rng(seed)
    feats = np.concatenate([rng.normal(0, 1, dims) + rng.normal(0, 0.05, (n, dims)) for n in blocks])
    t = np.arange(len(feats)) * 0.5
    return VideoInput("planted", len(feats) * 0.5, t_sec=t, features=feats.astype(np.float32),
                      counts=(len(blocks), 2))


def cuts(labels: np.ndarray) -> list[int]:
    return (np.flatnonzero(np.diff(labels)) + 1).tolist()


def test_uniform_cuts_match_counts_and_nest():
    assert uniform(VideoInput("v", 12.0, counts=(6, 2))) == [[2, 4, 6, 8, 10], [6]]
    levels = uniform(VideoInput("v", 10.0, counts=(7, 3)))
    assert len(levels[0]) == 6 and len(levels[1]) == 2 and set(levels[1]) <= set(levels[0])
    with pytest.raises(ValueError, match="'v'.*counts"):
        uniform(VideoInput("v", 10.0))


def test_twfinch_finds_planted_blocks_with_matched_counts():
    fine, coarse = twfinch_partitions(planted().features, counts=(4, 2))
    assert cuts(fine) == [10, 20, 30]
    assert set(cuts(coarse)) < set(cuts(fine)) and len(set(coarse)) == 2


def test_twfinch_partitions_are_nested_coarsenings():
    partitions = twfinch_partitions(planted((6, 9, 12, 7, 10)).features)
    assert len(partitions) >= 2
    for finer, coarser in zip(partitions, partitions[1:]):
        assert len(set(coarser)) < len(set(finer))
        for label in set(finer):  # each finer cluster lies inside one coarser cluster
            assert len(set(coarser[finer == label])) == 1
    assert len(set(partitions[-1])) > 1  # the trivial single cluster is not a level


def test_abd_cuts_at_feature_jumps():
    assert abd(planted()) == [[5.0, 10.0, 15.0]]
    assert abd(VideoInput("v", 1.0, t_sec=np.zeros(2), features=np.zeros((2, 3), np.float32))) == [[]]


def test_snippet_features_are_downsampled_and_standardised():
    samples = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    feats = snippet_features(samples)
    assert feats.shape == (5, 16 * 16 * 3) and feats.dtype == np.float32
    assert np.allclose(feats.mean(0), 0, atol=1e-5) and np.allclose(feats.std(0), 1, atol=1e-4)
    assert snippet_features(samples[:, :30, :30]).shape == (5, 768)  # not a multiple of 16


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    write_corpus(root, CorpusOptions(videos=2, seed=0, min_duration_s=24, max_duration_s=30, size=64))
    truth = read_truth(str(root / "truth.csv"))
    videos = [load_video(row, counts=segment_counts(truth.videos[row.video_id])) for row in list_corpus(root)]
    return truth, videos


def check_events(table: pa.Table, videos: list[VideoInput]) -> None:
    """Each level tiles [0, duration]; coarser boundaries are finer ones; parents contain children."""
    assert table.schema == EVENTS_SCHEMA
    rows = table.to_pylist()
    for video in videos:
        levels = {}
        for r in rows:
            if r["video_id"] == video.video_id:
                levels.setdefault(r["level"], []).append(r)
        for level, events in levels.items():
            events.sort(key=lambda r: r["event_index"])
            assert events[0]["start_s"] == 0.0 and events[-1]["end_s"] == pytest.approx(video.duration_s)
            assert all(a["end_s"] == b["start_s"] for a, b in zip(events, events[1:]))
            if level + 1 in levels:
                parents = sorted(levels[level + 1], key=lambda r: r["event_index"])
                assert {e["start_s"] for e in parents} <= {e["start_s"] for e in events}
                for e in events:
                    p = parents[e["parent_index"]]
                    assert p["start_s"] <= e["start_s"] and e["end_s"] <= p["end_s"]


def test_change_point_baselines_find_planted_blocks():
    video = planted((10, 14, 8, 12))
    expected = [5.0, 12.0, 16.0]
    assert pelt(video) == [expected]
    assert kernel(video) == [expected]
    assert SEGMENTERS["kernel-cues"].segment(video) == [expected]  # a feature stream's cues: its columns
    assert grid(VideoInput("v", 7.0), period_s=2.0) == [[2.0, 4.0, 6.0]]


def test_clasp_finds_planted_blocks():
    """With claspy's defaults it found no cut in series of this length (docs/quality-log.md)."""
    if not CLASP_PYTHON.exists():
        pytest.skip(f"ClaSP's own environment is not set up ({CLASP_PYTHON}; bash scripts/setup-clasp.sh)")
    (found,) = SEGMENTERS["clasp"].run([planted((10, 10, 10, 10))])[0]
    assert len(found) == 3 and np.allclose(found, [5.0, 10.0, 15.0], atol=0.5), found


@pytest.mark.parametrize("name", sorted(SEGMENTERS))
def test_each_baseline_writes_events_scored_like_streamer(corpus, name):
    if name == "clasp" and not CLASP_PYTHON.exists():
        pytest.skip(f"ClaSP's own environment is not set up ({CLASP_PYTHON}; bash scripts/setup-clasp.sh)")
    truth, videos = corpus
    assert all(v.histograms.shape == (len(v.t_sec), 64) for v in videos)  # each snippet's colour histogram
    assert all(v.edges.shape == (len(v.t_sec), 24) for v in videos)  # and its edge directions
    table = events_table(run_baselines(name, videos, "run-1"))
    check_events(table, videos)
    assert set(table.column("model_version").to_pylist()) == {f"baseline:{name}"}
    predictions = predicted_levels(table)
    per_video = scoring.score_all(truth.videos, predictions, sorted(truth.videos))
    levels, tree = per_video[per_video.pred_level != "tree"], per_video[per_video.pred_level == "tree"]
    assert len(tree) == 2 * len(videos) and tree[["hlr_miou", "hlr_mof"]].stack().between(0, 1).all()
    assert len(levels) and levels[["mof", "iou", "f1_1s", "f1_5pct"]].stack().between(0, 1).all()
    if name == "scenedetect":  # the scenes are plain colour/texture changes
        coarse = per_video[(per_video.truth_level == "1") & (per_video.pred_level == "0")]
        assert coarse["f1_1s"].min() == 1.0


def test_failed_video_and_unknown_baseline_are_named(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    video = load_video(ManifestRow("broken.mp4", str(bad), 11, "x", "video"))
    assert "broken.mp4" in video.error
    with pytest.raises(RuntimeError, match="abd.*'broken.mp4'"):
        run_baselines("abd", [video], "r")
    with pytest.raises(ValueError, match="unknown baseline 'lstm'"):
        run_baselines("lstm", [planted()], "r")
