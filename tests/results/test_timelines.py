"""Timeline PNGs from the tables: a strip of the video's own frames above the levels when its media
can be read, the levels alone (and a warning) when it cannot."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from helpers.results import hierarchy_with, write_results
from PIL import Image

from pipelines.results import plots, query
from pipelines.sample.corpus import CorpusOptions, write_corpus
from pipelines.sample.render import render


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """The timeline of a flat-coloured sample video, and of the same results after the media moved."""
    folder = tmp_path_factory.mktemp("timelines")
    spec, = write_corpus(folder / "corpus", CorpusOptions(videos=1, seed=3, min_duration_s=12, max_duration_s=12,
                                                          size=64, fps=(10.0,), style="flat", lossless=True))
    media = folder / "corpus" / spec.video_id
    output = write_results(folder / "out", [(hierarchy_with(spec.video_id, spec.duration_s, [[3.0, 6.0], [6.0]]),
                                             str(media))])
    con = query.connect(str(output))
    with_frames = plots.draw_video(con, spec.video_id, folder / "with.png")
    media.rename(media.with_suffix(".moved"))
    return spec, with_frames, lambda: plots.draw_video(con, spec.video_id, folder / "without.png")


def _colours(image: np.ndarray) -> set[tuple[int, int, int]]:
    return {tuple(int(c) // 16 for c in pixel) for pixel in image.reshape(-1, 3)}


def test_the_strip_shows_the_videos_frames_above_the_levels(drawn, caplog):
    spec, with_frames, draw_without = drawn
    with caplog.at_level(logging.WARNING):
        without = np.asarray(Image.open(draw_without()).convert("RGB"))
    assert "without frames" in caplog.text and spec.video_id.split("/")[-1] in caplog.text
    image = np.asarray(Image.open(with_frames).convert("RGB"))
    assert image.shape[0] > without.shape[0] and image.shape[1] == without.shape[1]
    planted = _colours(render(spec, spec.duration_s / 2))  # the video's background and object colours
    strip = _colours(image[: image.shape[0] - without.shape[0] + 40])
    assert planted & strip - _colours(without), "no colour of the video in the strip"
