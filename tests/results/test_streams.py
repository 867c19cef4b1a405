"""Feature streams (.npy) in the result views, as for videos: exports cut where the stream's rows
start, a timeline with the rows drawn above the levels, and a report page that shows the rows and
each event's own rows; in a real browser (headless chromium) a click on an event moves the playhead
there and highlights it and its parents, with no video on the page."""
from __future__ import annotations

import json
import re

import numpy as np
import opentimelineio as otio
import pytest
import webvtt
from helpers.browser import browser, wait_for
from helpers.results import hierarchy_with, write_results
from matplotlib import colormaps

from pipelines.results import cli, export, plots, streams

SNIPPET_S = 0.5
CUTS = [[2.5, 5.0, 11.0, 14.0], [5.0, 14.0]]  # on row starts: rows 5, 10, 22, 28


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    """(the stream's path, its rows, a hierarchy cut at CUTS)."""
    folder = tmp_path_factory.mktemp("stream")
    rows = np.random.default_rng(3).normal(size=(40, 3)).astype(np.float32)
    rows[10:22, 0] += 4.0
    path = folder / "sensors" / "arm.npy"
    path.parent.mkdir()
    np.save(path, rows)
    return str(path), rows, hierarchy_with(str(path), len(rows) * SNIPPET_S, CUTS)


def test_the_rows_as_a_picture_scale_each_column_to_its_own_range():
    rows = np.zeros((101, 2))
    rows[:, 0] = np.linspace(0, 1, 101)
    rows[:, 1] = np.sin(np.arange(101))
    rows[50, 1] = 1e6  # one spike
    picture = streams.heat(rows)
    assert picture.shape == (2, 101, 3) and picture.dtype == np.uint8
    ends = (np.asarray(colormaps["viridis"]([0.0, 1.0])[:, :3]) * 255).round()
    assert (picture[0, 0] == ends[0]).all() and (picture[0, -1] == ends[1]).all()
    assert len({tuple(p) for p in picture[1]}) > 20  # the spike does not flatten the rest of its column


def test_exports_cut_where_the_rows_start(stream, tmp_path):
    path, rows, hierarchy = stream
    vtt, = [p for p in export.write(hierarchy, path, "vtt", tmp_path) if p.name.endswith(".L1.vtt")]
    assert [(c.start_in_seconds, c.end_in_seconds) for c in webvtt.read(str(vtt))] == [
        (0.0, 5.0), (5.0, 14.0), (14.0, 20.0)]
    timeline = otio.adapters.read_from_file(str(export.write(hierarchy, path, "otio", tmp_path)[0]))
    fine, = [track for track in timeline.tracks if track.name == "level 0"]
    starts = [clip.source_range.start_time for clip in fine]
    assert [t.rate for t in starts] == [1 / SNIPPET_S] * 5
    assert [t.value for t in starts] == [0, 5, 10, 22, 28]


def test_a_timeline_draws_the_rows_above_the_levels(stream):
    path, rows, hierarchy = stream
    (middle, picture), = plots.strip_frames(path, hierarchy.duration_s)
    assert middle == hierarchy.duration_s / 2 and (picture == streams.heat(rows)).all()


@pytest.fixture(scope="module")
def page(stream, tmp_path_factory):
    path, _, hierarchy = stream
    folder = tmp_path_factory.mktemp("stream-report")
    output = write_results(folder / "out", [(hierarchy, path)])
    assert cli.report_main(["--output", str(output), "--all", "--dest", str(folder / "report")]) == 0
    return folder / "report" / f"{export.file_stem(hierarchy.video_id)}.html"


def test_the_page_shows_the_rows_and_each_events_own(stream, page):
    _, rows, hierarchy = stream
    text = page.read_text()
    assert "<video" not in text and re.search(r'<img id="stream" class="stream" [^>]*src="data:image/png;base64,', text)
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S)[1])
    assert [[e["start"] for e in level] for level in data["levels"]] == [
        [0.0, 2.5, 5.0, 11.0, 14.0], [0.0, 5.0, 14.0]]
    assert all(e["thumb"].startswith("data:image/png;base64,") for level in data["levels"] for e in level)


def test_in_a_browser_a_click_moves_the_playhead_to_the_event(stream, page):
    _, _, hierarchy = stream
    driver = browser()
    try:
        driver.get(page.as_uri())
        wait_for(driver, "document.getElementById('stream').complete")
        assert driver.execute_script("return document.getElementById('stream').naturalWidth") == 40
        driver.find_element("id", "L0-3").click()
        wait_for(driver, "document.getElementById('L0-3').classList.contains('current')")
        current = driver.execute_script("return [...document.querySelectorAll('.event.current')].map(e => e.id)")
        assert sorted(current) == ["L0-3", "L1-1"]
        playhead, track = driver.execute_script(
            "const p = document.querySelector('#lanes .lane:last-child .playhead'); "
            "return [p.getBoundingClientRect().left, p.parentElement.getBoundingClientRect()]")
        assert (playhead - track["left"]) / track["width"] == pytest.approx(11.0 / hierarchy.duration_s, abs=0.01)
        shot = page.with_name("stream.png")
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        driver.quit()


def test_a_stream_cut_short_since_it_was_segmented_costs_only_its_page(stream, tmp_path, capsys):
    path, rows, hierarchy = stream
    short = tmp_path / "short.npy"  # its header still says 40 rows; half of them are gone
    data = open(path, "rb").read()
    short.write_bytes(data[:len(data) - rows.nbytes // 2])
    output = write_results(tmp_path / "out", [(hierarchy_with(str(short), hierarchy.duration_s, CUTS), str(short)),
                                              (hierarchy, path)])
    status = cli.report_main(["--output", str(output), "--all", "--dest", str(tmp_path / "report")])
    stdout, err = capsys.readouterr()
    assert status == 2 and re.fullmatch(rf"error: {re.escape(str(short))}: cannot read media {re.escape(str(short))}: "
                                        r".+\n", err), err
    page = tmp_path / "report" / f"{export.file_stem(path)}.html"
    assert json.loads(stdout.splitlines()[-1])["written"] == [str(page)]
