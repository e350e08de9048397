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


def has_amx() -> bool:
    """AMX tiles for bf16 (Intel Xeon since Sapphire Rapids)."""
    return "amx_bf16" in flags()


def kind() -> str:
    """What the sampling kernels care about, from the most capable down: "amx", "avx512-bf16"
    (bf16 products, no AMX: AMD EPYC since Zen 4), "avx512-vnni" (int8 sums in int32, no
    bf16), or "avx2" (anything else, including CPUs whose flags cannot be read)."""
    if has_amx():
        return "amx"
    if "avx512_bf16" in flags():
        return "avx512-bf16"
    return "avx512-vnni" if has_vnni() else "avx2"


def int8_reduce_range() -> bool:
    """Whether torch's int8 products should quantize activations to 7 bits: on CPUs without
    VNNI, where fbgemm sums pairs of u8 x s8 products in int16, 8 bits could saturate."""
    return not has_vnni()


def onnx_unsigned_weights() -> bool:
    """Whether the ONNX int8 graph should hold its weights as uint8 (zero point 128): on
    CPUs without VNNI, ONNX Runtime's u8 x s8 kernel sums in int16 and saturates; its
    u8 x u8 kernel widens first."""
    return not has_vnni()
