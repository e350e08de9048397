"""Which kernel runs a batch: precision names, and the rules of "auto" and "fastest".

A plan is (the precision of a single line, the precision of batches of 2+ lines): a batch
only shrinks as lines stop, and the fused step switches to the one-line products when a
single row is left.  Both names are keys of `registry.KERNELS`.

"auto" is a pure function of the CPU's flags (`cpu.kind`), the batch size and the
model, so a machine, seed and settings write the same strokes in every process.  Per
CPU kind, what the benchmarks measured fastest (docs/speed.md):

    CPU kind       one line   batches                      measured on
    amx            int8       int8                         Intel Xeon, AVX-512 VNNI + AMX
    avx512-bf16    int8       fp16; bf16 from 32 lines     AMD EPYC, AVX-512 VNNI + BF16
    avx512-vnni    int8       int8                         (as the Xeon, without bf16)
    avx2           fp32       fp16                         AMD EPYC, AVX2 only

(The Xeon's bf16 products were no faster than fp32 at 8 rows on one thread; on the
EPYC bf16 overtakes int8 between 16 and 32 lines (`write_many`), and below 32 lines its
batches run fbgemm's fp16 weights, not int8: int8 batches cost the default hand words
(session 27, docs/speed.md; int8 where fp16 is missing); without VNNI, torch's
int8 was no faster than fp32, and bf16 is emulated, far slower.  On the AVX2 EPYC an
fp32 product of 2 rows took twice one row's time, of 4 rows 2.6 times, where fbgemm's
fp16 weights took 0.4-0.6 of fp32's time at 2-8 rows: the word check's candidates are
such batches.  A torch without that op runs fp32 there: `products.fp16_available`.)

int8 only where the model passes its quality check (`products.int8_error`) and has at
least INT8_MIN_HIDDEN cells per layer (a small network spends more on quantizing the
activations than on its products); otherwise fp32 in its place.  fp16 batches need as
many cells.  A GPU runs fp32.

"fastest" is auto with onnx-int8 for a single line where onnx and onnxruntime are
installed: faster per line on every CPU kind measured, but its first line builds two
graphs, so it pays in long-running processes (serve, batch, dataset making).  Where auto
runs batches with fp16 weights, and on "avx2" CPUs, it runs them in int8 (where the
model allows), faster and a little less legible.  On "avx2" CPUs torch's int8
products, 7-bit activations against the int16 sums' saturation, are faster than fp32
from 8 rows on, but the words of the default hand read a little worse in `eval`
(docs/speed.md), so auto keeps fp32 and only the throughput-minded name takes int8.
"""
from __future__ import annotations

import torch

from .. import cpu
from ..choices import PRECISIONS
from .products import fp16_available

ONNX = "onnx-int8"       # int8, with a single line's step run by ONNX Runtime (handwrite.onnx_step)
PLAIN = "plain"          # the unfused `HandwritingModel.step` (sample_lines(fast=False): tests, benchmarks)
INT8_MIN_HIDDEN = 128    # cells per layer below which int8 or fp16 is not chosen (the bundled network: 400)

BATCH_PRECISION = {"amx": "int8", "avx512-bf16": "bf16", "avx512-vnni": "int8", "avx2": "fp16"}
BF16_MIN_LINES = 32      # on "avx512-bf16" CPUs, smaller batches run fp16 weights (int8 where torch lacks them)


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "fp16" and not fp16_available():
        raise ValueError("precision 'fp16' needs fbgemm's fp16 products, which this build of torch lacks; "
                         "use 'fp32' or 'auto'")
    if precision == ONNX:
        from .. import onnx_step
        onnx_step.require()              # at once, not at the first line: names what to install


def auto_plan(lines: int | None = None, *, int8_ok=lambda: True, hidden: int = 400,
              cpu_kind: str | None = None) -> tuple[str, str]:
    """What "auto" runs on a CPU of kind `cpu_kind` (None: this one, `cpu.kind`):
    (one line, batches of 2+).  int8_ok: called only when int8 could be chosen, says
    whether the model passes `int8_error`; hidden: the model's cells per layer."""
    kind = cpu.kind() if cpu_kind is None else cpu_kind
    int8 = kind != "avx2" and hidden >= INT8_MIN_HIDDEN and int8_ok()
    one = "int8" if int8 else "fp32"
    if lines is not None and lines < 2:
        return (one, one)                # the batch only shrinks: batches never come
    batch = BATCH_PRECISION.get(kind, "fp32")
    if batch == "bf16" and lines is not None and lines < BF16_MIN_LINES:
        if hidden >= INT8_MIN_HIDDEN and fp16_available():
            batch = "fp16"
        elif int8:
            batch = "int8"
    if batch == "fp16" and (hidden < INT8_MIN_HIDDEN or not fp16_available()):
        batch = "fp32"
    return (one, one if batch == "int8" else batch)


def onnx_installed() -> bool:
    from .. import onnx_step
    return not onnx_step.missing_packages()


def fastest_plan(lines: int | None = None, *, int8_ok=lambda: True, hidden: int = 400,
                 cpu_kind: str | None = None) -> tuple[str, str]:
    """auto_plan with onnx-int8 for a single line where onnx and onnxruntime are installed,
    and int8 batches where auto has fp16 ones and on "avx2" CPUs."""
    one, batch = auto_plan(lines, int8_ok=int8_ok, hidden=hidden, cpu_kind=cpu_kind)
    int8 = hidden >= INT8_MIN_HIDDEN and int8_ok()
    if int8 and onnx_installed():
        one = ONNX
    if int8 and (batch == "fp16" or (cpu.kind() if cpu_kind is None else cpu_kind) == "avx2"):
        batch = "int8"
    return (one, one) if lines is not None and lines < 2 else (one, batch)


def fastest_precision(lines: int = 1, model=None) -> str:
    """The precision name that writes `lines` lines at once fastest on this CPU, counting
    onnx-int8 where installed (for a long-running process; see "fastest" above).  With
    `model`, int8 only where it passes its check."""
    int8_ok, hidden = lambda: True, 400
    if model is not None:
        from .primer import _cache_for
        int8_ok, hidden = (lambda: _cache_for(model).int8_ok(model)), model.config.hidden
    return fastest_plan(lines, int8_ok=int8_ok, hidden=hidden)[lines > 1]


def step_plan(precision: str, device: torch.device, lines: int | None = None,
              int8_ok=lambda: True, hidden: int = 400) -> tuple[str, str]:
    """The plan for `precision` on `device`: (one line, batches of 2+ lines), kernel names.

    lines: the size of the batch to be sampled, when known (the batch only shrinks).
    int8_ok: called (only when auto could pick int8) to say whether the model passes the
    int8 quality check.  hidden: the model's cells per layer.
    """
    check_precision(precision)
    if precision in ("int8", "fp16", ONNX) and device.type != "cpu":
        raise ValueError(f"precision {precision!r} runs on CPUs only; the model is on {device}")
    if precision == ONNX:
        return (ONNX, "int8")            # batches of 2+ lines: torch's int8 products
    if precision in ("auto", "fastest"):
        if device.type != "cpu":
            return ("fp32", "fp32")
        choose = auto_plan if precision == "auto" else fastest_plan
        return choose(lines, int8_ok=int8_ok, hidden=hidden)
    return (precision, precision)
