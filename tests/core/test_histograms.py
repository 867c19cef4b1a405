"""Colour and edge histograms (model.refine_colour, model.refine_edges): what they measure, how they
are weighed beside the embeddings, and an object that changes only its colour, or only its shape, on
a shaking, textured scene."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pipelines.sample.render import Action, Scene, VideoSpec, render
from streamer_core import Streamer, StreamerModel, load_config
from streamer_core.histograms import BINS, EDGE_BINS, EDGE_SIZE, colour_histograms, edge_histograms
from streamer_core.inputs import to_model_input


def frames(*images: np.ndarray) -> torch.Tensor:
    cfg = load_config("tiny", overrides=[f"model.image_size={len(images[0])}"])
    return to_model_input(np.stack(images), cfg.model)


def test_a_histogram_is_each_colours_share_of_the_frame_wherever_it_is():
    flat = np.full((16, 16, 3), 200, np.uint8)
    half = flat.copy()
    half[:, :8] = (10, 10, 250)
    h = colour_histograms(frames(flat, half, np.roll(half, (3, 5), axis=(0, 1))))
    assert h.shape == (3, BINS ** 3)
    np.testing.assert_allclose((h ** 2).sum(1), 1.0, rtol=1e-6)  # shares sum to one
    assert np.count_nonzero(h[0]) == 1 and h[0].max() == 1.0
    np.testing.assert_allclose(np.sort(h[1])[-2:], [0.5 ** 0.5] * 2, rtol=1e-6)
    np.testing.assert_array_equal(h[1], h[2])  # the camera moved, the colours did not


def test_an_edge_histogram_is_each_directions_share_of_the_gradient_whatever_the_light():
    ramp = np.tile(np.arange(0, 160, 10, dtype=np.uint8)[None, :, None], (16, 1, 3))  # brighter to the right
    h = edge_histograms(frames(ramp, ramp.transpose(1, 0, 2), ramp // 2 + 40))
    assert h.shape == (3, 3 * EDGE_BINS)
    np.testing.assert_allclose((h.reshape(3, 3, EDGE_BINS) ** 2).sum(-1), 1.0, rtol=1e-5)  # per channel
    assert h[0].reshape(3, EDGE_BINS)[:, 0].min() > 0.99  # every edge runs one way ...
    assert h[1].reshape(3, EDGE_BINS)[:, EDGE_BINS // 2].min() > 0.99  # ... a quarter turn later, turned
    np.testing.assert_allclose(h[2], h[0], atol=1e-6)  # half the contrast, other light: the same shares
    flat = edge_histograms(frames(np.full((16, 16, 3), 90, np.uint8)))
    assert np.isfinite(flat).all() and not flat.any()  # a frame without edges has no shares
    big = torch.rand(2, 3, 4 * EDGE_SIZE, 4 * EDGE_SIZE) * 2 - 1  # taken at EDGE_SIZE, where they were chosen
    np.testing.assert_allclose(edge_histograms(big), edge_histograms(F.avg_pool2d(big, 4)), atol=1e-6)


def plain_histograms(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two histograms of [B, 3, H, W] frames in [-1, 1] straight from their definitions, in float64."""
    levels = np.clip(np.floor((x + 1) * BINS / 2), 0, BINS - 1).astype(int)
    colour = ((levels[:, 0] * BINS + levels[:, 1]) * BINS + levels[:, 2]).reshape(len(x), -1)
    counts = np.stack([np.bincount(row, minlength=BINS ** 3) for row in colour])
    dx = x[:, :, 1:-1, 2:] - x[:, :, 1:-1, :-2]
    dy = x[:, :, 2:, 1:-1] - x[:, :, :-2, 1:-1]
    direction = np.minimum(np.floor(np.mod(np.arctan2(dy, dx), np.pi) / np.pi * EDGE_BINS), EDGE_BINS - 1)
    magnitude, sums = np.hypot(dx, dy), np.zeros((len(x), 3, EDGE_BINS))
    for b, c in np.ndindex(len(x), 3):
        sums[b, c] = np.bincount(direction[b, c].astype(int).ravel(), magnitude[b, c].ravel(), EDGE_BINS)
    edges = sums / np.maximum(sums.sum(-1, keepdims=True), 1e-12)
    return np.sqrt(counts / colour.shape[1]), np.sqrt(edges).reshape(len(x), -1)


def test_histograms_are_their_plain_definitions():
    ramp = np.tile(np.arange(255, 0, -8, dtype=np.uint8)[None, :, None], (32, 1, 3))  # gradients along one axis only
    # continuous noise: uint8 noise has edges exactly at a bin's border, where an angle's floor goes either way
    noise = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x = torch.cat([noise, frames(ramp, ramp.transpose(1, 0, 2), np.full((32, 32, 3), 90, np.uint8))])
    colours, edges = plain_histograms(x.numpy().astype(np.float64))
    np.testing.assert_allclose(colour_histograms(x), colours, atol=1e-6)
    np.testing.assert_allclose(edge_histograms(x), edges, atol=1e-5)
    for histograms in (colour_histograms, edge_histograms):  # from an array as from a tensor (Streamer's)
        np.testing.assert_array_equal(histograms(x.numpy()), histograms(x))
    # colours on each level's border and past either end of [-1, 1], in any order along a row
    shuffled = torch.randperm(3 * 32 * 31, generator=torch.Generator().manual_seed(1)) % 13
    borders = torch.linspace(-1.5, 1.5, 13)[shuffled].reshape(1, 3, 32, 31)
    np.testing.assert_allclose(colour_histograms(borders), plain_histograms(borders.double().numpy())[0], atol=1e-6)


