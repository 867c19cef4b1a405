"""Ground-truth readers: every format to one form; bad input named, nothing dropped silently."""
from __future__ import annotations

import csv
import json

import pytest

from pipelines.evaluate.truth import (
    MissingTruthWarning,
    OverlapWarning,
    TruthError,
    UnknownVideoWarning,
    build_truth,
    check_coverage,
    frame_label_rows,
    narration_rows,
    parse_timestamp,
    read_truth,
)
from pipelines.sample.corpus import TRUTH_HEADER, CorpusOptions, make_specs, truth_rows
from streamer_core.metrics import DurationMismatchWarning

PLAIN = """video_id,level,start_s,end_s,label
a.mp4,0,0,4,cut
a.mp4,0,4,10,stir
a.mp4,1,0,10,cook
b.mp4,0,0,3,wash
"""


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_plain_csv_gives_segmentations_per_video_and_level(tmp_path):
    truth = read_truth(write(tmp_path / "truth.csv", PLAIN))
    assert truth.levels == [0, 1] and truth.durations == {"a.mp4": 10.0, "b.mp4": 3.0}
    fine = truth.videos["a.mp4"][0]
    assert [(s.start_s, s.end_s, s.label) for s in fine.spans] == [(0, 4, "cut"), (4, 10, "stir")]
    assert fine.boundaries().tolist() == [4.0]


def test_plain_json_reads_like_the_csv(tmp_path):
    csv_truth = read_truth(write(tmp_path / "truth.csv", PLAIN))
    json_truth = read_truth(write(tmp_path / "truth.json", json.dumps(
        [dict(zip(TRUTH_HEADER, line.split(","))) for line in PLAIN.strip().splitlines()[1:]])))
    assert json_truth == csv_truth


def test_sample_corpus_truth_reads_back(tmp_path):
    specs = make_specs(CorpusOptions(videos=3, seed=4))
    rows = [",".join(map(str, r)) for spec in specs for r in truth_rows(spec)]
    truth = read_truth(write(tmp_path / "truth.csv", "\n".join([",".join(TRUTH_HEADER), *rows]) + "\n"))
    assert sorted(truth.videos) == sorted(s.video_id for s in specs)
    for spec in specs:
        assert truth.durations[spec.video_id] == pytest.approx(spec.duration_s, abs=1e-5)
        assert len(truth.videos[spec.video_id][1].spans) == len(spec.scenes)


def test_per_frame_labels_become_runs():
    rows = frame_label_rows(["SIL", "SIL", "SIL", "pour", "pour", "stir", ""], "v", fps=2.0)
    assert [(r.start_s, r.end_s, r.label) for r in rows] == [(0, 1.5, "SIL"), (1.5, 2.5, "pour"), (2.5, 3.0, "stir")]


def test_folder_of_per_frame_label_files(tmp_path):
    (tmp_path / "gt").mkdir()
    write(tmp_path / "gt" / "P03_cereals.txt", "a\na\nb\nb\nb\n")
    write(tmp_path / "gt" / "P04_tea.txt", "c\nc\n")
    truth = read_truth(str(tmp_path / "gt"), fps=1.0, video_suffix=".mp4")
    assert truth.durations == {"P03_cereals.mp4": 5.0, "P04_tea.mp4": 2.0}
    with pytest.raises(TruthError, match="frame rate"):
        read_truth(str(tmp_path / "gt"))


NARRATIONS = """participant_id,video_id,narration_id,start_timestamp,stop_timestamp,narration
P01,P01_01,P01_01_0,00:00:01.00,00:00:04.50,open fridge
P01,P01_01,P01_01_1,00:00:04.00,00:00:09.00,take milk
P01,P01_01,P01_01_2,00:00:05.00,00:00:06.00,look at milk
P01,P01_01,P01_01_3,00:01:00.25,00:01:02.00,close fridge
"""


def test_narrations_trim_overlaps_with_a_named_warning(tmp_path):
    with pytest.warns(OverlapWarning, match=r"'P01_01.MP4'.*1 overlapping.*take milk.*1 wholly.*look at milk"):
        truth = read_truth(write(tmp_path / "train.csv", NARRATIONS), video_suffix=".MP4")
    spans = truth.videos["P01_01.MP4"][0].spans
    assert [(s.start_s, s.end_s) for s in spans] == [(1.0, 4.5), (4.5, 9.0), (60.25, 62.0)]
    with pytest.raises(TruthError, match="'P01_01'.*overlaps"):
        narration_rows(csv.DictReader(NARRATIONS.splitlines()), "train.csv", overlaps="error")


def test_timestamps():
    assert parse_timestamp("01:02:03.50") == pytest.approx(3723.5)
    assert parse_timestamp("02:03.5") == pytest.approx(123.5)
    assert parse_timestamp("7.25") == 7.25
    with pytest.raises(ValueError):
        parse_timestamp("1:2:3:4")


@pytest.mark.parametrize("row, message", [
    ("a.mp4,0,-1,2,x", "'a.mp4'.*negative"),
    ("a.mp4,0,3,2,x", "'a.mp4'.*end not after start"),
    ("a.mp4,0,zero,2,x", "'a.mp4'.*start_s is not a number"),
    ("a.mp4,-1,0,2,x", "'a.mp4'.*level must be"),
    ("a.mp4,0,0,5,x\na.mp4,0,4,6,y", "'a.mp4'.*overlaps"),
])
def test_bad_rows_raise_naming_the_video(tmp_path, row, message):
    with pytest.raises(TruthError, match=message):
        read_truth(write(tmp_path / "t.csv", ",".join(TRUTH_HEADER) + "\n" + row + "\n"))


def test_unknown_header_and_missing_file_are_errors(tmp_path):
    with pytest.raises(TruthError, match="header"):
        read_truth(write(tmp_path / "t.csv", "video,begin,end\nv,0,1\n"))
    with pytest.raises(TruthError, match="cannot read"):
        read_truth(str(tmp_path / "absent.csv"))


def test_durations_from_videos_clip_and_warn(tmp_path):
    rows = read_truth(write(tmp_path / "t.csv", PLAIN)).rows()
    with pytest.warns(DurationMismatchWarning) as caught:
        truth = build_truth(rows, durations={"a.mp4": 3.5, "b.mp4": 3.0})
    messages = " ".join(str(w.message) for w in caught)
    assert "'a.mp4' truth ends at 10.000 s but the video lasts 3.500 s" in messages
    assert "'a.mp4': 1 truth span(s) start after the video's end" in messages
    assert [s.end_s for s in truth.videos["a.mp4"][0].spans] == [3.5]


def test_coverage_names_unknown_and_unannotated_videos(tmp_path):
    truth = read_truth(write(tmp_path / "t.csv", PLAIN))
    with pytest.warns(UnknownVideoWarning, match="b.mp4"), pytest.warns(MissingTruthWarning, match="c.mp4"):
        assert check_coverage(truth, ["a.mp4", "c.mp4"]) == ["a.mp4"]
