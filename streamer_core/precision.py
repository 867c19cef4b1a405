"""model.precision=auto: bfloat16 products where the hardware does them natively, float32 elsewhere.

Why not always bfloat16: at batch one the big products are bound by reading the weights, so
bfloat16 about doubles speed on a CPU with AVX512-BF16 or AMX, but a CPU without them emulates
it and runs about 3x slower than float32. So the choice is read from the hardware, never
assumed: the CPU's flags (Linux /proc/cpuinfo; elsewhere unknown, so float32), or for a CUDA
device torch's report of native bfloat16 support.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch

NATIVE_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags; empty where the file is missing or unreadable."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def native_bfloat16(device: torch.device | str) -> bool:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return any(flag in cpu_flags() for flag in NATIVE_CPU_FLAGS)
    return False


def resolve(precision: str, device: torch.device | str) -> str:
    """The precision a model computes in on `device`: "auto" becomes "bfloat16" or "float32"."""
    if precision != "auto":
        return precision
    return "bfloat16" if native_bfloat16(device) else "float32"
