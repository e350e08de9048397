"""What this CPU's instruction set offers the int8 and bf16 kernels (Linux's /proc/cpuinfo).

Elsewhere, or when the file cannot be read, every answer is "no": the safe side (the
int8 paths then keep their integer sums from saturating; bf16 is only emulated).
"""
from __future__ import annotations

import functools


@functools.cache
def flags() -> frozenset[str]:
    """The CPU's feature flags ("avx2", "avx512_vnni", ...); empty where unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[-1].split())
    except OSError:
        pass
    return frozenset()


def has_vnni() -> bool:
    """AVX-512 VNNI: int8 products summed in int32 by fbgemm and ONNX Runtime alike.
    Without it (AVX2 only) both sum pairs of u8 x s8 products in int16, which saturates."""
    return "avx512_vnni" in flags()


def has_bf16() -> bool:
    """AVX-512 BF16: bf16 products in hardware (elsewhere PyTorch emulates them)."""
    return "avx512_bf16" in flags() or "amx_bf16" in flags()
