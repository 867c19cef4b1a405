import copy
import functools
import io

import numpy as np
import pytest
import torch

from streamer_core import (
    CheckpointError,
    InputError,
    Learner,
    Streamer,
    StreamerModel,
    StreamSource,
    load_config,
)


def random_frames(seed: int, n: int, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@functools.cache
def _trained(seed: int, videos: int) -> StreamerModel:
    cfg = load_config("tiny")
    torch.manual_seed(seed)
    model = StreamerModel(cfg.model)
    streamer = Streamer(model, Learner(model, cfg.learn))
    for v in range(videos):
        streamer.learn(StreamSource(f"v{v}", [random_frames(v, 90)]))
    return model.eval()


def trained_model(seed: int = 0, videos: int = 2) -> StreamerModel:
    """A tiny model after learning on `videos` random streams (trained once per test session)."""
    return copy.deepcopy(_trained(seed, videos))


def segment(model, sources):
    with torch.no_grad():
        return list(Streamer(model).run(sources))


def check_invariants(h, duration):
    for level, events in enumerate(h.levels):
        assert events[0].start_s == 0.0 and events[-1].end_s == pytest.approx(duration)
        assert all(a.end_s == b.start_s and a.start_s < a.end_s for a, b in zip(events, events[1:]))
        if level + 1 < len(h.levels):
            upper = h.levels[level + 1]
            assert set(h.boundaries(level + 1)) <= set(h.boundaries(level))
            for e in events:
                parent = upper[e.parent_index]
                assert parent.start_s <= e.start_s and e.end_s <= parent.end_s
        else:
            assert all(e.parent_index == -1 for e in events)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hierarchy_invariants_on_random_streams(seed):
    model = trained_model(seed)
    assert int(model.active_levels) == 3
    n = 40 + 30 * seed
    (h,) = segment(model, [StreamSource("x", [random_frames(100 + seed, n)], duration_s=n * 0.5 + 0.3)])
    assert len(h.levels) == 3 and len(h.levels[0]) > 1
    check_invariants(h, n * 0.5 + 0.3)
    assert all(e.embedding.shape == (32,) for events in h.levels for e in events)
    rows = h.to_rows()
    assert len(rows) == sum(len(l) for l in h.levels) and set(rows[0]) >= {"level", "event_index", "embedding"}


def test_learning_hierarchy_obeys_the_same_invariants():
    cfg = load_config("tiny")
    torch.manual_seed(0)
    model = StreamerModel(cfg.model)
    learner = Learner(model, cfg.learn)
    h = Streamer(model, learner).learn(StreamSource("v", [random_frames(3, 50), random_frames(4, 30)]))
    check_invariants(h, 40.0)
    assert learner.steps > 0


def test_batched_inference_matches_one_video_at_a_time():
    model = trained_model().double()
    lengths = [30, 55, 42]
    sources = lambda: [StreamSource(f"x{i}", [random_frames(50 + i, n)]) for i, n in enumerate(lengths)]
    together = {h.video_id: h for h in segment(model, sources())}
    for src in sources():
        (alone,) = segment(model, [src])
        other = together[src.video_id]
        assert [[(e.start_s, e.end_s) for e in l] for l in alone.levels] == \
               [[(e.start_s, e.end_s) for e in l] for l in other.levels]
        for a, b in zip(alone.levels[0], other.levels[0]):
            np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-5)


def test_seeded_runs_give_identical_hierarchies():
    frames = random_frames(9, 60)
    a = segment(_trained.__wrapped__(5, 1), [StreamSource("x", [frames])])[0]
    b = segment(_trained.__wrapped__(5, 1), [StreamSource("x", [frames])])[0]
    assert a.to_json() == b.to_json()


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = trained_model()
    model.save(tmp_path / "m.pt", extra={"videos_done": ["v0"]})
    again = StreamerModel.from_checkpoint(tmp_path / "m.pt")
    assert again.cfg == model.cfg and int(again.active_levels) == int(model.active_levels)
    frames = random_frames(7, 50)
    a = segment(model, [StreamSource("x", [frames])])[0]
    b = segment(again.eval(), [StreamSource("x", [frames])])[0]
    assert a.to_json() == b.to_json()
    for ea, eb in zip(a.levels[0], b.levels[0]):
        np.testing.assert_array_equal(ea.embedding, eb.embedding)
    assert StreamerModel.from_checkpoint(model.to_bytes()).cfg == model.cfg


