"""The held-out corpus of real photographs: nested truth, determinism, joins and actions that show."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.generated import assert_written_as_drawn

from pipelines.sample.corpus import shot_truth_rows
from pipelines.sample.photos import PhotosOptions, _pose, main, make_photo_specs, photos, render_photo_frame

VIDEOS = make_photo_specs(PhotosOptions(videos=6, seed=11)) + make_photo_specs(PhotosOptions(videos=6, seed=12))


def _joins(kind: str):
    return [(v, j) for v in VIDEOS for j in v.transitions if j.kind == kind]


def _mean_change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def test_the_photographs_are_real_colour_pictures():
    pictures = photos()
    assert len(pictures) == 14
    for picture in pictures:
        assert picture.ndim == 3 and min(picture.shape[:2]) >= 256 and picture.std() > 10  # not flat


def test_truth_tiles_both_levels_and_shots_are_action_boundaries():
    for video in VIDEOS:
        rows = shot_truth_rows(video)
        duration = float(video.frames / video.fps)
        for level in (0, 1):
            spans = [(r[2], r[3]) for r in rows if r[1] == level]
            assert spans[0][0] == 0 and spans[-1][1] == pytest.approx(duration, abs=1e-3)
            assert all(a[1] == pytest.approx(b[0]) for a, b in zip(spans, spans[1:]))
        assert {round(r[2], 3) for r in rows if r[1] == 1} <= {round(r[2], 3) for r in rows if r[1] == 0}
        assert 39.9 <= duration <= 80.1
        assert all(1.49 <= r[3] - r[2] <= 8.01 for r in rows if r[1] == 0)
        assert [j.at_s for j in video.transitions] == [s.start_s for s in video.shots[1:]]
        for join in video.transitions:
            low, high = {"cut": (0, 0), "dissolve": (0.5, 1.5), "wipe": (0.5, 1.0)}[join.kind]
            assert low <= join.length_s <= high
    assert {j.kind for v in VIDEOS for j in v.transitions} == {"cut", "dissolve", "wipe"}


def test_same_seed_same_frames_other_seed_other_frames():
    again = make_photo_specs(PhotosOptions(videos=6, seed=11))
    assert again == VIDEOS[:6]
    for t in np.linspace(0, 30, 5):
        assert np.array_equal(render_photo_frame(VIDEOS[0], t), render_photo_frame(again[0], t))
    assert not np.array_equal(render_photo_frame(VIDEOS[6], 1.0), render_photo_frame(VIDEOS[0], 1.0))


def test_a_cut_changes_the_frame_far_more_than_a_frame_inside_a_shot():
    cuts = _joins("cut")
    assert len(cuts) >= 5
    for video, join in cuts:
        step = 1 / float(video.fps)
        before, after = render_photo_frame(video, join.at_s - step), render_photo_frame(video, join.at_s)
        inside = _mean_change(render_photo_frame(video, join.at_s - 2 * step), before)
        assert _mean_change(before, after) > max(15.0, 4 * inside), (video.video_id, join)


@pytest.mark.parametrize("kind", ["dissolve", "wipe"])
def test_a_gradual_join_changes_little_per_frame_and_much_across(kind):
    found = _joins(kind)
    assert found
    for video, join in found:
        step = 1 / float(video.fps)
        times = np.arange(join.at_s - join.length_s / 2 - step, join.at_s + join.length_s / 2 + 1.5 * step, step)
        frames = [render_photo_frame(video, t) for t in times]
        across = _mean_change(frames[0], frames[-1])
        assert across > 15 and max(_mean_change(a, b) for a, b in zip(frames, frames[1:])) < 0.5 * across


def test_every_action_boundary_changes_what_one_actor_shows_within_a_second():
    """At each boundary inside a shot, one actor takes another behaviour (or cut-out): within 1 s it
    is somewhere, at an angle, at a size or in sight as it would not have been had it gone on."""
    checked = 0
    for video in VIDEOS:
        for shot in video.shots:
            for before, action in zip(shot.actions, shot.actions[1:]):
                changed = [(old, new) for old, new in zip(before.moves, action.moves) if old != new]
                assert len(changed) == 1, (video.video_id, action.start_s)
                old, new = changed[0]
                assert new.since_s == action.start_s
                differs = new.cutout != old.cutout
                for tau in np.linspace(0.25, 1.0, 4):
                    (y0, x0), a0, s0, v0 = _pose(old, action.start_s + tau - old.since_s)
                    (y1, x1), a1, s1, v1 = _pose(new, tau)
                    differs |= v0 != v1 or (v1 and (math.hypot(y1 - y0, x1 - x0) * video.size > 3
                                                    or abs(a1 - a0) > 0.3 or abs(s1 / s0 - 1) > 0.1))
                assert differs, (video.video_id, action.start_s, action.label)
                checked += 1
    assert checked > 100


def test_written_videos_decode_to_the_truth_duration_and_frames(tmp_path):
    out = tmp_path / "photos"
    assert main(["--out", str(out), "--videos", "2", "--seed", "4", "--min-duration", "6",
                 "--max-duration", "9", "--size", "64", "--fps", "15"]) == 0
    assert_written_as_drawn(out, make_photo_specs(PhotosOptions(2, 4, 6, 9, (15.0,), 64)), render_photo_frame)
