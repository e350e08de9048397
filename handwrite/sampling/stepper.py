"""The one interface every sampling kernel implements (`Stepper`), and the default way
a batch draws its points.

A stepper holds the recurrent state of a batch of lines (rows) and their texts.  The
sampling loop (`loop._sample_lines`) only ever calls these four methods, so a new kernel
is a class with them plus an entry in `registry.KERNELS`.
"""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import torch

from .points import sample_point

# advance(step, x) -> (the next points (B, 3), phi (B, U)): one step and its points
Advance = Callable[[int, torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


@runtime_checkable
class Stepper(Protocol):
    """A batch of lines being written, stepped by one kernel.

    __call__(x): x (B, 3), each row's last point -> mixture params y (B, 1+6M), phi (B, U)
        (y may be a buffer the next call overwrites: read it first).
    read(strokes): teacher-force the points strokes (T, 3) on every row (a primer's rest).
    keep(rows): the stepper of rows `rows` (a LongTensor) of this one, in that order; a row
        may repeat (one line branched into candidates).  It may be a new object, even of
        another class (a one-line kernel branched into several rows hands its state to a
        batch kernel); the caller uses the returned stepper from then on.
    drawer(x, lines, bias, mixtures): advance(step, x) -> (points (B, 3), phi (B, U)): a step
        and the drawing of its points with noise lines.noise[:, step] and the bias
        lines.bias(bias, phi) (the loop's `stopping._Lines`, which shrinks as lines stop).
    state_of(rows): a copy of rows `rows`' state (`model.State`), to go on from later (a
        word kept by the word check continues from where it ended).
    """

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def read(self, strokes: torch.Tensor) -> None: ...

    def keep(self, rows: torch.Tensor) -> "Stepper": ...

    def drawer(self, x: torch.Tensor, lines, bias: float, mixtures: int) -> Advance: ...

    def state_of(self, rows: torch.Tensor): ...


def draw_batch(stepper: Stepper, lines, bias: float, mixtures: int) -> Advance:
    """The drawer of a kernel that returns y for a whole batch: `sample_point` on it."""
    def advance(step: int, x):
        y, phi = stepper(x)
        return sample_point(y, lines.noise[:, step], mixtures, lines.bias(bias, phi)), phi
    return advance
