"""The video feed both jobs read: model input converted once, ahead of the reader, in order; the
first decode or input error ends it and is kept; its thread never outlives it."""
from __future__ import annotations

import gc
import io
import threading
import time

import numpy as np
import pytest
import torch
from helpers.bad_files import write_files

from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks
from pipelines.data.feed import VideoFeed
from pipelines.sample.corpus import CorpusOptions, write_corpus
from streamer_core import StreamerModel, load_config, to_model_input

FEATURES = load_config("tiny", overrides=["model.input_kind=features", "model.feature_dim=5"])


def _feature_model(dtype=torch.float32) -> StreamerModel:
    return StreamerModel(FEATURES.model).to(dtype)


def _decode_ahead_threads() -> int:
    return sum(t.name == "decode-ahead" for t in threading.enumerate())


def _decode_ahead_threads_after(count: int, timeout_s: float = 5.0) -> int:
    """The decode-ahead threads once at most `count` are left (or the timeout passed): a feed's thread
    ends soon after the feed, not at once."""
    deadline = time.monotonic() + timeout_s
    while _decode_ahead_threads() > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _decode_ahead_threads()


def test_frames_come_as_model_input_converted_once(tmp_path):
    write_corpus(tmp_path, CorpusOptions(videos=1, seed=2, min_duration_s=6, max_duration_s=6, size=64))
    (row,) = list_corpus(tmp_path)
    model = StreamerModel(load_config("tiny").model)
    settings = DecodeSettings.for_model(model.cfg, chunk_frames=5)
    feed = VideoFeed(row, settings, model)
    assert feed.prime() and feed.duration_s == pytest.approx(6.0, abs=0.1)
    chunks = list(feed)
    expected = [to_model_input(c["samples"], model.cfg) for c in iter_chunks(row, settings)]
    assert [len(c) for c in chunks] == [5, 5, 2] and feed.samples == 12 and not feed.error
    for ours, theirs in zip(chunks, expected, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_features_take_the_model_dtype_and_the_first_bad_chunk_ends_the_feed(tmp_path):
    features = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
    features[13, 2] = np.nan  # in the second chunk of 8
    np.save(tmp_path / "f.npy", features)
    (row,) = list_corpus(tmp_path)
    feed = VideoFeed(row, DecodeSettings(chunk_frames=8), _feature_model(torch.float64))
    (chunk,) = list(feed)
    assert chunk.dtype == torch.float64 and torch.equal(chunk, torch.from_numpy(features[:8]).double())
    assert feed.samples == 8 and feed.duration_s == 10.0
    assert feed.error.startswith(f"InputError: {row.uri}: ") and "NaN" in feed.error


def test_read_only_rows_are_copied_not_shared():
    """Rows from Arrow are read-only; model input that shared their memory would be written through."""
    rows = np.arange(10, dtype=np.float32).reshape(2, 5)
    rows.flags.writeable = False
    x = to_model_input(rows, FEATURES.model)
    x += 1
    assert rows[0, 0] == 0 and x[0, 0] == 1


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


@pytest.mark.parametrize("name, data, error", [
    ("empty.mp4", b"", "RuntimeError"), ("wide.npy", None, "InputError"), ("text.npy", b"not numpy", "ValueError"),
    ("rowless.npy", _npy(np.zeros((0, 5), np.float32)), "ValueError")])  # a stream of no rows is no stream
def test_a_file_that_fails_before_its_first_sample_gives_no_chunks(tmp_path, name, data, error):
    if data is None:
        np.save(tmp_path / name, np.zeros((6, 4), np.float32))  # the model takes 5 features
    else:
        write_files(tmp_path, {name: data})
    (row,) = list_corpus(tmp_path)
    model = _feature_model() if name.endswith(".npy") else StreamerModel(load_config("tiny").model)
    feed = VideoFeed(row, DecodeSettings.for_model(model.cfg), model)
    assert not feed.prime() and list(feed) == [] and feed.samples == 0
    assert feed.error.startswith(error) and row.uri in feed.error


def test_the_thread_stops_when_the_reader_stops_or_drops_the_feed(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((400, 5), np.float32))  # 100 chunks of 4: more than the queue holds
    (row,) = list_corpus(tmp_path)
    before = _decode_ahead_threads_after(0)  # the last test's feeds may still be winding down
    model, settings = _feature_model(), DecodeSettings(chunk_frames=4)
    feed = VideoFeed(row, settings, model)
    assert _decode_ahead_threads() == before + 1  # decoding starts at once
    reader = iter(feed)
    next(reader)
    reader.close()  # stops reading part-way
    feed = VideoFeed(row, settings, model)
    assert feed.prime()
    del feed, reader  # dropped without reading to the end
    gc.collect()
    assert _decode_ahead_threads_after(before) == before
