"""precision="onnx-int8" for one line: `onnx_step.OnnxLine` as a `Stepper`.

The step and the drawing of its point run as one ONNX Runtime call; its state can be
handed to torch's int8 batch kernel when the line branches into several rows.
"""
from __future__ import annotations

from ..model import HandwritingModel, State
from .kernels import FastStep, _Batch
from .stepper import Stepper


class _OnnxLineStepper(Stepper):
    """One line stepped by an `onnx_step.OnnxLine` (`line`), whose graphs were built from
    `fast` (a `FastStep` with int8 products), on texts onehot (1, U, V)."""

    def __init__(self, line, fast: FastStep, model: HandwritingModel, onehot, positions):
        self.line, self.fast, self.model, self.onehot, self.positions = line, fast, model, onehot, positions

    def __call__(self, x):
        return self.line(x)

    def read(self, strokes) -> None:
        self.line.read(strokes)

    def keep(self, rows) -> Stepper:
        if rows.numel() == 1 and int(rows[0]) == 0:
            return self
        state = State(*(t.clone() for t in self.line.state())).index(rows)
        return _Batch(self.fast, self.model, state, self.onehot[rows], self.positions)

    def state_of(self, rows) -> State:
        return State(*(t.clone() for t in self.line.state())).index(rows)

    def drawer(self, x, lines, bias: float, mixtures: int):
        points = self.line.points(x, lines.noise, bias, lines.char_bias)
        return lambda step, x: points(step)


def onnx_line(onnx, fast: FastStep, model: HandwritingModel, state: State, onehot, positions) -> _OnnxLineStepper:
    """A stepper of one line on `onnx` (an `onnx_step.OnnxStep` built from `fast`) from `state`."""
    return _OnnxLineStepper(onnx.line(state, onehot, positions), fast, model, onehot, positions)



