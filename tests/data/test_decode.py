"""Decoding local files: planted content at the right times, in order; failures as rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.bad_files import corrupt_middle, write_files
from helpers.decode import assert_well_ordered, decode_all, write_bad_files

from pipelines.data.corpus import list_corpus
from pipelines.data.decode import (
    DecodeSettings,
    iter_chunks,
    nearest_frames,
    sample_times,
)
from pipelines.sample.corpus import CorpusOptions, write_corpus
from pipelines.sample.render import render

SHORT = dict(min_duration_s=6.0, max_duration_s=11.0, size=64)


def _expected_frame(spec, t: float) -> np.ndarray:
    """What was planted at the frame nearest ``t`` (ties to the earlier frame)."""
    times = np.asarray(spec.frame_times)
    return render(spec, float(times[nearest_frames(times, np.array([t]))[0]]))


def _check_planted(specs, streams, settings, max_mean_error: float) -> None:
    for spec in specs:
        chunks = streams[spec.video_id]
        assert_well_ordered(chunks, settings)
        times = np.concatenate([c["t_sec"] for c in chunks])
        samples = np.concatenate([c["samples"] for c in chunks])
        duration = chunks[0]["duration_s"]
        assert duration == pytest.approx(spec.duration_s, abs=1e-3)
        assert len(times) == math.floor(duration / settings.snippet_size + 1e-6)
        assert samples.dtype == np.uint8 and samples.shape[1:] == (spec.size, spec.size, 3)
        for t, sample in zip(times, samples):
            error = np.abs(sample.astype(int) - _expected_frame(spec, t)).mean()
            assert error <= max_mean_error, (spec.video_id, t, error)


@pytest.mark.parametrize("fps", [12.5, 29.97, 25.0])
def test_lossless_video_gives_planted_pixels_at_right_times(tmp_path, fps):
    options = CorpusOptions(videos=2, seed=1, lossless=True, fps=(fps,), **SHORT)
    specs = write_corpus(tmp_path, options)
    settings = DecodeSettings(image_size=64, chunk_frames=7)
    _check_planted(specs, decode_all(list_corpus(tmp_path), settings), settings, 0.0)


def test_variable_frame_rate_is_sampled_by_timestamp(tmp_path):
    options = CorpusOptions(videos=2, seed=2, lossless=True, vfr=True, fps=(8.0,), **SHORT)
    specs = write_corpus(tmp_path, options)
    settings = DecodeSettings(image_size=64, chunk_frames=16)
    _check_planted(specs, decode_all(list_corpus(tmp_path), settings), settings, 0.0)


def test_lossy_mp4_within_codec_tolerance(tmp_path):
    options = CorpusOptions(videos=2, seed=3, fps=(29.97, 12.5), **SHORT)
    specs = write_corpus(tmp_path, options)
    settings = DecodeSettings(image_size=64, snippet_size=0.5)
    _check_planted(specs, decode_all(list_corpus(tmp_path), settings), settings, 8.0)


def test_frames_are_resized_by_the_decoder(tmp_path):
    specs = write_corpus(tmp_path, CorpusOptions(videos=1, seed=4, lossless=True, **SHORT))
    settings = DecodeSettings(image_size=32, snippet_size=1.0)
    (chunks,) = decode_all(list_corpus(tmp_path), settings).values()
    assert_well_ordered(chunks, settings)  # no failure row
    times = np.concatenate([c["t_sec"] for c in chunks])
    samples = np.concatenate([c["samples"] for c in chunks])
    assert len(samples) == len(times) == math.floor(specs[0].duration_s + 1e-6) >= 6
    assert samples.shape[1:] == (32, 32, 3)
    for t, sample in zip(times, samples, strict=True):
        expected = _expected_frame(specs[0], t).reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
        assert np.abs(sample - expected).mean() < 12


def test_feature_streams_are_chunked_like_videos(tmp_path):
    features = np.random.default_rng(0).normal(size=(21, 5)).astype(np.float64)
    np.save(tmp_path / "f.npy", features)
    settings = DecodeSettings(snippet_size=0.5, chunk_frames=8)
    (chunks,) = decode_all(list_corpus(tmp_path), settings).values()
    assert_well_ordered(chunks, settings)
    assert [len(c["t_sec"]) for c in chunks] == [8, 8, 5]
    assert chunks[0]["duration_s"] == 10.5
    samples = np.concatenate([c["samples"] for c in chunks])
    assert samples.dtype == np.float32
    np.testing.assert_allclose(samples, features.astype(np.float32))


def test_each_bad_file_gives_one_failure_row_and_others_decode(tmp_path):
    write_corpus(tmp_path, CorpusOptions(videos=2, seed=5, **SHORT))
    good = sorted(tmp_path.rglob("*.mp4"))
    bad = write_bad_files(tmp_path, good[0])
    settings = DecodeSettings(image_size=32)
    streams = decode_all(list_corpus(tmp_path), settings)
    for video_id in bad:
        (row,) = streams[video_id]
        assert row["error"] and str(tmp_path / video_id) in row["error"], row["error"]
        assert row["chunk_index"] == 0 and row["is_last"] and len(row["samples"]) == 0
    for path in good:
        chunks = streams[path.relative_to(tmp_path).as_posix()]
        assert_well_ordered(chunks, settings)
        assert sum(len(c["t_sec"]) for c in chunks) == math.floor(chunks[0]["duration_s"] / 0.5)


def test_failure_rows_have_typed_empty_samples(tmp_path):
    write_files(tmp_path, {"x.mp4": b"", "y.npy": b"not numpy"})
    streams = decode_all(list_corpus(tmp_path), DecodeSettings(image_size=32))
    assert streams["x.mp4"][0]["samples"].shape == (0, 32, 32, 3)
    assert streams["x.mp4"][0]["samples"].dtype == np.uint8
    assert streams["y.npy"][0]["samples"].dtype == np.float32
    assert streams["y.npy"][0]["error"].startswith("ValueError: ")


def test_missing_file_is_a_failure_row(tmp_path):
    row = {"video_id": "gone.mp4", "uri": str(tmp_path / "gone.mp4"), "size": 1, "etag": "",
           "kind": "video"}
    (chunk,) = iter_chunks(row)
    assert "gone.mp4" in chunk["error"] and chunk["is_last"]


def test_sample_times_and_nearest_frames():
    assert len(sample_times(10.0, 0.5)) == 20
    assert len(sample_times(9.99, 0.5)) == 19
    assert len(sample_times(0.3, 0.5)) == 0
    starts = np.arange(14) * 0.08  # 12.5 fps: t=1.0 falls exactly between two frames
    np.testing.assert_array_equal(nearest_frames(starts, np.array([0.0, 0.5, 1.0, 9.0])),
                                  [0, 6, 12, 13])
    shuffled = np.array([0.2, 0.0, 0.1])
    np.testing.assert_array_equal(nearest_frames(shuffled, np.array([0.0, 0.11, 0.5])),
                                  [1, 2, 0])



def test_file_broken_part_way_ends_with_a_failure_row(tmp_path):
    specs = write_corpus(tmp_path / "src", CorpusOptions(videos=1, seed=6, **SHORT))
    data = (tmp_path / "src" / specs[0].video_id).read_bytes()
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "cut.mp4").write_bytes(corrupt_middle(data))
    settings = DecodeSettings(image_size=32, chunk_frames=2)
    chunks = decode_all(list_corpus(tmp_path / "corpus"), settings)["cut.mp4"]
    assert len(chunks) > 1 and all(not c["error"] and not c["is_last"] for c in chunks[:-1])
    last = chunks[-1]
    assert last["error"] and "cut.mp4" in last["error"] and last["is_last"]
    assert last["chunk_index"] == len(chunks) - 1 and len(last["samples"]) == 0


@pytest.mark.parametrize("bad", [dict(image_size=48), dict(snippet_size=0), dict(chunk_frames=0)])
def test_settings_reject_values_that_cannot_work(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        DecodeSettings(**bad)
