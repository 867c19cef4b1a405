"""The learned parts of one STREAMER level: input encoder/decoder, temporal encoding f,
hierarchical prediction p. Shapes use B = streams advanced together, S = working-set length,
L = levels with a representation, D = embed_dim."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from streamer_core.config import ModelConfig


class _StashedWeightGrad(torch.autograd.Function):
    """Linear whose weight gradient is not formed per backward call: the (input, output-gradient)
    rows are stashed and turned into one matrix product by `DeferredLinear.settle`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, owner: "DeferredLinear"):
        ctx.save_for_backward(x, weight)
        ctx.owner = owner
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        ctx.owner.stash(x.reshape(-1, x.shape[-1]), grad.reshape(-1, grad.shape[-1]))
        return grad @ weight, None, grad.reshape(-1, grad.shape[-1]).sum(0), None


class DeferredLinear(nn.Linear):
    """nn.Linear for the very wide projections. A per-sample backward of a 65536x1024 weight
    writes a fresh 256 MB gradient (page faults dominate: ~300 ms on 2 cores); stashing the
    rank-1 factors and settling them in one product before an optimiser step gives the same
    gradient for ~1 ms a sample. Memory stays bounded: the stash settles every `max_rows`."""

    max_rows = 256

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features)
        self._inputs: list[torch.Tensor] = []
        self._grads: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (torch.is_grad_enabled() and self.weight.requires_grad):
            return F.linear(x, self.weight, self.bias)
        return _StashedWeightGrad.apply(x, self.weight, self.bias, self)

    def stash(self, x: torch.Tensor, grad: torch.Tensor) -> None:
        self._inputs.append(x.detach())
        self._grads.append(grad.detach())
        if sum(len(g) for g in self._grads) >= self.max_rows:
            self.settle()

    def settle(self) -> None:
        """Adds the stashed rows to weight.grad."""
        if not self._grads:
            return
        update = torch.cat(self._grads).T @ torch.cat(self._inputs)  # [out, in]
        self.weight.grad = update if self.weight.grad is None else self.weight.grad.add_(update)
        self._inputs, self._grads = [], []


def settle_deferred(module: nn.Module) -> None:
    """Settles every DeferredLinear below `module` (before reading or applying gradients)."""
    for m in module.modules():
        if isinstance(m, DeferredLinear):
            m.settle()


def _transformer(dim: int, heads: int, layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        dim, heads, dim_feedforward=2 * dim, dropout=0.0, activation="relu", batch_first=True
    )
    final_norm = nn.LayerNorm(dim, elementwise_affine=False)
    return nn.TransformerEncoder(layer, layers, norm=final_norm, enable_nested_tensor=False)


class FrameEncoder(nn.Module):
    """CNN from a [B, 3, H, W] frame in [-1, 1] to a [B, D] vector (paper: 3->32->64->256->1024
    channels, each conv 3x3 + ReLU + 2x2 max-pool, then a linear layer)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        channels = (3, *cfg.encoder_channels)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(channels, channels[1:]))
        side = cfg.image_size // 2 ** len(cfg.encoder_channels)
        self.project = DeferredLinear(channels[-1] * side * side, cfg.embed_dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        # NHWC speeds up inference convs on CPU but slows their batch-1 backward, hence only without grad
        x = frames if torch.is_grad_enabled() else frames.contiguous(memory_format=torch.channels_last)  # [B, 3, H, W]
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        return self.project(x.flatten(1))  # [B, D]


class FrameDecoder(nn.Module):
    """Mirror of FrameEncoder: linear to [C, H/16, W/16], then 2x nearest upsampling + conv 3x3
    per stage (paper: 1024->256->64->32->3), ReLU between stages; output [B, 3, H, W]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        channels = (*reversed(cfg.encoder_channels), 3)
        self.side = cfg.image_size // 2 ** len(cfg.encoder_channels)
        self.first = channels[0]
        self.project = DeferredLinear(cfg.embed_dim, channels[0] * self.side * self.side)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(channels, channels[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(-1, self.first, self.side, self.side)  # [B, C, h, w]
        x = x if torch.is_grad_enabled() else x.contiguous(memory_format=torch.channels_last)
        for i, conv in enumerate(self.convs):
            x = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
            if i < len(self.convs) - 1:
                x = F.relu(x)
        return x  # [B, 3, H, W]


def make_input_codec(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """Layer 0's encoder and decoder: CNNs for frames, linear maps for feature vectors."""
    if cfg.input_kind == "frames":
        return FrameEncoder(cfg), FrameDecoder(cfg)
    return nn.Linear(cfg.feature_dim, cfg.embed_dim), nn.Linear(cfg.embed_dim, cfg.feature_dim)


class TemporalEncoder(nn.Module):
    """f: a working set of inputs -> the level's representation z, read at a learned summary token."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.positions = nn.Parameter(torch.randn(cfg.buffer_size, cfg.embed_dim) * 0.02)
        self.summary = nn.Parameter(torch.randn(cfg.embed_dim) * 0.02)
        self.encoder = _transformer(cfg.embed_dim, cfg.temporal_heads, cfg.temporal_layers)
        self.normalize = cfg.loss == "cosine"

    def forward(self, inputs: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        """inputs [B, S, D]; pad [B, S] True where a slot is padding (batched streams)."""
        b, s, _ = inputs.shape
        x = inputs + self.positions[:s]
        x = torch.cat([self.summary.expand(b, 1, -1), x], dim=1)  # [B, 1+S, D]
        if pad is not None:
            pad = torch.cat([pad.new_zeros(b, 1), pad], dim=1)
        z = self.encoder(x, src_key_padding_mask=pad)[:, 0]  # [B, D]
        return F.normalize(z, dim=-1) if self.normalize else z


class HierarchicalPredictor(nn.Module):
    """p: representations of all levels that have one (plus a per-level embedding) -> this
    level's prediction of its next input, read at the level's own position."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.level_embedding = nn.Parameter(torch.randn(cfg.max_layers, cfg.embed_dim) * 0.02)
        self.encoder = _transformer(cfg.embed_dim, cfg.predictor_heads, cfg.predictor_layers)

    def forward(self, reps: torch.Tensor, levels: torch.Tensor, own: torch.Tensor,
                pad: torch.Tensor | None = None) -> torch.Tensor:
        """reps [B, L, D]; levels [B, L] level ids; own [B] index into L of this level."""
        x = reps + self.level_embedding[levels]
        out = self.encoder(x, src_key_padding_mask=pad)  # [B, L, D]
        return out[torch.arange(out.shape[0], device=out.device), own]  # [B, D]
