"""The report pages: self-contained (nothing fetched from elsewhere), a thumbnail per event, an
index with failures and their reasons; and in a real browser (Debian's chromium, headless):
clicking an event seeks the video to it, the current event of every level is highlighted while it
plays. The browser's screenshot is kept beside the page (the test's tmp folder)."""
from __future__ import annotations

import json
import re

import pytest
from helpers.browser import browser, wait_for
from helpers.results import hierarchy_from_truth, write_results

from pipelines.results import cli, export
from pipelines.sample.corpus import CorpusOptions, truth_rows, write_corpus

FAILURE = "RuntimeError: broken/empty.mp4: no video frames"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """(the page, the index, the video's hierarchy) written by the report command over the results."""
    folder = tmp_path_factory.mktemp("report")
    spec, = write_corpus(folder / "corpus", CorpusOptions(videos=1, seed=7, min_duration_s=40, max_duration_s=40,
                                                          size=128, fps=(25.0,)))
    hierarchy = hierarchy_from_truth(spec.video_id, truth_rows(spec))
    output = write_results(folder / "out", [(hierarchy, str(folder / "corpus" / spec.video_id))],
                           failed={"broken/empty.mp4": FAILURE})
    status = cli.report_main(["--output", str(output), "--all", "--dest", str(folder / "report")])
    assert status == 0
    page = folder / "report" / f"{export.file_stem(spec.video_id)}.html"
    return page, folder / "report" / "index.html", hierarchy


def test_page_is_self_contained_with_a_thumbnail_per_event(report):
    page, _, hierarchy = report
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text) and "@import" not in text
    assert re.search(r'<video id="video" [^>]*src="\.\./corpus/part0/video_000\.mp4"', text)
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S)[1])
    assert [len(level) for level in data["levels"]] == [len(level) for level in hierarchy.levels]
    thumbs = [e["thumb"] for level in data["levels"] for e in level]
    assert all(t.startswith("data:image/jpeg;base64,") for t in thumbs) and len(set(thumbs)) > len(thumbs) // 2


def test_index_lists_every_video_and_each_failure_with_its_reason(report):
    page, index, hierarchy = report
    text = index.read_text()
    assert f'<a href="{page.name}">{hierarchy.video_id}</a>' in text
    counts = " / ".join(str(len(level)) for level in hierarchy.levels)
    assert f'<td class="num">{hierarchy.duration_s:.2f}</td><td class="num">{counts}</td>' in text
    assert re.search(r'<tr class="failed"><td>broken/empty\.mp4</td><td>failed</td>.*' + re.escape(FAILURE), text)


def test_a_user_error_costs_only_its_video(report, tmp_path, capsys):
    page, _, hierarchy = report
    out = page.parent.parent / "out"
    status = cli.report_main(["--output", str(out), "--video", hierarchy.video_id, "--video", "nope.mp4",
                              "--dest", str(tmp_path)])
    stdout, err = capsys.readouterr()
    assert status == 2 and err == "error: nope.mp4: no result for video 'nope.mp4'\n"
    assert json.loads(stdout.splitlines()[-1])["written"] == [str(tmp_path / page.name)]


def test_in_a_browser_a_click_seeks_and_playing_highlights(report):
    page, _, hierarchy = report
    driver = browser()
    try:
        driver.get(page.as_uri())
        wait_for(driver, "document.getElementById('video').readyState >= 1")  # the page can play the file
        assert driver.execute_script("return document.getElementById('video').duration") == pytest.approx(
            hierarchy.duration_s, abs=0.05)
        target = driver.find_element("id", "L0-2")
        target.click()
        start = float(target.get_attribute("data-start"))
        assert start == pytest.approx(hierarchy.levels[0][2].start_s, abs=0.02)
        wait_for(driver, f"Math.abs(document.getElementById('video').currentTime - {start}) < 1e-3")
        parent = hierarchy.levels[0][2].parent_index
        wait_for(driver, f"document.getElementById('L1-{parent}').classList.contains('current')")
        current = driver.execute_script("return [...document.querySelectorAll('.event.current')].map(e => e.id)")
        assert sorted(current) == sorted(["L0-2", f"L1-{parent}"])
        next_start = hierarchy.levels[0][3].start_s
        driver.execute_script(f"const v = document.getElementById('video'); v.muted = true; "
                              f"v.currentTime = {next_start - 0.3}; v.play();")
        wait_for(driver, "document.getElementById('L0-3').classList.contains('current')")
        assert not driver.find_element("id", "L0-2").get_attribute("class").endswith("current")
        driver.execute_script("document.getElementById('video').pause()")
        driver.find_element("id", "L0-2").click()
        wait_for(driver, "document.getElementById('L0-2').classList.contains('current')")
        shot = page.with_name("report.png")
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        driver.quit()