def test_checkpoint_of_another_config_is_refused(tmp_path):
    model = trained_model()
    model.save(tmp_path / "m.pt")
    other = StreamerModel(load_config("tiny", overrides=["model.embed_dim=16"]).model)
    with pytest.raises(CheckpointError, match="model.embed_dim=32"):
        other.load_weights(tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="not found"):
        StreamerModel.from_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        StreamerModel.from_checkpoint(tmp_path / "junk.pt")
    buffer = io.BytesIO()
    torch.save({"weights": 1}, buffer)
    with pytest.raises(CheckpointError, match="not a STREAMER checkpoint"):
        StreamerModel.from_checkpoint(buffer.getvalue())


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 16, 16, 3), np.uint8), r"\[N, 32, 32, 3\]"),
    (np.zeros((4, 3, 32, 32), np.float32) + 2.0, r"\[-1, 1\]"),
    (np.full((4, 3, 32, 32), np.nan, np.float32), "NaN"),
    (np.zeros((4, 32, 32), np.float32), r"\[N, 3, 32, 32\]"),
    (np.zeros((4, 3, 32, 32), np.int64), "floating point"),
])
def test_bad_input_is_reported(bad, message):
    model = trained_model(videos=1)
    with pytest.raises(InputError, match=message):
        segment(model, [StreamSource("x", [bad])])


def test_feature_streams_use_linear_codecs():
    cfg = load_config("tiny", overrides=["model.input_kind=features", "model.feature_dim=6"])
    model = StreamerModel(cfg.model)
    assert isinstance(model.encoder, torch.nn.Linear)
    stream = np.random.default_rng(0).normal(size=(80, 6)).astype(np.float32)
    h = Streamer(model, Learner(model, cfg.learn)).learn(StreamSource("f", [stream]))
    check_invariants(h, 40.0)
    with pytest.raises(InputError, match=r"\[N, 6\]"):
        segment(model.eval(), [StreamSource("f", [np.zeros((3, 5), np.float32)])])


def test_stacking_every_evolve_every_top_inputs_up_to_max_layers():
    cfg = load_config("tiny", overrides=["model.evolve_every=10", "model.max_layers=2"])
    model = StreamerModel(cfg.model)
    learner = Learner(model, cfg.learn)
    streamer = Streamer(model, learner)
    stream = streamer.new_stream("s")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    for _k in range(9):
        streamer.step([stream], x)
    assert int(model.active_levels) == 1
    streamer.step([stream], x)
    assert int(model.active_levels) == 2 and int(model.top_inputs) == 0
    for _k in range(200):
        streamer.step([stream], torch.rand(1, 3, 32, 32) * 2 - 1)
    assert int(model.active_levels) == 2  # never beyond max_layers


def test_force_fixed_buffer_cuts_when_the_working_set_is_full():
    cfg = load_config("tiny", overrides=["model.demarcation=fixed", "model.threshold=-2", "model.max_layers=1"])
    model = StreamerModel(cfg.model).eval()
    (h,) = segment(model, [StreamSource("x", [random_frames(0, 40)])])
    assert h.boundaries(0) == [4.0, 8.0, 12.0, 16.0]  # never by score, every 8 samples by a full set
    cfg.model.force_fixed_buffer = False
    (h,) = segment(StreamerModel(cfg.model).eval(), [StreamSource("x", [random_frames(0, 40)])])
    assert h.boundaries(0) == []


def test_each_video_starts_from_a_fresh_state():
    model = trained_model()
    frames = random_frames(11, 40)
    first = segment(model, [StreamSource("a", [random_frames(12, 33)]), StreamSource("b", [frames])])
    alone = segment(model, [StreamSource("b", [frames])])
    assert first[1].to_json() == alone[0].to_json()
