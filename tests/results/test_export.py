"""Exports: WebVTT and OpenTimelineIO read back by their own libraries place every event on the
frame it began with, at 12.5, 29.97 and a variable frame rate (checked against the frame times
decord reports and those the sample corpus planted); CSV and JSON round-trip; the export command
writes the same files from the tables, and a video it cannot export costs only itself."""
from __future__ import annotations

import csv
import json

import decord
import numpy as np
import opentimelineio as otio
import pytest
import webvtt
from helpers.results import hierarchy_with, write_results

from pipelines.results import cli, export
from pipelines.sample.corpus import CorpusOptions, write_corpus

# cuts on sample times (multiples of 0.5 s) between frames, on frames, and on ties (1.0 s at 12.5 fps)
CUTS = [[0.5, 1.0, 2.5, 3.0, 4.5, 6.0, 7.5, 8.0], [3.0, 6.0]]
RATES = {"12.5": dict(fps=(12.5,)), "29.97": dict(fps=(29.97,)), "vfr": dict(fps=(8.0,), lossless=True, vfr=True)}


@pytest.fixture(scope="module", params=RATES)
def video(request, tmp_path_factory):
    """(media path, a hierarchy of it cut at CUTS, the planted frame times)."""
    folder = tmp_path_factory.mktemp(f"export-{request.param}")
    spec, = write_corpus(folder, CorpusOptions(videos=1, seed=5, min_duration_s=9, max_duration_s=12, size=64,
                                               **RATES[request.param]))
    media = str(folder / spec.video_id)
    return media, hierarchy_with(media, spec.duration_s, CUTS), np.asarray(spec.frame_times)


def decord_starts(media: str) -> np.ndarray:
    reader = decord.VideoReader(media)
    stamps = reader.get_frame_timestamp(np.arange(len(reader)))
    return stamps[:, 0] - stamps[0, 0]


def shown_at(starts: np.ndarray, t: float) -> int:
    """The frame a player shows at time t: the last one started by then (decord's times are float32)."""
    return int(np.searchsorted(starts, t + 1e-6, side="right") - 1)


def first_frames(hierarchy, level: int, planted: np.ndarray) -> list[int]:
    """The frame each event began with: the planted frame nearest its start, ties to the earlier
    (as decoding samples)."""
    gaps = [np.abs(planted - e.start_s) for e in hierarchy.levels[level]]
    return [int(np.flatnonzero(gap <= gap.min() + 1e-6)[0]) for gap in gaps]


def test_vtt_chapters_start_on_each_events_first_frame(video, tmp_path):
    media, hierarchy, planted = video
    paths = export.write(hierarchy, media, "vtt", tmp_path)
    assert len(paths) == len(hierarchy.levels) == 2
    starts = decord_starts(media)
    for level, path in enumerate(paths):
        cues = webvtt.read(str(path)).captions
        assert len(cues) == len(hierarchy.levels[level]) > 2
        times = [c.start_time.in_milliseconds() / 1000 for c in cues]
        assert [shown_at(starts, t) for t in times] == first_frames(hierarchy, level, planted)
        assert [shown_at(planted, t) for t in times] == first_frames(hierarchy, level, planted)
        assert [c.end for c in cues[:-1]] == [c.start for c in cues[1:]]
        assert cues[-1].end_time.in_milliseconds() == pytest.approx(hierarchy.duration_s * 1000, abs=1)
        assert cues[1].text.startswith(f"L{level} #1")


def test_otio_tracks_cut_on_the_same_frames(video, tmp_path):
    media, hierarchy, planted = video
    path, = export.write(hierarchy, media, "otio", tmp_path)
    timeline = otio.adapters.read_from_file(str(path))
    assert [t.name for t in timeline.tracks] == ["level 0", "level 1"]
    starts, constant = decord_starts(media), "vfr" not in media
    for level, track in enumerate(timeline.tracks):
        clips = list(track.find_clips())
        assert len(clips) == len(hierarchy.levels[level])
        frames = first_frames(hierarchy, level, planted)
        for clip, frame, event in zip(clips, frames, hierarchy.levels[level]):
            begin = clip.source_range.start_time
            assert begin.to_seconds() == pytest.approx(planted[frame], abs=1e-3)
            assert begin.to_seconds() == pytest.approx(starts[frame], abs=1e-4)
            if constant:  # whole frames at the stream's own rate
                assert begin.value == frame and begin.rate == pytest.approx(float(len(planted) / hierarchy.duration_s))
            assert clip.media_reference.target_url.endswith(media)
            assert clip.metadata["streamer"]["start_s"] == event.start_s
        assert track.duration().to_seconds() == pytest.approx(hierarchy.duration_s, abs=1e-3)


def test_csv_and_json_round_trip(video, tmp_path):
    media, hierarchy, _ = video
    for level, path in enumerate(export.write(hierarchy, media, "csv", tmp_path)):
        with open(path) as f:
            rows = list(csv.DictReader(f))
        assert [(int(r["event_index"]), float(r["start_s"]), float(r["end_s"]), int(r["parent_index"]))
                for r in rows] == [(k, e.start_s, e.end_s, e.parent_index)
                                   for k, e in enumerate(hierarchy.levels[level])]
    path, = export.write(hierarchy, media, "json", tmp_path)
    back = json.loads(path.read_text())
    assert back["media"] == media and back["scores"] == hierarchy.scores
    assert [[(e["start_s"], e["end_s"], e["parent_index"]) for e in events] for events in back["levels"]] == \
        [[(e.start_s, e.end_s, e.parent_index) for e in events] for events in hierarchy.levels]


def test_export_command_writes_from_the_tables(video, tmp_path, capsys):
    media, hierarchy, _ = video
    output = write_results(tmp_path / "out", [(hierarchy, media)], failed={"gone.mp4": "RuntimeError: gone"})
    missing = hierarchy_with("moved.mp4", 2.0, [[1.0]])  # its media is not there
    write_results(output, [(missing, str(tmp_path / "moved.mp4"))])
    status = cli.export_main(["--output", str(output), "--all", "--format", "otio", "--dest", str(tmp_path / "x")])
    out, err = capsys.readouterr()
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: moved.mp4: cannot read media {tmp_path}/moved.mp4")
    summary = json.loads(out.splitlines()[-1])
    assert list(summary["failed"]) == ["moved.mp4"] and len(summary["written"]) == 1
    direct, = export.write(hierarchy, media, "otio", tmp_path / "direct")
    assert open(summary["written"][0]).read() == direct.read_text()


def test_hierarchy_read_from_the_tables_is_the_one_written(video, tmp_path):
    media, hierarchy, _ = video
    from pipelines.results import query

    stored = query.stored_video(query.connect(str(write_results(tmp_path / "out", [(hierarchy, media)]))),
                                hierarchy.video_id)
    assert stored.uri == media and stored.hierarchy.to_rows() == hierarchy.to_rows()
    assert [np.float32(s).tolist() for s in hierarchy.scores] == stored.hierarchy.scores  # stored as float32
