"""What the streamer asks of whoever watches with it: the points where learning attaches.

The streamer (streamer_core.streaming) calls these hooks and knows nothing else of learning;
`Watching` is the inference side (no graphs, nothing kept), `streamer_core.learning.Learner` the
learning side. Items are whatever `encode` returns: level 0's working-set entries."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from streamer_core.model import StreamerModel


class Hooks(Protocol):
    grad: bool  # whether the streamer builds autograd graphs
    window: int  # samples `encode` takes at once while a stream is learned

    def encode(self, x: torch.Tensor) -> list[Any]:
        """Level 0's items for a batch of model inputs x [B, ...]."""

    def embed(self, items: list[Any]) -> torch.Tensor:
        """[S, D] encoder outputs of level 0's items."""

    def scale(self, z: torch.Tensor, level: int, other: int, active: int) -> torch.Tensor:
        """Level `other`'s representation as `level`'s predictor sees it (HGN reweights its gradient)."""

    def record(self, level: int, loss: torch.Tensor, timescales: list[int], active: int) -> None:
        """The prediction losses [B] of a level's new inputs, each with its timescale."""

    def top_inputs(self, count: int) -> None:
        """`count` inputs reached the top active level (the model stacks a level after enough)."""

    def release(self, items: list[Any]) -> None:
        """Items that left a working set."""

    def end_sample(self, live: Callable[[], list[Any]], level0: list[list[Any]]) -> bool:
        """A sample was fed to every stream. `live()`: the items a representation or prediction
        still reaches (listed on demand: inference never needs them); `level0`: each stream's level-0
        working set, to be encoded again in place if the weights change. Returns whether they changed
        (the streamer then forgets what it computed)."""

    def end_stream(self, items: list[Any]) -> None:
        """A stream ended; `items` were left in its working sets."""


class Watching:
    """Inference: no graphs, no losses kept, nothing to release."""

    grad, window = False, 1

    def __init__(self, model: StreamerModel):
        self.model = model

    def encode(self, x: torch.Tensor) -> list[Any]:
        return list(self.model.encoder(x))

    def embed(self, items: list[Any]) -> torch.Tensor:
        return torch.stack(items)

    def scale(self, z: torch.Tensor, level: int, other: int, active: int) -> torch.Tensor:
        return z

    def record(self, level: int, loss: torch.Tensor, timescales: list[int], active: int) -> None:
        pass

    def top_inputs(self, count: int) -> None:
        pass

    def release(self, items: list[Any]) -> None:
        pass

    def end_sample(self, live: Callable[[], list[Any]], level0: list[list[Any]]) -> bool:
        return False

    def end_stream(self, items: list[Any]) -> None:
        pass
