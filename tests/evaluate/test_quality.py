"""The paper preset keeps the published rule exactly, and the recommended preset beats every
baseline on footage from a generator no option was tuned on and on real sensor streams from
recordings no option was tuned on (benchmarks/quality.py's tune corpora are the sample corpus's
seeds 511-517 and BasicMotions; the shots and photographs generators, CMU subject 86's motion
capture and the UCR data in sktime's wheel are test only; on the last the preset loses, strict xfails)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import numpy as np
import pytest
import torch

from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings
from pipelines.evaluate import baselines, datasets
from pipelines.evaluate.replay import decode_folder, learned, segmented
from pipelines.evaluate.truth import read_truth, segment_counts
from pipelines.sample.photos import PhotosOptions, write_photos_corpus
from pipelines.sample.shots import ShotsOptions, write_shots_corpus
from streamer_core import Streamer, StreamerModel, StreamSource, load_config
from streamer_core.hierarchy import Hierarchy
from streamer_core.metrics import Segmentation, boundary_scores


def published_cuts(scores: list[float], window: int, buffer: int, times: list[float]) -> list[float]:
    """The paper's rule replayed on one level's recorded scores: input i (i >= 1, score i-1) ends
    the event when its similarity is below the mean of the last `window` similarities, or when the
    working set already holds `buffer` inputs (force_fixed_buffer)."""
    cuts, held, history = [], 1, []
    for i in range(1, len(times)):
        score = scores[i - 1]
        below = bool(history) and score < sum(history[-window:]) / len(history[-window:])
        history.append(score)
        if below or held == buffer:
            cuts.append(times[i])
            held = 0
        held += 1
    return cuts


def test_paper_preset_cuts_by_the_published_rule():
    cfg = load_config("paper", overrides=["model.init_layers=3"])
    torch.manual_seed(0)
    model = StreamerModel(cfg.model).eval()
    frames = np.random.default_rng(0).integers(0, 256, (120, 128, 128, 3), dtype=np.uint8)
    frames[40:80] //= 3  # a darker stretch, so that the scores move
    with torch.no_grad():
        (h,) = Streamer(model).run([StreamSource("v", [frames])])
    times = [i * cfg.model.snippet_size for i in range(len(frames))]
    for level in range(3):
        expected = published_cuts(h.scores[level], cfg.model.window_size, cfg.model.buffer_size, times)
        assert h.boundaries(level) == expected, level
        times = expected  # the inputs of the level above are this level's cuts
    assert len(h.boundaries(0)) > 5  # the replay had cuts to check


# every baseline that cuts the per-snippet features or the truth's counts (PySceneDetect reads the
# files' frames and cuts shots, not actions)
COMPARED = ("uniform", "grid", "pelt", "kernel", "kernel-cues", "twfinch", "abd", "clasp")


def mean_f1(truth: dict, found: dict[str, list[float]], level: int, tolerance_s: float) -> float:
    """Mean boundary F1 over videos of one truth level against one list of cuts per video."""
    scores = []
    for video, levels in truth.items():
        true = levels[level]
        predicted = Segmentation.from_boundaries(video, true.duration_s, found[video])
        scores.append(boundary_scores(true, predicted, tolerance_s=tolerance_s).f1)
    return float(np.mean(scores))


def baseline_inputs(folder, truth: dict) -> list[baselines.VideoInput]:
    """What the baselines see of each video of a corpus, with its true count per truth level."""
    return [baselines.load_video(row, counts=segment_counts(truth[row.video_id])) for row in list_corpus(str(folder))]


def baseline_f1(inputs: list[baselines.VideoInput], truth: dict, level: int) -> dict[str, float]:
    """F1 at 0.5 s of each of COMPARED against truth level ``level``: its level ``level`` where it
    has one, else its only one."""
    scores = {}
    for name in COMPARED:
        found = baselines.SEGMENTERS[name].run(inputs)
        scores[name] = mean_f1(truth, {v.video_id: levels[min(level, len(levels) - 1)]
                                       for v, levels in zip(inputs, found)}, level, 0.5)
    return scores


@dataclass
class HeldOut:
    """The recommended preset learned on a corpus nobody tuned on, and what the checks compare."""

    truth: dict
    refined: list[Hierarchy]  # the recommended preset's hierarchy of each video
    online: list[Hierarchy]  # the same weights without the end-of-video refinement
    baselines: dict[str, float]  # baseline -> level-0 F1 at 0.5 s


# lossless (exact): the same corpus on every run
HELD_OUT_CORPORA = {
    "shots": lambda folder: write_shots_corpus(folder, ShotsOptions(
        videos=4, seed=4242, min_duration_s=40, max_duration_s=60, size=64, exact=True)),
    "photos": lambda folder: write_photos_corpus(folder, PhotosOptions(
        videos=4, seed=4343, min_duration_s=40, max_duration_s=60, size=64, exact=True)),
}


@pytest.fixture(scope="module", params=sorted(HELD_OUT_CORPORA))
def held_out(request, tmp_path_factory) -> HeldOut:
    """The shots generator (its own look, moving cameras, fades and dissolves) and the photographs'
    (real pictures, cut-outs as actors, wipes) are test corpora: no option was chosen on them. Seeds
    4242 and 4343 were picked before any run and never changed."""
    folder = tmp_path_factory.mktemp(request.param)
    HELD_OUT_CORPORA[request.param](folder)
    cfg = load_config("tiny-default")
    videos = decode_folder(folder, DecodeSettings.for_model(cfg.model, chunk_frames=cfg.data.chunk_frames))
    model = learned(cfg, videos)
    online = StreamerModel(dataclasses.replace(cfg.model, refine=0.0))
    online.load_state_dict(model.state_dict())
    truth = read_truth(str(folder / "truth.csv")).videos
    scores = baseline_f1(baseline_inputs(folder, truth), truth, 0)
    return HeldOut(truth, segmented(model, videos), segmented(online, videos), scores)


def fine_f1(run: HeldOut, hierarchies: list[Hierarchy]) -> float:
    return mean_f1(run.truth, {h.video_id: h.boundaries(0) for h in hierarchies}, 0, 0.5)


@pytest.mark.slow
def test_recommended_preset_beats_every_baseline_on_footage_nobody_tuned_on(held_out):
    refined = fine_f1(held_out, held_out.refined)
    assert refined > max(held_out.baselines.values()), (refined, held_out.baselines)


@pytest.mark.slow
def test_refinement_lifts_the_fine_level_on_held_out_footage_and_keeps_a_nested_hierarchy(held_out):
    refined, online = fine_f1(held_out, held_out.refined), fine_f1(held_out, held_out.online)
    assert refined > online + 0.05, (refined, online)
    counts = np.mean([[len(level) for level in h.levels] for h in held_out.refined], axis=0)
    assert len(counts) >= 2 and all(np.diff(counts) < 0), counts  # each level coarser than the one below
    for h in held_out.refined:  # levels nest
        for below, above in zip(h.levels, h.levels[1:]):
            assert {e.start_s for e in above} <= {e.start_s for e in below}


def stream_scores(write, tmp_path, level: int, seeds: tuple[int, ...] = ()) -> tuple[float, dict[str, float]]:
    """F1 at 0.5 s of truth level ``level`` on a feature corpus written by ``write(folder)``: the
    recommended preset's level ``level`` after one pass of learning (seed as in its config, or the
    mean over ``seeds``, as the README's tables take it), and each baseline's (its level ``level``
    where it has one, else its only one)."""
    write(tmp_path)
    truth = read_truth(str(tmp_path / "truth.csv")).videos
    inputs = baseline_inputs(tmp_path, truth)
    cfg = load_config("tiny-default", overrides=["model.input_kind=features",
                                                 f"model.feature_dim={inputs[0].features.shape[1]}"])
    videos = decode_folder(tmp_path, DecodeSettings.for_model(cfg.model))  # once: the seeds learn the same rows
    scores = []
    for seed in seeds or [cfg.learn.seed]:
        model = learned(dataclasses.replace(cfg, learn=dataclasses.replace(cfg.learn, seed=seed)), videos)
        scores.append(mean_f1(truth, {h.video_id: h.boundaries(min(level, len(h.levels) - 1))
                                      for h in segmented(model, videos)}, level, 0.5))
    return float(np.mean(scores)), baseline_f1(inputs, truth, level)


@pytest.mark.slow
@pytest.mark.parametrize("write", [datasets.write_mocap, partial(datasets.write_mocap, every=60)],
                         ids=["mocap", "mocap-2hz"])
def test_recommended_preset_beats_every_baseline_on_real_sensor_streams_nobody_tuned_on(tmp_path, write):
    """CMU subject 86's 9 labelled recordings (in tsseg's wheel) through the feature input: the
    activities, at level 0 (README: 0.85 over 3 seeds, kernel-cues 0.84, the rows' neighbour graph in
    both since the 34th round; 0.81 and 0.74 before). Read as a 2 Hz sensor reads them, rows the
    samples themselves (mocap-2hz, 44th round): 0.83, kernel-cues 0.82, the kernel baseline 0.65."""
    preset, scores = stream_scores(write, tmp_path, 0)
    assert preset > max(scores.values()), (preset, scores)


@pytest.mark.slow
@pytest.mark.parametrize("write", [datasets.write_mocap_periods, partial(datasets.write_mocap_periods, every=60)],
                         ids=["mocap-periods", "mocap-periods-2hz"])
def test_level_one_beats_every_baseline_at_the_periods_of_real_sensor_streams(tmp_path, write):
    """Subject 86's activities joined into periods of two or three of them (mocap-periods): level 1
    against the periods, over the README's three seeds (0.43 against kernel-cues' 0.34 since the
    34th round's neighbour graph; before it 0.34 against 0.32, and at seed 0 alone 0.318 against
    0.320: most of this corpus's period changes could as well be one stretch over,
    benchmarks/periods_bound.py). The same streams read at 2 Hz (mocap-periods-2hz, 44th round):
    0.43 against kernel-cues' 0.29 (0.44 before the 48th round's posterior placement)."""
    preset, scores = stream_scores(write, tmp_path, 1, seeds=(0, 1, 2))
    assert preset > max(scores.values()), (preset, scores)


@pytest.mark.slow
def test_level_one_beats_every_baseline_where_the_periods_can_be_told_apart(tmp_path):
    """The same construction with every period change told by the activities beside it
    (mocap-periods-clear): in the corpus above most changes have an activity both periods hold next
    to them, and could as well be one stretch over. Level 1 against the periods (README: 0.45 ±0.03
    over 3 seeds since the 34th round's neighbour graph, 0.56 before; ClaSP 0.39, kernel-cues 0.34)."""
    preset, scores = stream_scores(lambda folder: datasets.write_mocap_periods(folder, clear=True), tmp_path, 1)
    assert preset > max(scores.values()), (preset, scores)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, raises=AssertionError, reason="docs/quality.md: a known loss on both")
@pytest.mark.parametrize("write", [datasets.write_tssb, datasets.write_ucr_regimes], ids=["tssb", "ucr-regimes"])
def test_level_zero_at_the_regimes_of_univariate_series_nobody_tuned_on(tmp_path, write):
    """Regimes of one repeated pattern each, in univariate series: the two labelled segmentation
    series in sktime's wheel (tssb: level 0 0.06 against the kernel baseline's 0.28) and the same
    construction from four UCR datasets (ucr-regimes: 0.48 against ClaSP's 0.51 over 3 seeds). Known losses, kept
    as strict xfails so that the day one turns into a win, the README's table is read again."""
    preset, scores = stream_scores(write, tmp_path, 0)
    assert preset > max(scores.values()), (preset, scores)
