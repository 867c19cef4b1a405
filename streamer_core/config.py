"""One config tree for the whole product: model, learning rule, data, training and inference.

Presets: `paper` (the published values) and `tiny` (seconds on a CPU, for tests and demos).
`load_config(preset, file, overrides)` layers a YAML/JSON file and `section.key=value`
overrides on a preset; every value is checked and a bad one names its field."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config value is missing, unknown or out of range; the message names the field."""


@dataclass
class ModelConfig:
    input_kind: str = "frames"  # "frames" (3xHxW in [-1, 1]) or "features" (vectors of width feature_dim)
    image_size: int = 128
    feature_dim: int = 0  # features: the row width (0: the training job reads it from the corpus's first stream)
    embed_dim: int = 1024
    encoder_channels: tuple[int, ...] = (32, 64, 256, 1024)
    temporal_layers: int = 2
    temporal_heads: int = 8
    predictor_layers: int = 2
    predictor_heads: int = 4
    buffer_size: int = 20
    force_fixed_buffer: bool = True
    loss: str = "cosine"  # "cosine" or "mse"
    demarcation: str = "average"  # "average", "fixed", "accum" or "peaks" (see streamer_core.demarcation)
    window_size: int = 50
    modifier: float = 1.0
    threshold: float = 0.5  # for "fixed" (similarity or error) and "accum" (accumulated error)
    z_threshold: float = 2.0  # for "peaks": standard deviations above the window's mean score step
    min_event: int = 1  # inputs an event needs before demarcation may end it (1: the paper)
    escalate: float = 0.0  # a cut whose score shift is this many times the mean shift of the level's
    #                        earlier cuts also ends the event above (0: off, the paper)
    hard_cut: float = 0.0  # frames only: an input whose region colours changed by more than this
    #                        (streamer_core.cuts) ends the events of levels 0 and 1 (0: off, the paper)
    hard_cut_shift: int = 0  # with hard_cut: inputs compared as 32 px thumbnails at the shift of up to this
    #                          many pixels that matches best, so that a shaking camera is no cut (0: in place)
    gradual_span: int = 0  # with hard_cut: a gradual transition (a fade, a dissolve) over 2 to this many
    #                        inputs, no single change of which passes hard_cut, also ends them (0: off)
    refine: float = 0.0  # > 0: at the end of a video, level 0's events are placed again by a kernel
    #                      change-point pass over its inputs' embeddings, this penalty x ln(inputs)
    #                      per cut (streamer_core.refine; 0: off, the paper)
    refine_colour: float = 0.0  # frames, with refine: level 0's pass also weighs each frame's colour histogram,
    #                             its kernel this much to the embeddings' 1 (streamer_core.histograms,
    #                             streamer_core.refine; 0: embeddings alone)
    refine_edges: float = 0.0  # frames, with refine: the same for each frame's histogram of edge directions
    refine_columns: float = 0.0  # features, with refine: level 0's pass also weighs each column of the
    #                              feature rows as a kernel of its own, each this much to the embeddings' 1
    #                              (streamer_core.refine.column_parts; 0: embeddings alone)
    refine_neighbours: float = 0.0  # features, with refine: level 0's pass also weighs the feature rows'
    #                                 neighbour graph, this much beside the mean of the parts' kernels
    #                                 (streamer_core.neighbours.neighbour_gram; 0: no graph)
    refine_cycles: bool = False  # features, with refine_neighbours: in a stream whose rows repeat a cycle of a
    #                              few rows, the graph links windows of one cycle (streamer_core.neighbours.row_graph)
    cut_at: str = "sample"  # an event starts at its first sample's time ("sample", the paper) or, for
    #                         frames, midway after the sample before ("between"; streamer_core.timing)
    refine_kernel: str = "rbf"  # with refine: each part's kernel, exp(-d^2 / median d^2) ("rbf"),
    #                             exp(-d / median d) ("laplace"), or laplace for frames and rbf for
    #                             feature rows ("auto"; streamer_core.refine.part_kernel)
    refine_levels: int = 1  # with refine: levels placed again bottom up by the same pass over the events
    #                         of the level below (1: level 0 only; the online cuts above snap to it),
    #                         an event above level 0 at least two events of the level below
    refine_coarse: float = 0.0  # with refine: the pass's penalty above level 0 (0: refine's); with
    #                             refine_levels 1, a level 1 placed by it too, for feature streams only
    refine_min_event: int = 0  # with refine: inputs each of the pass's level-0 events holds at least
    #                            (0: min_event, as online; at least 2 either way)
    refine_posterior: float = 0.0  # features, with refine: each of the pass's level-0 cuts moved to the mean of
    #                                the places near it, each weighed by its cost at this temperature
    #                                (streamer_core.refine.posterior_cuts; 0: the least-cost places)
    refine_periods: float = 0.0  # features, with refine: level 1 placed instead as periods that hold few
    #                              kinds of level-0 event, this penalty x ln(events) per period
    #                              (streamer_core.periods; 0: off)
    init_layers: int = 1
    max_layers: int = 3
    evolve_every: int = 50_000
    snippet_size: float = 0.5  # seconds between samples
    precision: str = "float32"  # "bfloat16": linear maps and convolutions in bfloat16 over float32
    #                             weights, gradients and optimiser state (mixed precision; not in the paper);
    #                             "auto": bfloat16 where the device does it natively (streamer_core.precision)


