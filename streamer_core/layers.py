"""Layers with the fast paths of training and inference on CPU: deferred weight gradients
(Deferred, DeferredLinear) and mixed precision (LowPrecision, Conv, use_precision). Each keeps the
parameters, names and initialisation of the torch layer it stands for, so checkpoints match."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from streamer_core.precision import amx_l2_budgets

SMALL_M = 32  # oneDNN's AMX matmul plans products of at most this many rows apart (amx_l2_budgets)


def low_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """F.linear(x, weight) of low-precision operands. A product that oneDNN's AMX matmul would
    divide by zero planning (rows x in in precision.amx_l2_budgets: 24 x 65536 on a 2 MiB L2, a
    SIGFPE that kills the process) gets zero rows up to SMALL_M + 1, out of that plan. Reading the
    weight dominates, so the extra rows cost little (here 24 rows padded: 41 ms; 23 rows: 71 ms,
    25: 33 ms). Every other product, and any off the CPU, is F.linear's as before."""
    width = x.shape[-1]
    rows = x.numel() // max(width, 1)
    if x.device.type != "cpu" or rows > SMALL_M or rows * width not in amx_l2_budgets():
        return F.linear(x, weight)
    padded = torch.cat([x.reshape(rows, width), x.new_zeros(SMALL_M + 1 - rows, width)])
    return F.linear(padded, weight)[:rows].reshape(*x.shape[:-1], weight.shape[0])


class LowPrecision:
    """Mixin of layers that can compute in a lower precision than their weights (model.precision
    = bfloat16). The low-precision copy of a weight is made again, in the same memory, whenever
    the weight changes in place (an optimiser step, a load: both bump its version counter); a
    fresh 128 MB block per step would page-fault. At batch one the big products are bound by
    reading the weight, so half the bytes is about half the time."""

    low_precision: torch.dtype | None = None

    def low_copy(self, weight: torch.Tensor, transposed: bool = False) -> torch.Tensor:
        """`weight` in `low_precision` (or its transpose, contiguous), cached per version."""
        copies = self.__dict__.setdefault("_low_copies", {})
        source, version, low = copies.get(transposed, (None, -1, None))
        if source is not weight or version != weight._version:
            # transposing from the low copy: half the bytes of a strided read of the weight
            view = self.low_copy(weight).T if transposed else weight.detach()
            if low is None or low.shape != view.shape or low.device != view.device:
                low = torch.empty(view.shape, dtype=self.low_precision, device=view.device)
            low.copy_(view)
            copies[transposed] = (weight, weight._version, low)
        return low


