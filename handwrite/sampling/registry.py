"""The one registry of sampling kernels, by precision name (`KERNELS`).

A `Kernel` builds a `Stepper` for a batch of lines from where they start (`primer._Start`:
texts, state after the primer's shared prefix).  The loop asks the plan
(`plan.step_plan`) for a name per batch size and the registry for the kernel; it never
looks at which class it got.

To add a kernel: write a class with the four `Stepper` methods, a builder function
(model, cache, plan, start, lines) -> Stepper, and an entry here; if users may ask for
it by name, add the name to `choices.PRECISIONS`.  Test it against the reference
(`reference.reference_lines`) as tests/test_sampling_kernels.py does for the others.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch

from .kernels import _Batch, _OneLine
from .onnx_kernel import onnx_line
from .plan import ONNX, PLAIN
from .stepper import Stepper


@dataclass(frozen=True)
class Kernel:
    """name: the precision name; products: what the fused step's large products run in
    for it (`products.KINDS`; the plain step: fp32); build(model, cache, plan, start, lines):
    a stepper of start's rows, the primer's rest not read yet, in the form a batch of
    `lines` rows runs in (start may hold fewer: one row per text, copied once the rest
    is read, `stepper_for`)."""
    name: str
    products: str
    build: Callable[..., Stepper]


def products_plan(plan: tuple[str, str]) -> tuple[str, str]:
    """A plan of kernel names -> the fused step's plan of products."""
    return tuple(KERNELS[name].products for name in plan)


def _plain(model, cache, plan, start, lines: int) -> Stepper:
    return _Batch(model.step, model, start.state, start.onehot, start.positions)


def _fused(model, cache, plan, start, lines: int) -> Stepper:
    fast = cache.fast_step(model, products_plan(plan))
    on_cpu = start.x.device.type == "cpu"
    if lines == 1 and on_cpu and fast.kind(1) in _OneLine.KINDS:
        return _OneLine(fast, model, start.state, start.onehot, start.positions)
    return _Batch(fast, model, start.state, start.onehot, start.positions,
                  bf16_read=on_cpu and fast.uses_bf16(lines))


def _onnx(model, cache, plan, start, lines: int) -> Stepper:
    if lines > 1 or start.x.device.type != "cpu":
        return _fused(model, cache, plan, start, lines)          # batches: torch's int8 products
    fast = cache.fast_step(model, ("int8", "int8"))
    return onnx_line(cache.onnx_step(model), fast, model, start.state, start.onehot, start.positions)


KERNELS: dict[str, Kernel] = {kernel.name: kernel for kernel in (
    Kernel(PLAIN, "fp32", _plain),
    Kernel("fp32", "fp32", _fused),
    Kernel("bf16", "bf16", _fused),
    Kernel("fp16", "fp16", _fused),
    Kernel("int8", "int8", _fused),
    Kernel(ONNX, "int8", _onnx),
)}


def stepper_for(model, cache, plan: tuple[str, str], start) -> Stepper:
    """The stepper of plan's kernel for start's batch, with the primer's rest read.

    Rows with the same text read the rest to the same state (the word check's candidates
    for a line's first word are such rows), so it is read once per text and copied."""
    lines = start.onehot.shape[0]
    texts = _one_row_per_text(start) if len(start.rest) and lines > 1 else None
    reading = start if texts is None else replace(
        start, onehot=start.onehot[texts[0]], lengths=start.lengths[texts[0]],
        state=start.state.index(texts[0]), x=start.x[texts[0]])
    stepper = KERNELS[plan[lines > 1]].build(model, cache, plan, reading, lines)   # the whole batch's kernel
    stepper.read(start.rest)
    return stepper if texts is None else stepper.keep(texts[1])


def _one_row_per_text(start):
    """(a row of each distinct text, each row's index among those), or None when every
    row's text is its own."""
    lines, dev = start.onehot.shape[0], start.onehot.device
    _, copies = torch.unique(start.onehot.flatten(1).cpu(), dim=0, return_inverse=True)
    texts = int(copies.max()) + 1
    if texts == lines:
        return None
    first = torch.full((texts,), lines).scatter_reduce(0, copies, torch.arange(lines), "amin")
    return first.to(dev), copies.to(dev)
