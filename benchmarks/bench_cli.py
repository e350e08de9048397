"""CLI start-up: `handwrite --help` and a one-word PNG, end to end (fresh processes).

    python benchmarks/bench_cli.py

Target (issue 5): `handwrite --help` in well under a second.
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def best_of(cmd, n=5):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


with tempfile.TemporaryDirectory() as tmp:
    py = sys.executable
    t_python = best_of([py, "-c", "pass"])
    t_help = best_of([py, "-m", "handwrite", "--help"])
    t_word = best_of([py, "-m", "handwrite", "Hello", "-o", str(Path(tmp) / "w.png"), "--seed", "1"], n=3)
print(f"python start-up        : {t_python:.3f} s")
print(f"handwrite --help       : {t_help:.3f} s  (target < 1 s: {'met' if t_help < 1 else 'NOT met'})")
print(f"handwrite Hello -o PNG : {t_word:.3f} s  (import torch, load weights, write, render)")
