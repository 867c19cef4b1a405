"""Prediction losses. Each returns (loss [B] to minimise, score [B] for demarcation):
cosine -> score is the similarity (for frames: cosine over channels at each pixel, averaged);
mse -> score is the mean squared error."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def prediction_loss(kind: str, prediction: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """prediction, target: [B, D] vectors or [B, C, H, W] frames."""
    if kind == "cosine":
        similarity = F.cosine_similarity(prediction, target, dim=1, eps=1e-8)
        similarity = similarity.flatten(1).mean(1) if similarity.dim() > 1 else similarity  # [B]
        return -similarity, similarity.detach()
    error = (prediction - target).pow(2).flatten(1).mean(1)  # [B]
    return error, error.detach()
