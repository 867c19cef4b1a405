"""Hard cuts (model.hard_cut): what counts as one, which stand at the end of a video, and how they end
events at levels 0 and 1."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from pipelines.sample.render import Action, Scene, VideoSpec, render
from streamer_core import (
    Learner,
    Streamer,
    StreamerModel,
    StreamSource,
    cuts,
    load_config,
)
from streamer_core.inputs import to_model_input

SIZE, STEP = 32, 0.5


def two_scenes(cut_s: float, duration_s: float, size: int = SIZE) -> np.ndarray:
    """uint8 samples every STEP s: a panning striped scene, then a still checkered one of another
    tint from `cut_s` (the sample corpus's kinds of scene: a pan of 4 px/s at 128 px); a
    foreground object moves and changes shape and colour in both."""
    def actions(start, end):
        middle = (start + end) / 2
        return (Action(start, middle, "circle", "red", "orbit", 0.0),
                Action(middle, end, "square", "yellow", "zigzag", 1.0))
    scenes = (Scene(0.0, cut_s, "stripes", "teal", 5.0, 0.3, 4.0 * size / 128, actions(0.0, cut_s)),
              Scene(cut_s, duration_s, "checker", "amber", 3.0, 1.1, 0.0, actions(cut_s, duration_s)))
    times = tuple(k * STEP for k in range(int(duration_s / STEP)))
    spec = VideoSpec("v", size, Fraction(2), True, scenes, times)
    return np.stack([render(spec, t) for t in times])


def changes(frames: np.ndarray) -> np.ndarray:
    """The change from each sample to the next, on the model's input."""
    cfg = load_config("tiny", overrides=[f"model.image_size={len(frames[0])}"])
    colours = cuts.region_colours(to_model_input(frames, cfg.model))
    return cuts.change(colours[:-1], colours[1:]).numpy()


@pytest.mark.parametrize("size", [32, 128])
def test_a_cut_changes_most_regions_a_pan_or_an_action_does_not(size):
    change = changes(two_scenes(6.0, 12.0, size))  # change[i]: from sample i to i + 1
    cut = int(6.0 / STEP) - 1
    assert change[cut] > 0.08, change[cut]
    others = np.delete(change, cut)
    assert others.max() < 0.02, others.max()  # the pan, the moving object and its change of action


def shaken_scene(rng: np.random.Generator, cut_at: int = 0) -> np.ndarray:
    """uint8 samples of a detailed scene (patches of 4 px in 8 colours) that a shaking camera moves by
    a pixel at every sample, cut to another such scene at sample ``cut_at`` (0: none)."""
    coarse = rng.integers(0, 2, (2, SIZE // 4 + 1, SIZE // 4 + 1, 3), dtype=np.uint8) * 255  # patches of 4 px
    scenes = coarse.repeat(4, axis=1).repeat(4, axis=2)
    moves = [(2, 2), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (2, 1), (1, 1)] * 2  # a pixel at most per sample
    return np.stack([scenes[int(cut_at and k >= cut_at)][dy:dy + SIZE, dx:dx + SIZE]
                     for k, (dy, dx) in enumerate(moves)])


def test_at_its_best_shift_a_shaking_camera_is_no_change_a_cut_still_is():
    """model.hard_cut_shift: a shake moves the whole frame by a pixel, which changes most regions of a
    detailed scene (a photograph in the tune corpus sample-521) as much as a cut; compared at the shift
    that matches best, it is no change."""
    frames = shaken_scene(np.random.default_rng(0), cut_at=8)
    thumbs = cuts.thumbnails(to_model_input(frames, load_config("tiny").model))
    shifted = cuts.shifted_change(thumbs[:-1], thumbs[1:], 1).numpy()
    assert np.delete(shifted, 7).max() < 1e-6 and shifted[7] > 0.08, shifted
    in_place = np.delete(changes(frames), 7)
    assert (in_place > 0.04).sum() >= 5, in_place  # in place, shakes pass for cuts


@pytest.mark.parametrize("shift", [0, 1])
def test_the_inputs_a_stream_keeps_for_hard_cuts_are_its_own(shift):
    """A stream keeps its last inputs' region grids or thumbnails (at 32 px, the input itself): a view
    into the batch would keep the batch alive, and would change with it."""
    cfg = load_config("tiny", overrides=[*hard_cut_overrides(0.04), f"model.hard_cut_shift={shift}"])
    streamer = Streamer(StreamerModel(cfg.model).eval())
    streams = [streamer.new_stream("a"), streamer.new_stream("b")]
    batch = to_model_input(shaken_scene(np.random.default_rng(0), cut_at=0)[:2], cfg.model)
    with torch.no_grad():
        streamer.step(streams, batch)
    (kept,) = streams[0].colours
    torch.testing.assert_close(kept, cuts.comparable(batch, shift)[0], rtol=0, atol=0)
    batch.zero_()
    assert kept.abs().sum() > 0
    assert kept.untyped_storage().nbytes() == kept.numel() * kept.element_size()


@pytest.mark.parametrize("shift", [1, 2])
def test_the_shifted_change_is_each_shifted_window_pooled_in_turn(shift):
    """shifted_change pools every shift at once (two products); the plain way pools each window."""
    torch.manual_seed(0)
    before, after = (torch.rand(5, 3, cuts.THUMBNAIL, cuts.THUMBNAIL) * 2 - 1 for _ in range(2))
    after[0] = torch.roll(before[0], (1, -1), (1, 2))
    inner = slice(shift, cuts.THUMBNAIL - shift)
    older = torch.nn.functional.adaptive_avg_pool2d(before[:, :, inner, inner], cuts.REGIONS)
    plain = torch.stack([cuts.change(older, torch.nn.functional.adaptive_avg_pool2d(
        after[:, :, shift + dy:cuts.THUMBNAIL - shift + dy, shift + dx:cuts.THUMBNAIL - shift + dx], cuts.REGIONS))
        for dy in range(-shift, shift + 1) for dx in range(-shift, shift + 1)]).min(0).values
    torch.testing.assert_close(cuts.shifted_change(before, after, shift), plain, atol=1e-6, rtol=1e-5)
    assert plain[0] < 1e-6 and plain[1:].min() > 0.01


def test_a_stream_with_the_shift_takes_a_shaking_camera_for_no_cut():
    frames = shaken_scene(np.random.default_rng(1), cut_at=8)
    torch.manual_seed(0)
    found = {}
    for shift in (0, 1):
        cfg = load_config("tiny", overrides=[*hard_cut_overrides(0.04), f"model.hard_cut_shift={shift}"])
        with torch.no_grad():
            (found[shift],) = Streamer(StreamerModel(cfg.model).eval()).run([StreamSource("a", [frames])])
    assert found[1].boundaries(0) == [8 * STEP]
    assert len(found[0].boundaries(0)) >= 4, found[0].boundaries(0)  # in place, shakes end events too


def hard_cut_overrides(hard_cut: float) -> list[str]:
    """tiny networks, two levels from the start, and no cut but hard ones (demarcation never
    fires: a similarity never falls below -1; no working set is forced out)."""
    return ["model.init_layers=2", "model.max_layers=2", "model.demarcation=fixed", "model.threshold=-1",
            "model.force_fixed_buffer=false", f"model.hard_cut={hard_cut}"]


def hard_cut_config(hard_cut: float):
    return load_config("tiny", overrides=hard_cut_overrides(hard_cut))


def test_a_hard_cut_ends_the_events_of_levels_0_and_1_in_each_stream_of_a_batch():
    cfg = hard_cut_config(0.04)
    torch.manual_seed(0)
    model = StreamerModel(cfg.model).eval()
    with torch.no_grad():
        found = {h.video_id: h for h in Streamer(model).run([StreamSource("a", [two_scenes(6.0, 12.0)]),
                                                             StreamSource("b", [two_scenes(3.5, 10.0)])])}
    for h, cut in ((found["a"], 6.0), (found["b"], 3.5)):
        assert h.boundaries(0) == [cut] and h.boundaries(1) == [cut], h.video_id
        # level 1's first event is level 0's first event, cut before level 1 had an input of its own
        assert [e.parent_index for e in h.levels[0]] == [0, 1]
        assert all(e.embedding.shape == (cfg.model.embed_dim,) for e in h.levels[1])
        np.testing.assert_array_equal(h.levels[1][0].embedding, h.levels[0][0].embedding)
    with torch.no_grad():
        (plain,) = Streamer(model).run([StreamSource("a", [two_scenes(6.0, 12.0)])])
    assert plain.boundaries(0) == [6.0]  # the same model, same input: hard cuts do not depend on batching


def test_the_changes_kept_re_cut_the_hard_cuts():
    cfg = hard_cut_config(0.04)
    torch.manual_seed(0)
    frames = two_scenes(6.0, 12.0)
    with torch.no_grad():
        (h,) = Streamer(StreamerModel(cfg.model).eval()).run([StreamSource("a", [frames])])
    np.testing.assert_allclose(h.changes, changes(frames), rtol=1e-6)  # one per sample after the first
    assert [(i + 1) * STEP for i, c in enumerate(h.changes) if c > cfg.model.hard_cut] == h.boundaries(0)


def test_without_hard_cuts_the_same_stream_is_not_cut():
    cfg = hard_cut_config(0.0)
    torch.manual_seed(0)
    with torch.no_grad():
        (h,) = Streamer(StreamerModel(cfg.model).eval()).run([StreamSource("a", [two_scenes(6.0, 12.0)])])
    assert h.boundaries(0) == [] and h.boundaries(1) == [] and h.changes == []


def test_learning_sees_hard_cuts_too():
    cfg = hard_cut_config(0.04)
    torch.manual_seed(0)
    model = StreamerModel(cfg.model)
    h = Streamer(model, Learner(model, cfg.learn)).learn(StreamSource("a", [two_scenes(6.0, 12.0)]))
    assert h.boundaries(0) == [6.0] and h.boundaries(1) == [6.0]


def dissolve(steps: int, delta: int, still: int = 8) -> np.ndarray:
    """uint8 grey samples every STEP s: `still` of one shot, a dissolve over `steps` samples to a shot
    `delta` grey levels lighter, `still` of that one."""
    levels = [100.0] * still + [100 + delta * k / steps for k in range(1, steps)] + [100.0 + delta] * still
    return np.stack([np.full((SIZE, SIZE, 3), round(v), np.uint8) for v in levels])


def gradual_spans(frames: np.ndarray, threshold: float, longest: int) -> list[int]:
    cfg = load_config("tiny", overrides=[f"model.image_size={SIZE}"])
    colours = list(cuts.region_colours(to_model_input(frames, cfg.model)))
    steps = changes(frames).tolist()
    return [cuts.gradual_span(colours[max(0, i - longest):i + 1], steps[:i], threshold) for i in range(1, len(frames))]


def test_a_dissolve_no_single_step_of_which_is_a_cut_is_a_gradual_transition():
    frames = dissolve(steps=3, delta=30)  # three steps of 10 grey levels: a cut's change over three samples
    steps = changes(frames)
    assert 0.01 < steps[7:10].min() and steps.max() < 0.04, steps
    assert changes(frames[[7, 10]])[0] > 0.04
    spans = gradual_spans(frames, 0.04, longest=4)
    # samples 7 and 9 differ like a cut: the transition fires once, at sample 9, over the 2 inputs since 7
    assert [(i + 1, s) for i, s in enumerate(spans) if s] == [(9, 2)]
    assert not any(gradual_spans(frames, 0.04, longest=1))  # longer than the longest span looked at
    assert not any(gradual_spans(dissolve(steps=3, delta=15), 0.04, longest=4))  # too small a change
    assert not any(gradual_spans(two_scenes(6.0, 12.0), 0.04, longest=4))  # a pan, an action, a hard cut


def test_a_gradual_transition_ends_the_events_of_levels_0_and_1_and_refines_to_its_middle():
    frames = dissolve(steps=3, delta=30)
    cfg = load_config("tiny", overrides=[*hard_cut_overrides(0.04), "model.gradual_span=4"])
    torch.manual_seed(0)
    model = StreamerModel(cfg.model).eval()
    with torch.no_grad():
        (online,) = Streamer(model).run([StreamSource("a", [frames])])
        (off,) = Streamer(StreamerModel(load_config("tiny", overrides=hard_cut_overrides(0.04)).model).eval()).run(
            [StreamSource("a", [frames])])
    assert online.boundaries(0) == online.boundaries(1) == [9 * STEP]
    assert off.boundaries(0) == []  # gradual_span=0: only single steps count
    refined_cfg = load_config("tiny-default", overrides=["model.init_layers=2"])
    assert refined_cfg.model.gradual_span == 4 and refined_cfg.model.cut_at == "between"
    torch.manual_seed(0)
    with torch.no_grad():
        (refined,) = Streamer(StreamerModel(refined_cfg.model).eval()).run([StreamSource("a", [frames])])
    # the run of samples 8-9 stands at its middle, sample 8 (between 7 and 9), stamped midway after sample 7
    assert refined.boundaries(0)[:1] == [8 * STEP - STEP / 2] and 8 * STEP - STEP / 2 in refined.boundaries(1)


def test_a_hard_cut_stands_only_as_a_lone_peak_of_change():
    changes = [0.01, 0.01, 0.30, 0.01, 0.01,  # sample 3: a cut between still shots
               0.12, 0.15, 0.20, 0.14, 0.13]  # sample 8: as large, but amid fast motion
    assert cuts.confirmed_cuts([3, 8], changes) == [3]
    assert cuts.confirmed_cuts([1], [0.5]) == [1]  # nothing around it to doubt it by


def test_with_colours_a_hard_cut_stands_only_where_the_colours_change_for_good():
    rng = np.random.default_rng(0)
    red, blue = np.eye(4)[0], np.eye(4)[2]
    changes = [0.01] * 4 + [0.30] + [0.01] * 4 + [0.30] + [0.01] * 4  # cuts at samples 5 and 10, alike
    colours = np.array([red] * 5 + [blue] * 5 + [blue] * 5) + rng.normal(0, 0.01, (15, 4))
    assert cuts.confirmed_cuts([5, 10], changes) == [5, 10]
    assert cuts.confirmed_cuts([5, 10], changes, colours) == [5]  # at 10 the colours stay as they were (a jolt)
    flicker = colours + np.r_[[0.0, 0.2] * 7, [0.0]][:, None] * blue  # colours that swing at every input
    assert cuts.confirmed_cuts([5, 10], changes, flicker) == [5]  # still a change for good, beside the swing


def test_a_run_of_hard_cuts_is_one_transition_kept_at_its_middle():
    still = [0.01] * 6
    dissolve = still + [0.10, 0.12] + still  # samples 7 and 8 both past the threshold
    assert cuts.confirmed_cuts([7, 8], dissolve) == [7]  # between samples 6 and 8, which differ most
    fade = still + [0.08, 0.11, 0.09] + still
    assert cuts.confirmed_cuts([7, 8, 9], fade) == [8]
    moving = [0.06] * 6 + [0.10, 0.12] + [0.06] * 6  # the same pair amid fast motion
    assert cuts.confirmed_cuts([7, 8], moving) == []
    shaking = [0.01, 0.05, 0.02, 0.04] * 2 + [0.12] + [0.03, 0.04, 0.01, 0.05] * 2  # a camera that shakes
    assert cuts.confirmed_cuts([9], shaking) == []
    assert cuts.confirmed_cuts([9], [0.5 if c == 0.12 else c for c in shaking]) == [9]
    # quick editing: other cuts within CONFIRM_SPAN inputs do not count against a cut
    assert cuts.confirmed_cuts([7, 8, 12], still + [0.10, 0.12, 0.01, 0.01, 0.01, 0.3] + still) == [7, 12]
    assert cuts.confirmed_cuts([7, 9, 11], still + [0.3, 0.01, 0.4, 0.01, 0.35] + still) == [7, 9, 11]
