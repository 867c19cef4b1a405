import dataclasses
import json

import pytest

from streamer_core import ConfigError, StreamerModel, load_config
from streamer_core.config import named_options, placement_options, with_placement


def test_paper_preset_has_the_published_values():
    cfg = load_config("paper")
    m, l = cfg.model, cfg.learn
    assert (m.embed_dim, m.image_size, m.buffer_size, m.window_size, m.max_layers) == (1024, 128, 20, 50, 3)
    assert m.encoder_channels == (32, 64, 256, 1024) and m.force_fixed_buffer and m.demarcation == "average"
    assert (l.alpha, l.lr, l.optimize_every, l.average_every) == (3.0, 1e-4, 100, 100)
    assert m.snippet_size == 0.5 and m.loss == "cosine"


def test_file_then_overrides_win(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"model": {"embed_dim": 64, "loss": "mse"}, "learn": {"lr": 0.01}}))
    cfg = load_config("tiny", path, ["learn.lr=0.5", "model.force_fixed_buffer=false",
                                     "model.encoder_channels=2,4"])
    assert cfg.model.embed_dim == 64 and cfg.model.loss == "mse"
    assert cfg.learn.lr == 0.5 and cfg.model.force_fixed_buffer is False
    assert cfg.model.encoder_channels == (2, 4)


def test_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  window_size: 7\n")
    assert load_config("tiny", path).model.window_size == 7


@pytest.mark.parametrize("override, field", [
    ("model.embed_dim=0", "model.embed_dim"),
    ("model.loss=l1", "model.loss"),
    ("model.demarcation=median", "model.demarcation"),
    ("learn.lr=-1", "learn.lr"),
    ("learn.lr=fast", "learn.lr"),
    ("model.force_fixed_buffer=maybe", "model.force_fixed_buffer"),
    ("model.nonsense=1", "model.nonsense"),
    ("model.init_layers=5", "model.init_layers"),
    ("model.temporal_heads=5", "model.temporal_heads"),
    ("model.image_size=30", "model.image_size"),
    ("model.precision=float16", "model.precision"),
    ("learn.encode_batch=0", "learn.encode_batch"),
    ("model.hard_cut=-0.1", "model.hard_cut"),
    ("model.refine_coarse=-0.1", "model.refine_coarse"),
    ("model.refine_periods=-0.1", "model.refine_periods"),
    ("model.refine_min_event=-1", "model.refine_min_event"),
    ("model.refine_posterior=-0.3", "model.refine_posterior"),
    ("model.refine_kernel=gaussian", "model.refine_kernel"),
    ("model.refine_neighbours=-0.5", "model.refine_neighbours"),
])
def test_bad_values_name_their_field(override, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config("tiny", overrides=[override])


def test_hard_cuts_need_frames(tmp_path):
    features = ["model.input_kind=features", "model.feature_dim=8"]
    with pytest.raises(ConfigError, match=r"model\.hard_cut"):
        load_config("tiny", overrides=[*features, "model.hard_cut=0.04"])
    file = tmp_path / "sensors.yaml"
    file.write_text("model:\n  input_kind: features\n  feature_dim: 8\n  hard_cut: 0.04\n")
    with pytest.raises(ConfigError, match=r"model\.hard_cut"):
        load_config("tiny-default", file=file)


def test_a_recommended_preset_takes_feature_streams_without_its_hard_cuts():
    frames = load_config("tiny-default")
    features = load_config("tiny-default", overrides=["model.input_kind=features", "model.feature_dim=8"])
    assert frames.model.hard_cut > 0 and features.model.hard_cut == 0
    assert dataclasses.replace(features.model, input_kind="frames", feature_dim=frames.model.feature_dim,
                               hard_cut=frames.model.hard_cut) == frames.model  # nothing else moved


def test_unknown_preset_and_malformed_override():
    with pytest.raises(ConfigError, match="preset"):
        load_config("huge")
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config("tiny", overrides=["lr=1"])


def test_round_trip_through_dict():
    cfg = load_config("tiny", overrides=["model.window_size=9"])
    again = type(cfg).from_dict(cfg.to_dict())
    assert again == cfg


def test_a_model_of_feature_streams_needs_their_width():
    cfg = load_config("tiny", overrides=["model.input_kind=features"])  # the training job reads it from the corpus
    with pytest.raises(ConfigError, match=r"model\.feature_dim"):
        StreamerModel(cfg.model)


def test_only_placement_options_may_change_at_segmentation(tmp_path):
    path = tmp_path / "segment.yaml"
    path.write_text("model: {refine: 0.3}\ninference: {actors: 2}\n")
    overrides = ["model.refine_coarse=0.5", "data.chunk_frames=8"]
    named = named_options(path, overrides)
    assert named == {"model.refine", "inference.actors", "model.refine_coarse", "data.chunk_frames"}
    asked = placement_options(load_config("default", path, overrides), named)
    assert asked == {"refine": 0.3, "refine_coarse": 0.5}
    trained = load_config("default").model
    placed, suffix = with_placement(trained, asked)
    assert (placed.refine, placed.refine_coarse, suffix) == (0.3, 0.5, "+refine=0.3+refine_coarse=0.5")
    assert dataclasses.replace(placed, refine=0.2, refine_coarse=0.0) == trained  # nothing else moved
    assert with_placement(trained, {"refine": 0.2}) == (trained, "")  # its own value: the same version
    shortest = ["model.refine_min_event=3"]  # the pass's shortest event, a count, as jobs/segment.py --set names it
    asked = placement_options(load_config("default", overrides=shortest), named_options(overrides=shortest))
    placed, suffix = with_placement(trained, asked)
    assert (placed.refine_min_event, suffix) == (3, "+refine_min_event=3")
    assert with_placement(trained, {"refine_posterior": 0.0})[1] == "+refine_posterior=0"  # least-cost places
    with pytest.raises(ConfigError, match=r"model\.min_event: a trained model keeps its checkpoint's"):
        placement_options(load_config("default"), {"model.refine", "model.min_event"})
    for wrong, message in (({"embed_dim": 8}, "a trained model keeps"), ({"refine": -0.1}, "out of range"),
                           ({"refine": "0.3"}, "expected float")):  # as InferenceModel(placement=...) may be given
        with pytest.raises(ConfigError, match=message):
            with_placement(trained, wrong)
