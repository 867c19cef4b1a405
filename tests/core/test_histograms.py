"""Colour histograms (model.refine_colour): what they measure, how they are weighed beside the
embeddings, and an object that changes only its colour on a shaking, textured scene."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from pipelines.sample.render import Action, Scene, VideoSpec, render
from streamer_core import Streamer, StreamerModel, load_config
from streamer_core.histograms import BINS, colour_histograms, with_colours
from streamer_core.inputs import to_model_input


def frames(*images: np.ndarray) -> torch.Tensor:
    cfg = load_config("tiny", overrides=[f"model.image_size={len(images[0])}"])
    return to_model_input(np.stack(images), cfg.model)


def test_a_histogram_is_each_colours_share_of_the_frame_wherever_it_is():
    flat = np.full((16, 16, 3), 200, np.uint8)
    half = flat.copy()
    half[:, :8] = (10, 10, 250)
    h = colour_histograms(frames(flat, half, np.roll(half, (3, 5), axis=(0, 1)))).numpy()
    assert h.shape == (3, BINS ** 3)
    np.testing.assert_allclose((h ** 2).sum(1), 1.0, rtol=1e-6)  # shares sum to one
    assert np.count_nonzero(h[0]) == 1 and h[0].max() == 1.0
    np.testing.assert_allclose(np.sort(h[1])[-2:], [0.5 ** 0.5] * 2, rtol=1e-6)
    np.testing.assert_array_equal(h[1], h[2])  # the camera moved, the colours did not


def test_with_colours_gives_each_part_the_same_weight_whatever_its_width_and_scale():
    rng = np.random.default_rng(0)
    embeddings, histograms = rng.normal(0, 50, (40, 256)), rng.uniform(0, 1, (40, 8))
    joined = with_colours(embeddings, histograms, 2.0)
    assert joined.shape == (40, 264)
    np.testing.assert_allclose((joined[:, :256] ** 2).sum(1).mean(), 1.0)
    np.testing.assert_allclose((joined[:, 256:] ** 2).sum(1).mean(), 4.0)  # weight 2 on a unit part
    still = with_colours(embeddings, np.ones((40, 8)), 1.0)  # colours that never change add nothing
    assert np.isfinite(still).all() and not still[:, 256:].any()


def shaking_scene(change_s: float, duration_s: float, size: int = 32) -> np.ndarray:
    """A textured, panning scene that the camera shakes over, with one small object whose colour
    (only) changes at `change_s`; uint8 samples every 0.5 s."""
    actions = (Action(0.0, change_s, "circle", "red", "orbit", 0.0),
               Action(change_s, duration_s, "circle", "green", "orbit", 0.0))
    scene = Scene(0.0, duration_s, "checker", "slate", 5.0, 0.4, 4.0 * size / 128, actions)
    times = tuple(k * 0.5 for k in range(int(duration_s / 0.5)))
    spec = VideoSpec("shaking", size, Fraction(2), True, (scene,), times, handheld=True)
    return np.stack([render(spec, t) for t in times])


def test_refinement_weighing_colours_finds_an_object_that_changes_only_its_colour():
    video = shaking_scene(12.2, 24.0)
    cfg = load_config("tiny-default", overrides=["model.hard_cut=0"])
    assert cfg.model.refine_colour == 1.0
    torch.manual_seed(0)
    model = StreamerModel(cfg.model).eval()
    streamer = Streamer(model)
    stream = streamer.new_stream("v")
    with torch.no_grad():
        for sample in video:
            streamer.step([stream], to_model_input(sample[None], cfg.model))
        h = streamer.finish(stream)
    assert len(stream.histograms) == len(video)
    (cut,) = h.boundaries(0)  # the change of colour, and no cut for the shaking (embeddings alone here:
    assert abs(cut - 12.2) <= 0.25  # 4.75, 12.75 and 16.75)
