"""StreamerModel: the learned modules of every level, sized `max_layers`, with a count of the
active levels, and self-describing checkpoints (the config travels with the weights)."""
from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any, BinaryIO

import torch
import torch.nn as nn

from streamer_core.config import ModelConfig
from streamer_core.layers import use_precision
from streamer_core.networks import (
    HierarchicalPredictor,
    TemporalEncoder,
    make_input_codec,
)
from streamer_core.precision import resolve

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or was made for another model config."""


class StreamerModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder, self.decoder = make_input_codec(cfg)
        self.temporal = nn.ModuleList(TemporalEncoder(cfg) for _ in range(cfg.max_layers))
        self.predictors = nn.ModuleList(HierarchicalPredictor(cfg) for _ in range(cfg.max_layers))
        self.register_buffer("active_levels", torch.tensor(cfg.init_layers))
        self.register_buffer("top_inputs", torch.tensor(0))  # inputs to the top level since it was stacked
        self.precision = ""
        self._settle_precision()

    def _apply(self, fn, recurse=True):  # every .to(), .cuda(), .float() ... passes here
        moved = super()._apply(fn, recurse)
        moved._settle_precision()
        return moved

    def compute_in(self, precision: str) -> None:
        """From now on compute in `precision` (model.precision's choices); the weights stay as they are."""
        self.cfg = dataclasses.replace(self.cfg, precision=precision)
        self._settle_precision()

    def _settle_precision(self) -> None:
        """The precision products run in on the model's device (model.precision, "auto" resolved)."""
        precision = resolve(self.cfg.precision, self.device)
        if precision != self.precision:
            use_precision(self, precision)
            self.precision = precision

    @property
    def device(self) -> torch.device:
        return self.active_levels.device

    @property
    def dtype(self) -> torch.dtype:
        return self.temporal[0].summary.dtype

    def level_modules(self) -> tuple[list[nn.Module], list[nn.Module]]:
        """Per level, the modules of f (temporal encoding; level 0 adds the input encoder) and of
        p (prediction; level 0 adds the input decoder): the units that get their own optimiser."""
        f = [nn.ModuleList([self.temporal[0], self.encoder])] + list(self.temporal[1:])
        p = [nn.ModuleList([self.predictors[0], self.decoder])] + list(self.predictors[1:])
        return f, p

    def count_top_input(self) -> None:
        """Stacks a new level every `evolve_every` inputs of the top level, up to `max_layers`."""
        self.top_inputs += 1
        if self.top_inputs >= self.cfg.evolve_every and self.active_levels < self.cfg.max_layers:
            self.active_levels += 1
            self.top_inputs.zero_()

    def save(self, target: str | Path | BinaryIO, extra: dict[str, Any] | None = None) -> None:
        payload = {"format": CHECKPOINT_FORMAT, "model_config": dataclasses.asdict(self.cfg),
                   "state": self.state_dict(), **(extra or {})}
        torch.save(payload, target)

    def to_bytes(self, extra: dict[str, Any] | None = None) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer, extra)
        return buffer.getvalue()

    @staticmethod
    def read_checkpoint(source: str | Path | BinaryIO | bytes) -> dict[str, Any]:
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        try:
            payload = torch.load(source, map_location="cpu", weights_only=False)
        except FileNotFoundError:
            raise CheckpointError(f"checkpoint not found: {source}") from None
        except Exception as exc:  # torch raises many types for a damaged file
            raise CheckpointError(f"cannot read checkpoint {source}: {exc}") from None
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{source} is not a STREAMER checkpoint (format {CHECKPOINT_FORMAT})")
        return payload

    @classmethod
    def from_checkpoint(cls, source: str | Path | BinaryIO | bytes) -> StreamerModel:
        """Rebuilds the exact model a checkpoint was saved from."""
        payload = cls.read_checkpoint(source)
        values = dict(payload["model_config"])
        values["encoder_channels"] = tuple(values["encoder_channels"])
        model = cls(ModelConfig(**values))
        model.load_state_dict(payload["state"])
        return model

    def load_weights(self, source: str | Path | BinaryIO | bytes) -> dict[str, Any]:
        """Loads weights into this model; a checkpoint of another config is refused by field."""
        payload = self.read_checkpoint(source)
        theirs = payload["model_config"]
        for key, value in dataclasses.asdict(self.cfg).items():
            if key != "precision" and theirs.get(key) != value:  # the weights are the same either way
                raise CheckpointError(f"checkpoint has model.{key}={theirs.get(key)!r}, this model has {value!r}")
        self.load_state_dict(payload["state"])
        return payload