@dataclass
class LearnConfig:
    lr: float = 1e-4
    alpha: float = 3.0
    hgn_timescale: bool = True
    optimize_every: int = 100
    average_every: int = 100
    fast_path: bool = True
    encode_batch: int = 8  # fast path: frames encoded (and pushed back through the encoder) together
    seed: int = 0


@dataclass
class DataConfig:
    input: str = ""  # s3://bucket/prefix or a folder; empty = the built-in sample corpus
    chunk_frames: int = 64
    max_videos: int = 0  # 0 = all


@dataclass
class TrainConfig:
    workers: int = 2
    checkpoint_dir: str = ""
    checkpoint_every: int = 4  # videos per worker between checkpoints
    max_failures: int = 2
    cpus_per_worker: int = 1  # Ray CPUs (and torch threads: Ray sets OMP_NUM_THREADS) per worker
    gpus_per_worker: float = 0.0  # Ray GPUs per worker (fractions share one); 0: CPU workers
    placement: str = "PACK"  # Ray placement of the workers: PACK (fewest nodes) or SPREAD (one per node)


@dataclass
class InferenceConfig:
    batch_videos: int = 4
    actors: int = 1


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    learn: LearnConfig = field(default_factory=LearnConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        cfg = cls()
        _merge(cfg, values, "")
        validate(cfg)
        return cfg


# Not in the paper: cut at unusual steps of the prediction score, events of at least 2 s at 0.5 s
# snippets, hard cuts (most of the frame changes colour at once, or over up to 2 s of a fade or a
# dissolve) end the events of levels 0 and 1, level 0's events are placed again at the end of a
# video (refine; frames by their colours and edges too, feature rows by each column and by their
# neighbour graph, of windows of a cycle where the rows repeat one, their cuts at the mean of the
# places they would cost about as much at, refine_posterior; a feature stream's level 1 as periods of
# few kinds of level-0 event, refine_periods),
# and an event starting at a frame is stamped midway after the frame before (cut_at); chosen on the
# tune corpora of benchmarks/quality.py, measured on its test corpora (the README's quality table).
IMPROVED_DEMARCATION = {"demarcation": "peaks", "z_threshold": 1.0, "min_event": 4, "hard_cut": 0.04,
                        "gradual_span": 4, "refine": 0.2, "refine_colour": 1.0,
                        "refine_edges": 1.0, "refine_columns": 1.0, "refine_neighbours": 0.5,
                        "refine_cycles": True, "refine_posterior": 0.3, "refine_periods": 0.5, "cut_at": "between",
                        "refine_kernel": "auto"}

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    # the recommended one: the published networks, the improved demarcation, a new level every
    # 100 top-level inputs (paper: 50,000) so that minutes of footage already grow the full hierarchy,
    # and bfloat16 products where the hardware does them natively (1.5x training, 2.9x inference here)
    "default": {"model": {**IMPROVED_DEMARCATION, "evolve_every": 100, "precision": "auto"}},
    "tiny": {
        "model": {"image_size": 32, "embed_dim": 32, "encoder_channels": [4, 8, 16],
                  "temporal_heads": 2, "predictor_heads": 2, "buffer_size": 8,
                  "window_size": 10, "evolve_every": 12},
        "learn": {"lr": 1e-3, "optimize_every": 4, "average_every": 2},
        "data": {"chunk_frames": 32},
    },
}
# the tiny networks with the paper's working set and window and the improved demarcation; float32,
# since products this small gain nothing from bfloat16 (it costs them the conversions: measured
# 65-95 frames/s of learning in bfloat16 against 119-131 in float32 on an AVX512-BF16 CPU)
PRESETS["tiny-default"] = {**PRESETS["tiny"],
                           "model": {**PRESETS["tiny"]["model"], "buffer_size": 20, "window_size": 50,
                                     **IMPROVED_DEMARCATION}}

