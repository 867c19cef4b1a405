"""Learning while watching: hierarchical gradient normalisation (HGN), per-module Adam, and the
fast path that encodes each frame once per parameter version.

HGN: a loss of level l reaches p_l and, through the representations fed to p_l, the f of every
level j with weight alpha^-|l-j| (group weights normalised to sum to 1). Each loss is multiplied
by its timescale (samples since that level's previous input); at a step every module's gradient
is divided by the timescale it accumulated. The optimisers step once the top level has produced
`optimize_every` losses.

Fast path: each frame is encoded once per parameter version, without a graph, into a leaf on
which the per-sample losses accumulate gradient; when the frame can no longer be reached (it left
every working set, or a step is due) the encoder runs again with a graph over a batch of such
frames and takes their gradient in one backward. Same gradients as re-encoding the working set at
every sample (the plain path), a fraction of the work. Frames are encoded `encode_batch` at a time
ahead of use and pushed back in batches at least as large: at batch one the encoder's convolutions
and its 65536x1024 projection run at half their batched speed per frame. Frames encoded ahead but
not used before a step are encoded again with the new parameters.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from streamer_core.config import LearnConfig
from streamer_core.layers import settle_deferred
from streamer_core.model import StreamerModel


@dataclass
class EncodedFrame:
    frame: torch.Tensor  # [3, H, W] or [F]
    leaf: torch.Tensor  # [D] encoder output (no graph) on which losses accumulate gradient


class _ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * ctx.weight, None


def reach_weights(level: int, active: int, alpha: float) -> list[float]:
    """HGN weight of each level's f for a loss of `level`: groups {l}, {l-1, l+1}, ... weighted
    alpha^-i and normalised over the groups that exist."""
    groups = max(level, active - 1 - level) + 1
    total = sum(alpha ** -i for i in range(groups))
    return [alpha ** -abs(level - j) / total for j in range(active)]


class Learner:
    """The learning side of the streamer's hooks (streamer_core.hooks): `Streamer(model, learner)`
    learns while it watches; `Streamer.learn` feeds it one video in order."""

    grad = True

    def __init__(self, model: StreamerModel, cfg: LearnConfig):
        self.model, self.cfg = model, cfg
        f_modules, p_modules = model.level_modules()
        # fused: one pass over each parameter instead of one per Adam term (~8x faster on CPU)
        self.f_optimizers = [torch.optim.Adam(m.parameters(), lr=cfg.lr, fused=True) for m in f_modules]
        self.p_optimizers = [torch.optim.Adam(m.parameters(), lr=cfg.lr, fused=True) for m in p_modules]
        n = model.cfg.max_layers
        self.f_weight, self.p_weight, self.losses = [0.0] * n, [0.0] * n, [0] * n
        self.pending: list[torch.Tensor] = []
        self.departed: list[EncodedFrame] = []  # left a working set; a live prediction may still reach them
        self.owed: list[EncodedFrame] = []  # no longer reachable; their gradient waits for a full batch
        self.steps = 0
        self.loss_sum, self.loss_count = [0.0] * n, [0] * n

    # ---- the streamer's hooks ----------------------------------------------------------------
    @property
    def window(self) -> int:
        return self.cfg.encode_batch

    def encode(self, x: torch.Tensor) -> list[Any]:
        if not self.cfg.fast_path:
            return list(x)
        with torch.no_grad():
            encoded = self.model.encoder(x)  # [B, D]
        return [EncodedFrame(f, e.requires_grad_()) for f, e in zip(x, encoded)]

    def embed(self, items: list[Any]) -> torch.Tensor:
        if not self.cfg.fast_path:
            return self.model.encoder(torch.stack(items))  # plain path: the whole set, every time
        return torch.stack([item.leaf for item in items])

    def release(self, items: list[Any]) -> None:
        """Frames leaving a working set; their gradient is pushed through the encoder once the
        current sample's losses (which may still reach them) have been backpropagated."""
        self.departed.extend(i for i in items if isinstance(i, EncodedFrame))

    def _push_to_encoder(self, items: list[Any]) -> None:
        held = [i for i in items if isinstance(i, EncodedFrame) and i.leaf.grad is not None]
        if held:
            encoded = self.model.encoder(torch.stack([i.frame for i in held]))  # [N, D], with a graph
            encoded.backward(torch.stack([i.leaf.grad for i in held]))
            for item in held:
                item.leaf.grad = None

    def scale(self, z: torch.Tensor, level: int, other: int, active: int) -> torch.Tensor:
        weight = reach_weights(level, active, self.cfg.alpha)[other]
        return z if weight == 1.0 else _ScaleGrad.apply(z, weight)

    def top_inputs(self, count: int) -> None:
        for _ in range(count):
            self.model.count_top_input()

    def record(self, level: int, loss: torch.Tensor, timescales: list[int], active: int) -> None:
        scales = [float(t) if self.cfg.hgn_timescale else 1.0 for t in timescales]
        self.pending.append((loss * torch.tensor(scales, dtype=loss.dtype, device=loss.device)).sum())
        self.p_weight[level] += sum(scales)
        for j in range(active):
            self.f_weight[j] += sum(scales)
        self.losses[level] += len(scales)
        self.loss_sum[level] += float(loss.detach().sum())
        self.loss_count[level] += len(scales)

    def flush(self, live: list[Any], everything: bool = False) -> None:
        """Backpropagates this sample's losses; departed frames that no live representation or
        prediction can reach any more (a level's prediction may hold a frame for as long as that
        level waits for its next input) owe their gradient to the encoder, paid a batch at a time
        (`everything`: all of it now, at the end of a video)."""
        if self.pending:
            torch.stack(self.pending).sum().backward(retain_graph=True)
            self.pending = []
        live_ids = {id(item) for item in live}
        self.owed += [item for item in self.departed if id(item) not in live_ids]
        self.departed = [item for item in self.departed if id(item) in live_ids]
        if everything or len(self.owed) >= self.cfg.encode_batch:
            self._push_to_encoder(self.owed)
            self.owed = []

    def end_sample(self, live: Callable[[], list[Any]], level0: list[list[Any]]) -> bool:
        self.flush(live())
        top = int(self.model.active_levels) - 1
        if self.losses[top] < self.cfg.optimize_every:
            return False
        self.step(level0)
        return True

    def end_stream(self, items: list[Any]) -> None:
        self.release(items)
        self.flush([], everything=True)

    # ---- the optimiser step -----------------------------------------------------------------
    def step(self, level0: list[list[Any]]) -> None:
        """Normalises and applies the accumulated gradients; level 0's working sets are then
        encoded again, once."""
        self._push_to_encoder(self.owed + self.departed + [i for items in level0 for i in items])
        self.departed, self.owed = [], []
        settle_deferred(self.model)
        groups = [(self.f_optimizers, self.f_weight), (self.p_optimizers, self.p_weight)]
        for optimizers, weights in groups:
            for optimizer, weight in zip(optimizers, weights):
                for group in optimizer.param_groups:
                    for p in group["params"]:
                        if p.grad is not None and weight > 0:
                            p.grad /= weight
                optimizer.step()
                # fused Adam writes in place without telling autograd; the version tells the
                # low-precision weight copies (streamer_core.layers) that the weights moved
                torch.autograd.graph.increment_version([p for g in optimizer.param_groups for p in g["params"]])
                optimizer.zero_grad(set_to_none=True)
        n = self.model.cfg.max_layers
        self.f_weight, self.p_weight, self.losses = [0.0] * n, [0.0] * n, [0] * n
        self.steps += 1
        self.reencode(level0)

    def reencode(self, level0: list[list[Any]]) -> None:
        """Encodes level 0's working sets again, in place, after the weights changed (a step, an average)."""
        for items in level0:
            if self.cfg.fast_path and items:
                items[:] = self.encode(torch.stack([i.frame for i in items]))

    # ---- persistence ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        settle_deferred(self.model)
        return {"f": [o.state_dict() for o in self.f_optimizers], "p": [o.state_dict() for o in self.p_optimizers],
                "f_weight": self.f_weight, "p_weight": self.p_weight, "losses": self.losses, "steps": self.steps,
                "grads": {k: p.grad.clone() for k, p in self.model.named_parameters() if p.grad is not None}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for optimizer, s in zip(self.f_optimizers + self.p_optimizers, state["f"] + state["p"]):
            optimizer.load_state_dict(s)
        self.f_weight, self.p_weight = list(state["f_weight"]), list(state["p_weight"])
        self.losses, self.steps = list(state["losses"]), state["steps"]
        for name, p in self.model.named_parameters():
            p.grad = state["grads"].get(name)
