"""The sample corpus: deterministic, a valid two-level truth, and both levels visible."""

from __future__ import annotations

import csv
import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from pipelines.data.corpus import list_corpus
from pipelines.sample.corpus import CorpusOptions, make_specs, truth_rows, write_corpus
from pipelines.sample.render import (
    BACKDROPS,
    CUTOUTS,
    OPENCV_DATA,
    _cutout,
    _grid,
    _object_mask,
    _object_place,
    _photo_background,
    photograph,
    render,
)

OPTIONS = CorpusOptions(videos=4, seed=7, min_duration_s=12, max_duration_s=30, size=64)


def test_same_seed_same_corpus_other_seed_other_corpus():
    assert make_specs(OPTIONS) == make_specs(OPTIONS)
    other = make_specs(CorpusOptions(**{**OPTIONS.__dict__, "seed": 8}))
    assert [s.scenes for s in other] != [s.scenes for s in make_specs(OPTIONS)]


@pytest.mark.parametrize("options", [OPTIONS, CorpusOptions(videos=3, fps=(29.97, 12.5)),
                                     CorpusOptions(videos=2, lossless=True, vfr=True),
                                     CorpusOptions(videos=3, length_step_s=0.0),
                                     CorpusOptions(videos=3, length_step_s=0.0, shortest_action_s=1.0)])
def test_truth_is_two_nested_tilings(options):
    for spec in make_specs(options):
        rows = truth_rows(spec)
        for level in (0, 1):
            spans = [(r[2], r[3]) for r in rows if r[1] == level]
            assert spans[0][0] == 0 and spans[-1][1] == pytest.approx(spec.duration_s)
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        fine = {r[3] for r in rows if r[1] == 0}
        assert {r[3] for r in rows if r[1] == 1} <= fine
        assert options.min_duration_s - 1 <= spec.duration_s <= options.max_duration_s + 1
        actions = [a for s in spec.scenes for a in s.actions]
        assert all(options.shortest_action_s - 1e-9 <= a.end_s - a.start_s <= 8 + 1e-9 for a in actions)
        assert all(len(s.actions) >= 2 for s in spec.scenes) or len(actions) < 2
        assert all(a.label != b.label for a, b in zip(actions, actions[1:]))
        assert all(a.tint != b.tint for a, b in zip(spec.scenes, spec.scenes[1:]))


def test_actions_as_short_as_asked():
    """shortest_action_s (the tune corpora sample-518 and -519): actions from 1 s, some under the 2 s
    that every action lasts otherwise."""
    lengths = [a.end_s - a.start_s for spec in make_specs(CorpusOptions(videos=6, length_step_s=0.0,
                                                                        shortest_action_s=1.0))
               for scene in spec.scenes for a in scene.actions]
    assert min(lengths) >= 1.0 and sum(length < 2 for length in lengths) >= 3, sorted(lengths)[:5]


def test_boundaries_fall_between_samples_when_lengths_are_free():
    """length_step_s=0: boundaries anywhere in time, as in real footage (the quality benchmark's
    tune corpora), not only on the 0.5 s grid the samples are taken on."""
    def phases(options):
        rows = [r for spec in make_specs(options) for r in truth_rows(spec) if r[1] == 0]
        phase = np.array([(r[2] / 0.5) % 1 for r in rows if r[2] > 0])
        return np.minimum(phase, 1 - phase)  # distance from the grid, in samples
    assert np.all(phases(OPTIONS) < 1e-6)
    free = phases(dataclasses.replace(OPTIONS, length_step_s=0.0))
    assert len(free) >= 10 and np.mean(free > 0.1) > 0.5


