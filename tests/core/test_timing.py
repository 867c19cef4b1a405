"""Event start stamps (streamer_core.timing): "between" moves every frame boundary half a snippet
earlier, and nothing else; feature rows keep their stamps."""
import numpy as np
import pytest
import torch

from streamer_core import Streamer, StreamerModel, StreamSource, load_config
from streamer_core.timing import start_offset_s


def _hierarchy(cut_at: str, samples: np.ndarray, overrides: list[str]):
    cfg = load_config("tiny-default", overrides=[*overrides, f"model.cut_at={cut_at}"])
    torch.manual_seed(0)
    model = StreamerModel(cfg.model).eval()
    with torch.no_grad():
        (h,) = Streamer(model).run([StreamSource("v", [samples])])
    return h, cfg


def _two_shots(n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 60, (n, 32, 32, 3)).astype(np.uint8)
    frames[n // 2:] += 180  # most of the frame changes colour at once: a hard cut at sample n / 2
    return frames


def test_between_stamps_frame_boundaries_half_a_snippet_earlier():
    samples = _two_shots()
    at_sample, cfg = _hierarchy("sample", samples, [])
    between, _ = _hierarchy("between", samples, [])
    assert 20 * cfg.model.snippet_size in at_sample.boundaries(0)  # the planted cut, at its first sample
    assert len(between.levels) == len(at_sample.levels)
    for a, b in zip(at_sample.levels, between.levels):
        assert [e.end_s for e in a][-1] == [e.end_s for e in b][-1] == at_sample.duration_s
        assert np.allclose([e.start_s for e in a[1:]], [e.start_s + 0.25 for e in b[1:]])
        assert [e.parent_index for e in a] == [e.parent_index for e in b]
        assert all(np.array_equal(x.embedding, y.embedding) for x, y in zip(a, b))


def test_feature_rows_keep_their_stamps():
    samples = np.random.default_rng(1).normal(size=(60, 8)).astype(np.float32)
    samples[30:] += 3.0
    features = ["model.input_kind=features", "model.feature_dim=8"]
    at_sample, _ = _hierarchy("sample", samples, features)
    between, _ = _hierarchy("between", samples, features)
    assert [h.boundaries(lv) for h in (at_sample,) for lv in range(len(h.levels))] == \
        [h.boundaries(lv) for h in (between,) for lv in range(len(h.levels))]


@pytest.mark.parametrize("cut_at,kind,offset", [("sample", "frames", 0.0), ("between", "frames", 0.25),
                                                ("between", "features", 0.0)])
def test_offsets(cut_at, kind, offset):
    assert start_offset_s(cut_at, kind, 0.5) == offset
