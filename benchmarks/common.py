"""Shared helpers for the benchmarks (run by hand, never in the test suite)."""
from __future__ import annotations

import time

import torch


def timeit(fn, *, repeat: int = 5, warmup: int = 1) -> float:
    """Best wall time of `repeat` calls, in seconds (the best is the least disturbed)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def matmul_flops(dtype: torch.dtype, n: int = 1024, repeat: int = 5, device: str = "cpu") -> float:
    """The machine's dense matrix-product rate in FLOP/s for one dtype (n x n x n)."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    inner = 10

    def run():
        for _ in range(inner):
            torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
    return 2 * n ** 3 * inner / timeit(run, repeat=repeat)