class _StashedWeightGrad(torch.autograd.Function):
    """Linear whose weight gradient is not formed per backward call: the (input, output-gradient)
    rows are stashed on the owning module and turned into one matrix product by `settle`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, owner: Deferred):
        ctx.save_for_backward(x, weight)  # saved: autograd refuses a backward after an in-place change
        ctx.owner = owner
        return owner.product(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        owner = ctx.owner
        rows = grad.reshape(-1, grad.shape[-1])
        owner.stash(x.reshape(-1, x.shape[-1]), rows)
        if owner.low_precision is None:
            grad_x = grad @ weight
        else:  # the transposed copy: a contiguous [in, out] operand is oneDNN's fast layout here
            grad_x = low_linear(grad.to(owner.low_precision), owner.low_copy(weight, transposed=True))
        return grad_x.to(x.dtype), None, rows.sum(0), None


class Deferred(LowPrecision, nn.Module):
    """Base of modules with one linear map (`{prefix}weight`, `{prefix}bias`) whose weight
    gradient is deferred. A per-sample backward writes a fresh gradient as large as the weight
    and adds it to .grad, which is memory bound (~300 ms for a 65536x1024 projection, ~30 ms for
    the transformers of one level, on 2 cores); stashing the few (input, output-gradient) rows
    and settling them in one product before an optimiser step gives the same gradient. Memory
    stays bounded: the stash settles every `max_rows` rows. In low precision the products read
    the weight's copy; output, bias, stash and .grad stay in the weight's dtype."""

    max_rows = 256
    prefix = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._inputs: list[torch.Tensor] = []
        self._grads: list[torch.Tensor] = []
        self._grad_buffer: torch.Tensor | None = None

    def _weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, self.prefix + "weight"), getattr(self, self.prefix + "bias")

    def product(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        if self.low_precision is None:
            return F.linear(x, weight, bias)
        return low_linear(x.to(self.low_precision), self.low_copy(weight)).to(weight.dtype) + bias

    def linear(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self._weights()
        if not (torch.is_grad_enabled() and weight.requires_grad):
            return self.product(x, weight, bias)
        return _StashedWeightGrad.apply(x, weight, bias, self)

    def stash(self, x: torch.Tensor, grad: torch.Tensor) -> None:
        dtype = self._weights()[0].dtype
        self._inputs.append(x.detach().to(dtype))
        self._grads.append(grad.detach().to(dtype))
        if sum(len(g) for g in self._grads) >= self.max_rows:
            self.settle()

    def settle(self) -> None:
        """Adds the stashed rows to the weight's .grad. A step's first settle writes into a buffer
        the module keeps (the optimiser drops .grad after each step; a fresh block page-faults)."""
        if not self._grads:
            return
        weight = self._weights()[0]
        grads, inputs = torch.cat(self._grads).T, torch.cat(self._inputs)  # [out, rows], [rows, in]
        if weight.grad is not None:
            weight.grad.addmm_(grads, inputs)
        else:
            buffer = self._grad_buffer
            wanted = (weight.shape, weight.dtype, weight.device)
            if buffer is None or (buffer.shape, buffer.dtype, buffer.device) != wanted:
                self._grad_buffer = buffer = torch.empty_like(weight)
            weight.grad = torch.mm(grads, inputs, out=buffer)
        self._inputs, self._grads = [], []


class DeferredLinear(nn.Linear, Deferred):
    """nn.Linear with a deferred weight gradient (see Deferred)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class _LowPrecisionConv(torch.autograd.Function):
    """A convolution over the cached low-precision copy of its weight; the gradients of weight
    and bias are returned in their own dtype."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, conv: Conv):
        low = x.to(conv.low_precision)
        ctx.save_for_backward(low, weight)
        ctx.conv, ctx.input_dtype = conv, x.dtype
        return F.conv2d(low, conv.low_copy(weight), bias.to(conv.low_precision), conv.stride, conv.padding)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        low, weight = ctx.saved_tensors
        c = ctx.conv
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad, low, c.low_copy(weight), [c.out_channels], c.stride, c.padding, c.dilation, False, [0, 0],
            c.groups, [ctx.needs_input_grad[0], True, True])
        grad_x = None if grad_x is None else grad_x.to(ctx.input_dtype)
        return grad_x, grad_w.to(weight.dtype), grad_b.to(weight.dtype), None


class Conv(LowPrecision, nn.Conv2d):
    """nn.Conv2d (same parameters) that computes in `low_precision` when set; its output stays in
    that dtype for the next layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.low_precision is None:
            return super().forward(x)
        return _LowPrecisionConv.apply(x, self.weight, self.bias, self)  # no graph without grad


def use_precision(module: nn.Module, precision: str) -> None:
    """model.precision: "bfloat16" runs every linear map and convolution below `module` in
    bfloat16 over float32 weights; "float32" runs everything in the weights' dtype."""
    low = torch.bfloat16 if precision == "bfloat16" else None
    for m in module.modules():
        if isinstance(m, LowPrecision):
            m.low_precision = low


def settle_deferred(module: nn.Module) -> None:
    """Settles every Deferred module below `module` (before reading or applying gradients)."""
    for m in module.modules():
        if isinstance(m, Deferred):
            m.settle()