_CHOICES = {
    "model.input_kind": ("frames", "features"),
    "model.loss": ("cosine", "mse"),
    "model.demarcation": ("average", "fixed", "accum", "peaks"),
    "model.precision": ("float32", "bfloat16", "auto"),
    "model.cut_at": ("sample", "between"),
    "model.refine_kernel": ("rbf", "laplace", "auto"),
    "train.placement": ("PACK", "SPREAD"),
}


# the model options that only place events once a video has ended (streamer_core.placement: level 0's penalty
# and shortest event, the coarse levels' and the periods'): no weight was learned with them, so a trained model
# may segment with other values (coarser or finer events) than its checkpoint's
PLACEMENT_OPTIONS = ("refine", "refine_coarse", "refine_periods", "refine_min_event", "refine_posterior")


def _coerce(name: str, text: str, kind: Any) -> Any:
    """Turns a command-line string into the field's type."""
    try:
        if kind in (bool, "bool"):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if kind in (int, "int"):
            return int(text)
        if kind in (float, "float"):
            return float(text)
        if str(kind).startswith("tuple"):
            return tuple(int(v) for v in text.strip("()[]").split(",") if v.strip())
        return text
    except ValueError:
        raise ConfigError(f"{name}: cannot read {text!r} as {kind}") from None