def test_both_levels_are_visible_in_pixels():
    for spec in make_specs(OPTIONS):
        for _before, after in zip(spec.scenes, spec.scenes[1:]):
            edge = after.start_s
            a, b = render(spec, edge - 0.05).astype(int), render(spec, edge + 0.05).astype(int)
            corner = (slice(0, 6), slice(0, 6))  # the object rarely reaches the corner
            assert np.abs(a - b).mean() > 8 or np.abs(a[corner] - b[corner]).mean() > 8
        actions = [a for s in spec.scenes for a in s.actions]
        for _before, after in zip(actions, actions[1:]):
            t = after.start_s
            a, b = render(spec, t - 0.02), render(spec, t + 0.02)
            changed = np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > 60
            assert changed.sum() > 20, (spec.video_id, t)


def test_cli_writes_videos_and_truth(tmp_path):
    out = tmp_path / "corpus"
    subprocess.run([sys.executable, "-m", "pipelines.sample.corpus", "--out", str(out),
                    "--videos", "3", "--seed", "1", "--min-duration", "4", "--max-duration",
                    "6", "--size", "32", "--fps", "29.97,12.5", "--style", "flat"],
                   check=True, capture_output=True)
    rows = list_corpus(str(out))
    with open(out / "truth.csv") as f:
        truth = list(csv.DictReader(f))
    assert list(truth[0]) == ["video_id", "level", "start_s", "end_s", "label"]
    assert {r["video_id"] for r in truth} == {r.video_id for r in rows}
    assert len(rows) == 3 and all(r.kind == "video" for r in rows)


def test_written_files_follow_the_specs(tmp_path):
    specs = write_corpus(tmp_path, CorpusOptions(videos=2, seed=3, min_duration_s=3,
                                                 max_duration_s=4, size=32, lossless=True))
    assert [r.video_id for r in list_corpus(tmp_path)] == [s.video_id for s in specs]
    assert all(s.video_id.endswith(".mkv") for s in specs)
    with pytest.raises(ValueError):
        make_specs(CorpusOptions(vfr=True))


def test_scenes_dissolve_into_each_other_around_their_boundary():
    options = CorpusOptions(videos=1, seed=504, min_duration_s=20, max_duration_s=30, size=32, dissolve_s=1.0)
    spec = make_specs(options)[0]
    cut = dataclasses.replace(spec, dissolve_s=0.0)
    boundary = spec.scenes[1].start_s
    before, after = (render(cut, boundary + d).astype(float) for d in (-1e-3, 0.0))
    assert np.abs(before - after).mean() > 20  # a real scene change, to dissolve across
    for offset in (-0.7, -0.5, 0.5, 0.7):  # outside the dissolve: the cut corpus's frames
        assert np.array_equal(render(spec, boundary + offset), render(cut, boundary + offset))
    middle = render(spec, boundary).astype(float)  # half of each scene
    assert np.abs(middle - (before + after) / 2).max() <= 1.0
    quarter = render(spec, boundary - 0.25).astype(float)  # a quarter through: mostly the first scene
    first, second = render(cut, boundary - 0.25).astype(float), render(cut, boundary + 0.25).astype(float)
    assert np.abs(quarter - first).mean() < np.abs(quarter - second).mean()
    assert [r[2:4] for r in truth_rows(spec)] == [r[2:4] for r in truth_rows(cut)]  # truth: the midpoint


def test_a_handheld_camera_moves_flickers_and_adds_noise_the_same_way_every_time():
    options = CorpusOptions(videos=1, seed=515, min_duration_s=20, max_duration_s=30, size=64, handheld=True)
    spec = make_specs(options)[0]
    steady = dataclasses.replace(spec, handheld=False)
    times = [0.5 * k for k in range(20)]
    frames = np.stack([render(spec, t) for t in times]).astype(float)
    assert np.array_equal(frames[3], render(make_specs(options)[0], times[3]))  # drawn, not random
    plain = np.stack([render(steady, t) for t in times]).astype(float)
    residual = frames - plain
    assert 3 < residual.std() < 60  # shake, flicker and noise, but still the same picture
    brightness = frames.mean(axis=(1, 2, 3)) / plain.mean(axis=(1, 2, 3))
    assert brightness.max() - brightness.min() > 0.05  # the light flickers
    def best_shift(frame, reference):  # the shift of the steady frame that matches best
        return min(((dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)),
                   key=lambda s: np.abs(np.roll(reference, s, axis=(0, 1)) - frame).mean())
    assert len({best_shift(f, p) for f, p in zip(frames, plain)}) > 2  # the camera moves
    assert [r[2:4] for r in truth_rows(spec)] == [r[2:4] for r in truth_rows(steady)]  # no event added