@pytest.mark.parametrize("degrees, expected", [(0, 0), (45, 2), (90, 4), (135, 6), (180, 0)])
def test_an_edge_exactly_on_a_border_between_directions_takes_the_bin_that_starts_there(degrees, expected):
    """8-bit frames put many gradients exactly on the axes and diagonals, the borders between
    direction bins: each has one bin, the one whose directions start at that border."""
    step = {0: (1, 0), 45: (1, 1), 90: (0, 1), 135: (-1, 1), 180: (-1, 0)}[degrees]  # brighter along (x, y)
    i, j = np.mgrid[:16, :16]
    image = np.repeat((128 + 4 * (step[0] * j + step[1] * i)).astype(np.uint8)[..., None], 3, axis=2)
    h = edge_histograms(frames(image))[0].reshape(3, EDGE_BINS)
    np.testing.assert_array_equal(h.argmax(1), expected)
    np.testing.assert_allclose(h.max(1), 1.0, rtol=1e-6)  # all of each channel's gradient


def shaking_scene(change_s: float, duration_s: float, change: dict, texture: str = "checker",
                  size: int = 32) -> np.ndarray:
    """A textured, panning scene that the camera shakes over, with one small red circle whose
    colour or shape (`change`, only) changes at `change_s`; uint8 samples every 0.5 s."""
    before = Action(0.0, change_s, "circle", "red", "orbit", 0.0)
    actions = (before, Action(change_s, duration_s, change.get("shape", "circle"), change.get("color", "red"),
                              "orbit", 0.0))
    scene = Scene(0.0, duration_s, texture, "slate", 5.0, 0.4, 4.0 * size / 128, actions)
    times = tuple(k * 0.5 for k in range(int(duration_s / 0.5)))
    spec = VideoSpec("shaking", size, Fraction(2), True, (scene,), times, handheld=True)
    return np.stack([render(spec, t) for t in times])


def level0_cuts(video: np.ndarray, overrides: list[str]) -> tuple[list[float], object]:
    cfg = load_config("tiny-default", overrides=["model.hard_cut=0", *overrides])
    torch.manual_seed(0)
    streamer = Streamer(StreamerModel(cfg.model).eval())
    stream = streamer.new_stream("v")
    with torch.no_grad():
        for sample in video:
            streamer.step([stream], to_model_input(sample[None], cfg.model))
        return streamer.finish(stream).boundaries(0), stream


def test_refinement_weighing_colours_finds_an_object_that_changes_only_its_colour():
    video = shaking_scene(12.2, 24.0, {"color": "green"})
    assert load_config("tiny-default").model.refine_colour == 1.0
    (cut,), stream = level0_cuts(video, ["model.refine_edges=0"])
    assert len(stream.histograms) == len(video) and not stream.edges
    assert abs(cut - 12.2) <= 0.25  # the change of colour, and no cut for the shaking (embeddings alone
    #                                 here: 4.75, 12.75 and 16.75)


@pytest.mark.parametrize("shape", ["diamond", "cross", "square"])
def test_refinement_weighing_edges_finds_an_object_that_changes_only_its_shape(shape):
    video = shaking_scene(12.2, 24.0, {"shape": shape}, texture="waves")  # a red circle turns into a red `shape`
    assert load_config("tiny-default").model.refine_edges == 1.0
    cuts, stream = level0_cuts(video, [])
    assert len(stream.edges) == len(video) and len(stream.edges[0]) == 3 * EDGE_BINS
    assert len(cuts) == 1 and abs(cuts[0] - 12.2) <= 0.25
    without = level0_cuts(video, ["model.refine_edges=0"])[0]  # colours and embeddings alone: 2 s early
    assert not any(abs(cut - 12.2) <= 0.5 for cut in without)


def test_histograms_taken_for_a_batch_of_streams_are_each_frames_own():
    """The streamer takes the histograms of all streams' frames of a step at once: each stream's
    rows must be those of its own frames alone, in order, whatever the other streams."""
    cfg = load_config("tiny-default")
    torch.manual_seed(0)
    streamer = Streamer(StreamerModel(cfg.model).eval())
    long, short = streamer.new_stream("long"), streamer.new_stream("short")
    samples = torch.rand(21, 2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        for k, x in enumerate(samples):
            streamer.step([long, short] if k < 7 else [long], x if k < 7 else x[:1])
        streamer.finish(long), streamer.finish(short)
    for stream, frames_seen in ((long, samples[:, 0]), (short, samples[:7, 1])):
        assert len(stream.histograms) == len(stream.edges) == len(frames_seen)
        for frame, colours, edges in zip(frames_seen, stream.histograms, stream.edges):
            np.testing.assert_allclose(colours, colour_histograms(frame[None])[0], atol=1e-6)
            np.testing.assert_allclose(edges, edge_histograms(frame[None])[0], atol=1e-6)