def _merge(cfg: Any, values: dict[str, Any], prefix: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(f"{name}: unknown field (known: {', '.join(fields)})")
        current = getattr(cfg, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{name}: expected a mapping of fields")
            _merge(current, value, f"{name}.")
            continue
        if isinstance(value, str) and not isinstance(current, str):
            value = _coerce(name, value, fields[key].type)
        if isinstance(current, tuple):
            value = tuple(value)
        setattr(cfg, key, value)


def validate(cfg: Config) -> None:
    """Checks types, choices and ranges; raises ConfigError naming the first bad field."""
    for section in dataclasses.fields(cfg):
        sub = getattr(cfg, section.name)
        for f in dataclasses.fields(sub):
            name, value = f"{section.name}.{f.name}", getattr(sub, f.name)
            expected = type(getattr(type(sub)(), f.name))
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            if not ok:
                raise ConfigError(f"{name}: expected {expected.__name__}, got {value!r}")
            if name in _CHOICES and value not in _CHOICES[name]:
                raise ConfigError(f"{name}: {value!r} is not one of {_CHOICES[name]}")
    _check_ranges(cfg)


def _check_ranges(cfg: Config) -> None:
    m, l = cfg.model, cfg.learn
    rules = [
        ("model.embed_dim", m.embed_dim >= 1), ("model.buffer_size", m.buffer_size >= 1),
        ("model.window_size", m.window_size >= 1), ("model.min_event", m.min_event >= 1),
        ("model.z_threshold", m.z_threshold > 0), ("model.escalate", m.escalate >= 0),
        ("model.gradual_span", m.gradual_span == 0 or m.gradual_span >= 2),
        ("model.refine", m.refine >= 0), ("model.refine_levels", m.refine_levels >= 1),
        ("model.refine_coarse", m.refine_coarse >= 0),
        ("model.refine_periods", m.refine_periods >= 0), ("model.refine_min_event", m.refine_min_event >= 0),
        ("model.refine_posterior", m.refine_posterior >= 0),
        ("model.refine_colour", m.refine_colour >= 0), ("model.refine_edges", m.refine_edges >= 0),
        ("model.refine_columns", m.refine_columns >= 0),
        ("model.refine_neighbours", m.refine_neighbours >= 0),
        ("model.max_layers", m.max_layers >= 1),
        ("model.hard_cut", m.hard_cut >= 0 and (m.hard_cut == 0 or m.input_kind == "frames")),
        ("model.hard_cut_shift", 0 <= m.hard_cut_shift <= 4),
        ("model.init_layers", 1 <= m.init_layers <= m.max_layers),
        ("model.evolve_every", m.evolve_every >= 1), ("model.snippet_size", m.snippet_size > 0),
        ("model.temporal_heads", m.embed_dim % max(m.temporal_heads, 1) == 0 and m.temporal_heads >= 1),
        ("model.predictor_heads", m.embed_dim % max(m.predictor_heads, 1) == 0 and m.predictor_heads >= 1),
        ("model.encoder_channels", len(m.encoder_channels) >= 1 and all(c >= 1 for c in m.encoder_channels)),
        ("model.image_size", m.image_size >= 2 ** len(m.encoder_channels)
         and m.image_size % 2 ** len(m.encoder_channels) == 0),
        ("model.feature_dim", m.feature_dim >= 0),
        ("learn.lr", l.lr > 0), ("learn.alpha", l.alpha >= 1),
        ("learn.optimize_every", l.optimize_every >= 1), ("learn.average_every", l.average_every >= 1),
        ("learn.encode_batch", l.encode_batch >= 1),
        ("data.chunk_frames", cfg.data.chunk_frames >= 1), ("data.max_videos", cfg.data.max_videos >= 0),
        ("train.workers", cfg.train.workers >= 1), ("train.checkpoint_every", cfg.train.checkpoint_every >= 1),
        ("train.max_failures", cfg.train.max_failures >= 0),
        ("train.cpus_per_worker", cfg.train.cpus_per_worker >= 1),
        ("inference.batch_videos", cfg.inference.batch_videos >= 1),
        ("inference.actors", cfg.inference.actors >= 1),
    ]
    for name, ok in rules:
        if not ok:
            section, key = name.split(".")
            raise ConfigError(f"{name}: value {getattr(getattr(cfg, section), key)!r} is out of range")


def _read_file(path: str | Path) -> dict[str, Any]:
    text = Path(path).read_text()
    values = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of config sections")
    return values


def load_config(preset: str = "tiny", file: str | Path | None = None,
                overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """preset, then the file's values, then `section.key=value` overrides, then validation. On a feature
    stream (model.input_kind=features) the preset's hard cuts are off, as they read frames, so that
    a recommended preset takes sensor rows as it is."""
    if preset not in PRESETS:
        raise ConfigError(f"preset: unknown {preset!r} (known: {', '.join(PRESETS)})")
    cfg = Config()
    _merge(cfg, PRESETS[preset], "")
    if file is not None:
        _merge(cfg, _read_file(file), "")
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"{item!r}: overrides look like section.key=value")
        section, _, name = key.partition(".")
        _merge(cfg, {section: {name: text}}, "")
    if cfg.model.input_kind == "features" and "model.hard_cut" not in named_options(file, overrides):
        cfg.model.hard_cut = 0.0  # a preset's hard cuts are for frames; asked for by name, validate refuses them
    validate(cfg)
    return cfg


def named_options(file: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The section.key options that a config file and overrides name (what the preset says left out)."""
    named = {item.partition("=")[0] for item in overrides}
    if file is not None:
        named |= {f"{section}.{key}" for section, fields in _read_file(file).items() if isinstance(fields, dict)
                  for key in fields}
    return named


def placement_options(cfg: Config, named: set[str]) -> dict[str, float | int]:
    """The model options of PLACEMENT_OPTIONS that ``named`` holds (named_options), with their values in
    ``cfg`` (of their own types: refine_min_event is a count): what a trained model may segment with in
    place of its checkpoint's; ConfigError for any other model option, which the checkpoint alone sets
    (the networks were trained with it)."""
    asked = sorted(key.partition(".")[2] for key in named if key.startswith("model."))
    _check_placement(asked)
    return {key: getattr(cfg.model, key) for key in asked}


def _check_placement(keys) -> None:
    if fixed := [key for key in keys if key not in PLACEMENT_OPTIONS]:
        raise ConfigError(f"model.{fixed[0]}: a trained model keeps its checkpoint's model options; at "
                          f"segmentation only {', '.join('model.' + k for k in PLACEMENT_OPTIONS)} may change")


def with_placement(model: ModelConfig, placement: dict[str, float | int]) -> tuple[ModelConfig, str]:
    """``model`` with the placement options of ``placement`` (placement_options), and a suffix for its
    version naming those that differ from it ("" when none does): results placed otherwise are results
    of another model version, so a nightly run does not take them for this one's."""
    _check_placement(placement)
    changed = {key: value for key, value in sorted(placement.items()) if getattr(model, key) != value}
    placed = dataclasses.replace(model, **changed)
    if changed:
        validate(Config(model=placed))  # types and ranges, as for any config
    return placed, "".join(f"+{key}={value:g}" for key, value in changed.items())
