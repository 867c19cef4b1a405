"""Turning decoded samples into model input, with clear errors for what the model cannot use."""
from __future__ import annotations

import numpy as np
import torch

from streamer_core.config import ModelConfig


class InputError(ValueError):
    """A sample batch has the wrong shape, type or values for this model."""


def to_model_input(samples: np.ndarray | torch.Tensor, cfg: ModelConfig, device: torch.device | None = None,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 [N, H, W, 3] frames become float [N, 3, H, W] in [-1, 1]; float frames must already be
    [N, 3, H, W] in [-1, 1]; feature streams are float [N, F]."""
    if isinstance(samples, np.ndarray) and not samples.flags.writeable:
        samples = samples.copy()  # rows read from Arrow are read-only, which torch warns of once per process
    x = torch.as_tensor(samples)
    if cfg.input_kind == "frames":
        size = cfg.image_size
        if x.dtype == torch.uint8:
            if x.dim() != 4 or tuple(x.shape[1:]) != (size, size, 3):
                raise InputError(f"uint8 frames must be [N, {size}, {size}, 3], got {list(x.shape)}")
            x = x.permute(0, 3, 1, 2).to(dtype) / 127.5 - 1.0
        elif x.dim() != 4 or tuple(x.shape[1:]) != (3, size, size):
            raise InputError(f"float frames must be [N, 3, {size}, {size}], got {list(x.shape)}")
    elif x.dim() != 2 or x.shape[1] != cfg.feature_dim:
        raise InputError(f"feature samples must be [N, {cfg.feature_dim}], got {list(x.shape)}")
    if not x.is_floating_point():
        raise InputError(f"samples must be floating point (or uint8 frames), got {x.dtype}")
    x = x.to(device=device, dtype=dtype)
    if not torch.isfinite(x).all():
        raise InputError("samples contain NaN or infinite values")
    if cfg.input_kind == "frames" and x.numel() and x.abs().max() > 1.0 + 1e-4:
        raise InputError(f"frames must lie in [-1, 1], got values up to {x.abs().max().item():.3g}")
    return x
