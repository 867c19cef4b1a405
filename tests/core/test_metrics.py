"""Each metric on small cases computed by hand."""
from __future__ import annotations

import numpy as np
import pytest

from streamer_core.metrics import (
    DurationMismatchWarning,
    Segmentation,
    Span,
    SpanError,
    boundary_scores,
    boundary_scores_relative,
    frame_centres,
    frame_scores,
    hlr,
)


def seg(cuts, duration=10.0, video="v", level=0) -> Segmentation:
    return Segmentation.from_boundaries(video, duration, cuts, level)


TRUTH = seg([4])  # [0, 4) [4, 10)


def test_labels_per_frame_with_gaps_and_partial_last_bin():
    s = Segmentation("v", 2.3, (Span(0.0, 1.0, "a"), Span(1.5, 2.3, "b")))
    centres = frame_centres(2.3, 0.5)
    assert centres == pytest.approx([0.25, 0.75, 1.25, 1.75, 2.15])
    assert s.labels(centres).tolist() == [0, 0, -1, 1, 1]
    assert s.boundaries().tolist() == [1.0, 1.5]  # 0 and the end are not boundaries


def test_mof_and_iou_of_a_shifted_boundary():
    scores = frame_scores(TRUTH, seg([5]), resolution_s=0.5)
    assert scores.mof == pytest.approx(0.9)  # 4 s + 5 s of 10 s
    assert scores.iou == pytest.approx((4 / 5 + 5 / 6) / 2)


def test_unmatched_predicted_segment_counts_as_wrong():
    scores = frame_scores(TRUTH, seg([2, 4]), resolution_s=1.0)
    assert scores.mof == pytest.approx(0.8)  # one of [0,2) [2,4) is left unmatched
    assert scores.iou == pytest.approx((0.5 + 1.0) / 2)


def test_one_predicted_event_matches_one_truth_segment():
    scores = frame_scores(TRUTH, seg([]), resolution_s=1.0)
    assert scores.mof == pytest.approx(0.6)
    assert scores.iou == pytest.approx((0.0 + 0.6) / 2)
    assert boundary_scores(TRUTH, seg([]), 1.0).f1 == 0.0


def test_empty_prediction_scores_zero():
    empty = Segmentation("v", 10.0, ())
    assert frame_scores(TRUTH, empty).mof == 0.0 and frame_scores(TRUTH, empty).iou == 0.0
    b = boundary_scores(TRUTH, empty, 1.0)
    assert (b.precision, b.recall, b.f1) == (1.0, 0.0, 0.0)
    assert hlr(TRUTH, [empty]).miou == 0.0 and hlr(TRUTH, []).mof == 0.0


def test_prediction_longer_than_truth_is_clipped_with_a_warning():
    longer = seg([4, 10], duration=12.0)
    with pytest.warns(DurationMismatchWarning, match="'v'.*12.000 s"):
        scores = frame_scores(TRUTH, longer)
    assert (scores.mof, scores.iou) == (pytest.approx(1.0), pytest.approx(1.0))
    with pytest.warns(DurationMismatchWarning):
        assert boundary_scores(TRUTH, longer, 0.1).f1 == 1.0  # the cut at 10 s is the truth's end


def test_prediction_shorter_than_truth_is_wrong_where_it_stops():
    with pytest.warns(DurationMismatchWarning):
        assert frame_scores(TRUTH, seg([4], duration=8.0)).mof == pytest.approx(0.8)


def test_boundary_f1_matches_each_true_boundary_once():
    truth = seg([2, 5, 8])
    pred = seg([2.4, 2.6, 7.0, 9.5])
    b = boundary_scores(truth, pred, 0.5)
    assert (b.hits, b.precision, b.recall) == (1, 0.25, pytest.approx(1 / 3))
    assert b.f1 == pytest.approx(2 / 7)
    assert boundary_scores(truth, pred, 1.0).f1 == pytest.approx(4 / 7)


def test_boundary_matching_is_optimal_not_greedy():
    # greedy nearest-first would pair 2.6 with 3 and leave 3.5 without a partner
    assert boundary_scores(seg([2, 3]), seg([2.6, 3.5]), 0.6).hits == 2


def test_boundary_tolerance_as_fraction_of_duration():
    truth = seg([50], duration=100.0)
    assert boundary_scores_relative(truth, seg([54], duration=100.0), 0.05).f1 == 1.0
    assert boundary_scores_relative(truth, seg([56], duration=100.0), 0.05).f1 == 0.0


def test_hlr_keeps_a_parent_that_beats_its_children():
    top, fine = seg([5], level=1), seg([2, 5, 7])
    scores = hlr(TRUTH, [fine, top], resolution_s=0.5)
    assert [(m.truth_index, m.level, m.event_index) for m in scores.matches] == [(0, 1, 0), (1, 1, 1)]
    assert scores.miou == pytest.approx((0.8 + 5 / 6) / 2)
    assert scores.mof == pytest.approx(0.9)  # [4, 5) is labelled with truth 0


def test_hlr_descends_where_children_match_better():
    truth = seg([2, 5])
    scores = hlr(truth, [seg([2, 5, 7]), seg([5], level=1)], resolution_s=0.5)
    assert [(m.truth_index, m.level, m.event_index) for m in scores.matches] == [(0, 0, 0), (1, 0, 1), (2, 1, 1)]
    assert scores.miou == pytest.approx(1.0) and scores.mof == pytest.approx(1.0)


def test_hlr_kept_parent_loses_its_weaker_truth_segment():
    truth = seg([5], duration=6.0)
    scores = hlr(truth, [seg([3], duration=6.0), seg([], duration=6.0, level=1)], resolution_s=0.5)
    assert [(m.truth_index, m.level) for m in scores.matches] == [(0, 1)]  # 5/6 beats mean(0.6, 1/3)
    assert scores.miou == pytest.approx(5 / 6) and scores.mof == pytest.approx(5 / 6)


def test_hlr_single_level_is_best_iou_matching():
    scores = hlr(TRUTH, [seg([])])
    assert scores.miou == pytest.approx(0.6) and scores.mof == pytest.approx(0.6)


@pytest.mark.parametrize("spans, duration, message", [
    ((Span(-1.0, 2.0),), 10.0, "negative start"),
    ((Span(3.0, 2.0),), 10.0, "end not after start"),
    ((Span(0.0, 5.0), Span(4.0, 6.0)), 10.0, "overlaps"),
    ((Span(0.0, 11.0),), 10.0, "past the duration"),
    ((Span(0.0, 1.0),), 0.0, "duration must be positive"),
    ((Span(0.0, np.nan),), 10.0, "non-finite"),
])
def test_bad_spans_raise_naming_the_video(spans, duration, message):
    with pytest.raises(SpanError, match=f"'kitchen/a.mp4'.*{message}"):
        Segmentation("kitchen/a.mp4", duration, spans)


def test_comparing_different_videos_is_an_error():
    with pytest.raises(SpanError, match="'w'"):
        frame_scores(TRUTH, seg([4], video="w"))