def test_subtle_actions_change_one_of_shape_colour_and_motion():
    options = CorpusOptions(videos=3, seed=516, min_duration_s=30, max_duration_s=40, size=32, subtle=True)
    changed = []
    for spec in make_specs(options):
        for scene in spec.scenes:
            for a, b in zip(scene.actions, scene.actions[1:]):
                changed.append(tuple(getattr(a, k) != getattr(b, k) for k in ("shape", "color", "motion")))
    assert all(sum(c) == 1 for c in changed), changed
    assert {c.index(True) for c in changed} == {0, 1, 2}  # each kind of change occurs
    plain = make_specs(dataclasses.replace(options, subtle=False))
    assert all(a.shape != b.shape and a.color != b.color
               for spec in plain for s in spec.scenes for a, b in zip(s.actions, s.actions[1:]))


@pytest.mark.skipif(not OPENCV_DATA.exists(), reason="Debian's opencv-doc is not installed (scripts/setup-debian.sh)")
def test_the_photograph_style_draws_backdrops_and_cut_out_objects_from_photographs():
    """style="photo" (the tune corpora sample-520 and -521): each scene a window onto a photograph, each
    object cut out of another one, which moves with the object and turns while it pulses."""
    options = CorpusOptions(videos=2, seed=520, min_duration_s=20, max_duration_s=30, size=64, style="photo",
                            subtle=True)
    specs = make_specs(options)
    assert specs == make_specs(options)
    for spec in specs:
        assert all(s.texture in BACKDROPS for s in spec.scenes)
        assert all(a.texture != b.texture for a, b in zip(spec.scenes, spec.scenes[1:]))
        actions = [a for s in spec.scenes for a in s.actions]
        assert all(a.color in CUTOUTS for a in actions)
    assert not {a.color for spec in make_specs(OPTIONS) for s in spec.scenes for a in s.actions} & set(CUTOUTS)
    spec = specs[0]
    scene = spec.scenes[0]
    action = scene.actions[0]
    t = (action.start_s + action.end_s) / 2
    frame = render(spec, t).astype(float)
    mask = _object_mask(action, t, spec.size)
    window = _photo_background(scene, t, spec.size)
    assert np.array_equal(frame[~mask], np.clip(np.rint(window[~mask]), 0, 255))  # the backdrop around it
    cutout = photograph(action.color, spec.size).reshape(-1, 3)
    inside = frame[mask]
    nearest = np.abs(inside[:, None, :] - cutout[None, ::7, :]).sum(-1).min(1)  # each pixel one of the photograph's
    assert mask.sum() > 50 and np.median(nearest) < 12
    pulse = next(a for sp in specs for s in sp.scenes for a in s.actions if a.motion == "pulse")
    slide = next(a for sp in specs for s in sp.scenes for a in s.actions if a.motion != "pulse")

    def centre(a, tau):  # the object's middle pixels, a quarter of the way into the action and tau later
        cx, cy, _ = _object_place(a, a.start_s + 1 + tau, 64)
        return _cutout(a, a.start_s + 1 + tau, 64, _object_mask(a, a.start_s + 1 + tau, 64)
                       & (np.hypot(*(g - c for g, c in zip(_grid(64), (cx, cy)))) < 3))
    def moved(a):  # how far the middle's mean colour moves in 1.25 s
        return np.abs(centre(a, 0).mean(0) - centre(a, 1.25).mean(0)).max()
    assert moved(pulse) > 10 and moved(slide) < 3  # a pulsing cut-out turns; a sliding one carries its pixels
