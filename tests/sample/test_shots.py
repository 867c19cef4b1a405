"""The held-out shots corpus: nested truth, determinism, and transitions and actions in pixels."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.generated import assert_written_as_drawn

from pipelines.sample.corpus import shot_truth_rows
from pipelines.sample.shots import ShotsOptions, main, make_shot_specs, render_shot_frame

OPTIONS = ShotsOptions(videos=6, seed=11)
VIDEOS = make_shot_specs(OPTIONS)


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(-1)


def _local_change(a: np.ndarray, b: np.ndarray) -> float:
    """Largest 8x8-block mean change, less the typical block's (flicker and noise)."""
    d = _diff(a, b)
    blocks = d.reshape(d.shape[0] // 8, 8, d.shape[1] // 8, 8).mean((1, 3))
    return float(blocks.max() - np.median(blocks))


def _transitions(kind: str):
    return [(v, k, tr) for v in VIDEOS for k, tr in enumerate(v.transitions) if tr.kind == kind]


@pytest.mark.parametrize("options", [OPTIONS, ShotsOptions(videos=3, seed=2, fps=(12.0,), transitions=(0, 0, 1))])
def test_truth_tiles_both_levels_and_shots_are_action_boundaries(options):
    videos = make_shot_specs(options)
    for video in videos:
        rows = shot_truth_rows(video)
        for level in (0, 1):
            spans = [(r[2], r[3]) for r in rows if r[1] == level]
            assert spans[0][0] == 0 and spans[-1][1] == pytest.approx(video.duration_s)
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        assert {r[3] for r in rows if r[1] == 1} <= {r[3] for r in rows if r[1] == 0}
        assert options.min_duration_s - 0.1 <= video.duration_s <= options.max_duration_s + 0.1
        lengths = [r[3] - r[2] for r in rows if r[1] == 0]
        assert all(1.49 <= x <= 10.01 for x in lengths)
        assert sum(abs(x * 2 - round(x * 2)) > 0.01 for x in lengths) > len(lengths) // 2  # ragged
        assert [tr.at_s for tr in video.transitions] == [s.start_s for s in video.shots[1:]]
        for tr in video.transitions:
            low, high = {"cut": (0, 0), "fade": (0.5, 1.0), "dissolve": (0.5, 1.5)}[tr.kind]
            assert low <= tr.length_s <= high
    kinds = {tr.kind for v in videos for tr in v.transitions}
    assert kinds == ({"dissolve"} if options.transitions == (0, 0, 1) else {"cut", "fade", "dissolve"})


def test_same_seed_same_frames_other_seed_other_frames():
    again = make_shot_specs(OPTIONS)
    assert again == VIDEOS
    for video, twin in zip(VIDEOS[:2], again[:2]):
        for t in np.linspace(0, video.duration_s - 0.1, 7):
            assert np.array_equal(render_shot_frame(video, t), render_shot_frame(twin, t))
    other = make_shot_specs(ShotsOptions(videos=1, seed=12))[0]
    assert not np.array_equal(render_shot_frame(other, 1.0), render_shot_frame(VIDEOS[0], 1.0))


def test_hard_cut_changes_most_of_the_frame():
    cuts = _transitions("cut")
    assert cuts
    for video, _, tr in cuts:
        step = 1 / float(video.fps)
        before, after = render_shot_frame(video, tr.at_s - step), render_shot_frame(video, tr.at_s)
        assert (_diff(before, after) > 12).mean() > 0.6
        quiet = _diff(render_shot_frame(video, tr.at_s - 2 * step), before)
        assert (quiet > 12).mean() < 0.2


@pytest.mark.parametrize("kind", ["dissolve", "fade"])
def test_gradual_transition_changes_little_per_frame_and_much_across(kind):
    found = _transitions(kind)
    assert found
    for video, _, tr in found:
        step = 1 / float(video.fps)
        times = np.arange(tr.at_s - tr.length_s / 2 - step, tr.at_s + tr.length_s / 2 + 1.5 * step, step)
        frames = [render_shot_frame(video, t).astype(np.float32) for t in times]
        across = np.abs(frames[-1] - frames[0]).mean()
        per_frame = max(np.abs(b - a).mean() for a, b in zip(frames, frames[1:]))
        if kind == "dissolve":
            assert across > 12 and per_frame < 0.45 * across
        else:  # through black: steps of a fraction of the brighter end's level, black at the midpoint
            assert per_frame < 0.5 * max(frames[0].mean(), frames[-1].mean())
            assert render_shot_frame(video, tr.at_s).mean() < 8


def test_action_boundary_is_visible_but_a_still_stretch_is_not():
    checked = 0
    for video in VIDEOS + make_shot_specs(ShotsOptions(videos=6, seed=5)):
        for shot in video.shots:
            if shot.camera != "still":
                continue
            for before, action in zip(shot.actions, shot.actions[1:]):
                if any(p.motion != "still" and p.visible for p in before.poses) or before.end_s - before.start_s < 1.5:
                    continue
                b = action.start_s
                inside = _local_change(render_shot_frame(video, b - 1.2), render_shot_frame(video, b - 0.2))
                across = _local_change(render_shot_frame(video, b - 0.2), render_shot_frame(video, b + 0.8))
                assert across > 12 and across > 3 * inside, (video.video_id, b, action.label, inside, across)
                checked += 1
    assert checked >= 3


def test_written_videos_decode_to_the_truth_duration(tmp_path):
    out = tmp_path / "shots"
    assert main(["--out", str(out), "--videos", "2", "--seed", "4", "--min-duration", "6",
                 "--max-duration", "9", "--size", "64", "--fps", "29.97,12"]) == 0
    assert_written_as_drawn(out, make_shot_specs(ShotsOptions(2, 4, 6, 9, (29.97, 12.0), 64)), render_shot_frame)
