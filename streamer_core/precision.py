"""model.precision=auto: bfloat16 products where the hardware does them natively, float32 elsewhere.

Why not always bfloat16: at batch one the big products are bound by reading the weights, so
bfloat16 about doubles speed on a CPU with AVX512-BF16 or AMX, but a CPU without them emulates
it and runs about 3x slower than float32. So the choice is read from the hardware, never
assumed: the CPU's flags (Linux /proc/cpuinfo; elsewhere unknown, so float32), or for a CUDA
device torch's report of native bfloat16 support.

Also here: the products oneDNN's AMX matmul cannot plan (`amx_l2_budgets`), which the layers keep
bfloat16 away from.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch

NATIVE_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
CPU_CACHES = "/sys/devices/system/cpu/cpu0/cache"


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


def _size_bytes(text: str) -> int:
    """A sysfs cache size ("2048K", "2M") in bytes."""
    text = text.strip()
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text.rstrip("KkMmGg")) * scale


def _cpu_count(cpu_list: str) -> int:
    """How many CPUs a sysfs list ("0", "0-1,56-57") names."""
    count = 0
    for part in cpu_list.strip().split(","):
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1 if first else 0
    return count


@functools.cache
def amx_l2_budgets(caches: str = CPU_CACHES, cpuinfo: str = "/proc/cpuinfo") -> frozenset[int]:
    """The products (rows x in elements) that oneDNN's AMX matmul divides by zero planning.

    oneDNN 3.12 (in torch 2.13) plans a bfloat16 product of at most 32 rows with a weight it must
    repack (F.linear's [out, in]) by div_up(2 * 32 * in, budget - rows * in), budget being 3/4 of
    the L2 per core in bytes; where rows * in equals it, the division by zero kills the process
    with SIGFPE while the kernel is being set up (the frame encoder's 65536-wide projection at 24
    rows on a 2 MiB L2; the decoder's input gradient is the same product). Any thread count, any
    values, contiguous or not. oneDNN divides the L2 among the threads it counts sharing it, so
    the budgets of the whole L2 and of its share per SMT thread are returned (of oneDNN's 512 KiB
    guess where sysfs says nothing). Empty on a CPU without AMX, where oneDNN never plans so."""
    if "amx_bf16" not in cpu_flags(cpuinfo):
        return frozenset()
    size, sharing = 512 << 10, 1
    try:
        for index in sorted(Path(caches).glob("index*")):
            if (index / "level").read_text().strip() == "2" and (index / "type").read_text().strip() != "Instruction":
                size = _size_bytes((index / "size").read_text())
                sharing = max(_cpu_count((index / "shared_cpu_list").read_text()), 1)
                break
    except (OSError, ValueError):
        pass
    return frozenset(3 * size // (4 * share) for share in {1, 2, sharing})
