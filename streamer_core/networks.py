"""The learned parts of one STREAMER level: input encoder/decoder, temporal encoding f,
hierarchical prediction p. Shapes use B = streams advanced together, S = working-set length,
L = levels with a representation, D = embed_dim."""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from streamer_core.config import ConfigError, ModelConfig
from streamer_core.layers import Conv, Deferred, DeferredLinear


class _SelfAttention(Deferred):
    """nn.MultiheadAttention's computation (same parameters, names and initialisation) for
    batch-first self-attention, with deferred weight gradients."""

    prefix = "in_proj_"

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * dim))
        self.out_proj = DeferredLinear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """x [B, T, D]; keep [B, 1, 1, T] True where a key takes part (None: all)."""
        b, t, d = x.shape
        q, k, v = self.linear(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)  # [B, H, T, D/H]
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))


class _EncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer as configured by STREAMER (post-norm, ReLU, feed-forward 2D,
    no dropout), same parameters, names and initialisation, with deferred weight gradients."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.self_attn = _SelfAttention(dim, heads)
        self.linear1 = DeferredLinear(dim, 2 * dim)
        self.linear2 = DeferredLinear(2 * dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        x = self.norm1(x + self.self_attn(x, keep))
        return self.norm2(x + self.linear2(F.relu(self.linear1(x))))


class Transformer(nn.Module):
    """nn.TransformerEncoder(layer, layers, norm=LayerNorm without affine): its layers start as
    copies of one layer, as there."""

    def __init__(self, dim: int, heads: int, layers: int):
        super().__init__()
        layer = _EncoderLayer(dim, heads)
        self.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(layers))
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)

    def forward(self, x: torch.Tensor, src_key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, T, D]; src_key_padding_mask [B, T] True where a position is padding."""
        pad = src_key_padding_mask
        keep = None if pad is None else ~pad[:, None, None, :]  # [B, 1, 1, T]
        for layer in self.layers:
            x = layer(x, keep)
        return self.norm(x)


class FrameEncoder(nn.Module):
    """CNN from a [B, 3, H, W] frame in [-1, 1] to a [B, D] vector (paper: 3->32->64->256->1024
    channels, each conv 3x3 + ReLU + 2x2 max-pool, then a linear layer)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        channels = (3, *cfg.encoder_channels)
        self.convs = nn.ModuleList(Conv(a, b, 3, padding=1) for a, b in zip(channels, channels[1:]))
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
        self.convs = nn.ModuleList(Conv(a, b, 3, padding=1) for a, b in zip(channels, channels[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(-1, self.first, self.side, self.side)  # [B, C, h, w]
        if self.convs[0].low_precision is not None:  # cast before upsampling: a quarter of the bytes
            x = x.to(self.convs[0].low_precision)
        x = x if torch.is_grad_enabled() else x.contiguous(memory_format=torch.channels_last)
        for i, conv in enumerate(self.convs):
            x = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
            if i < len(self.convs) - 1:
                x = F.relu(x)
        return x.to(z.dtype)  # [B, 3, H, W]


def make_input_codec(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """Layer 0's encoder and decoder: CNNs for frames, linear maps for feature vectors."""
    if cfg.input_kind == "frames":
        return FrameEncoder(cfg), FrameDecoder(cfg)
    if cfg.feature_dim < 1:
        raise ConfigError("model.feature_dim: a model of feature streams needs their row width (the training "
                          "job reads it from the corpus)")
    return nn.Linear(cfg.feature_dim, cfg.embed_dim), nn.Linear(cfg.embed_dim, cfg.feature_dim)


class TemporalEncoder(nn.Module):
    """f: a working set of inputs -> the level's representation z, read at a learned summary token."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.positions = nn.Parameter(torch.randn(cfg.buffer_size, cfg.embed_dim) * 0.02)
        self.summary = nn.Parameter(torch.randn(cfg.embed_dim) * 0.02)
        self.encoder = Transformer(cfg.embed_dim, cfg.temporal_heads, cfg.temporal_layers)
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
        self.encoder = Transformer(cfg.embed_dim, cfg.predictor_heads, cfg.predictor_layers)

    def forward(self, reps: torch.Tensor, levels: torch.Tensor, own: torch.Tensor,
                pad: torch.Tensor | None = None) -> torch.Tensor:
        """reps [B, L, D]; levels [B, L] level ids; own [B] index into L of this level."""
        x = reps + self.level_embedding[levels]
        out = self.encoder(x, src_key_padding_mask=pad)  # [B, L, D]
        return out[torch.arange(out.shape[0], device=out.device), own]  # [B, D]
