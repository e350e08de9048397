"""The sampling step of one line as a single ONNX Runtime call (precision="onnx-int8").

At one line a step's ~45 small torch operations cost a few microseconds each, as much
as its int8 matrix products (`sampling.kernels._OneLine`).  Here the whole step (the
three LSTM layers, the attention window, the output layer) and the drawing of its point
are one ONNX graph (`onnx_graph.build_graph`), run by ONNX Runtime in one call on
buffers bound once per line: its operations cost well under a microsecond each, and its
int8 products (activations quantized per call to 8 bits, int8 weights, VNNI where the
CPU has it) are faster than fbgemm's at one row.  A primer is read by a second graph,
16 points a call (`onnx_graph.build_read_graph`).

The graphs are built in memory from the loaded weights at first use (kept per model by
`sampling`'s cache); nothing is stored or loaded from disk.  Needs the optional packages
onnx (to build the graph) and onnxruntime (to run it).
"""
from __future__ import annotations

import importlib.util

import numpy as np
import torch

from .onnx_graph import READ_STEPS, STATE, build_draw_graph, build_graph, build_read_graph

__all__ = ["PACKAGES", "READ_STEPS", "STATE", "OnnxLine", "OnnxStep", "build_draw_graph", "build_graph",
           "build_read_graph", "missing_packages", "require"]

PACKAGES = ("onnx", "onnxruntime")


def missing_packages() -> list[str]:
    """The packages precision="onnx-int8" needs that are not installed (cheap: imports nothing)."""
    return [name for name in PACKAGES if importlib.util.find_spec(name) is None]


def require() -> None:
    missing = missing_packages()
    if missing:
        raise ModuleNotFoundError(f"precision 'onnx-int8' runs the step with ONNX Runtime and needs "
                                  f"{' and '.join(missing)}: pip install 'handwrite-synthesis[onnx]'")


class OnnxStep:
    """An ONNX Runtime session running `fast`'s step for one line (int8 or fp32 products;
    unsigned_weights: see `onnx_graph._Layer`, None: as this CPU needs)."""

    def __init__(self, fast, int8: bool = True, unsigned_weights: bool | None = None):
        require()
        import onnxruntime as ort
        options = ort.SessionOptions()
        # one thread, as torch's sampling (sampling.sample_lines): a second one only waits
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        def session(model):
            return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.session = session(build_graph(fast, int8, unsigned_weights))
        self.read_session = session(build_read_graph(fast, int8, READ_STEPS, unsigned_weights))
        self.outputs = fast.fp32.wo.shape[1]

    def line(self, state, onehot, positions) -> "OnnxLine":
        return OnnxLine(self, state, onehot, positions)


def _binding(session, inputs, outputs):
    """An io_binding of `session` to torch CPU float32 buffers: inputs and outputs [(name, tensor)]."""
    binding = session.io_binding()
    for bind, named in ((binding.bind_input, inputs), (binding.bind_output, outputs)):
        for name, t in named:
            bind(name, "cpu", 0, np.float32, list(t.shape), t.data_ptr())
    return binding


class OnnxLine:
    """One line stepped by an `OnnxStep`, like `sampling._OneLine`: x (1, 3) -> (y, phi);
    or, with `points`, the step and the drawing of its point in the one call.

    Every input and output is a torch buffer bound to the session once per line; the
    point and the state live in two sets of buffers, read from one and written to the
    other in turn, so a step is one `run_with_iobinding` call (and a copy of its input
    point when teacher-forced).
    """
    IO = ("x",) + STATE                   # read from one set of buffers, written (+ "_out") to the other

    def __init__(self, step: OnnxStep, state, onehot, positions):
        self.session = step.session
        self.y = torch.empty(1, step.outputs)
        U = positions.shape[0]
        self.phi, self.noise, self.bias, self.char_bias = torch.empty(1, U), torch.zeros(1, 4), torch.zeros(1, 1), torch.zeros(1, U)
        self.onehot, self.positions = onehot.float().contiguous(), positions.float().contiguous()
        first = [torch.zeros(1, 3)] + [getattr(state, n).float().clone().contiguous() for n in STATE]
        self.states = (first, [torch.empty_like(t) for t in first])
        self.bindings = (self._bind(*self.states), self._bind(*self.states[::-1]))
        self.turn = 0
        self.read_session, self.xs = step.read_session, torch.empty(READ_STEPS, 3)
        self.read_bindings = None          # bound at the first read (a line without a primer has none)

    def _bind(self, read, write):
        fixed = [("onehot", self.onehot), ("positions", self.positions), ("noise", self.noise), ("bias", self.bias),
                 ("char_bias", self.char_bias)]
        return _binding(self.session, [*fixed, *zip(self.IO, read)],
                        [("y", self.y), ("phi", self.phi), *((f"{n}_out", t) for n, t in zip(self.IO, write))])

    def _run(self, x=None) -> None:
        if x is not None:
            self.states[self.turn][0].copy_(x)
        self.session.run_with_iobinding(self.bindings[self.turn])
        self.turn ^= 1

    def __call__(self, x):
        """x (1, 3), the last point -> mixture params (1, 1+6M) (a buffer: read it before
        the next call), phi (1, U) (a new tensor: the caller keeps it)."""
        self._run(x)
        return self.y, self.phi.clone()

    def points(self, x, noise, bias: float, char_bias=None):
        """Steps that draw their own point: a function step -> (x (1, 3), phi (1, U)) (new
        tensors), the point drawn in the graph with noise[:, step] (noise (1, steps, 4), as
        `sampling.draw_noise`), the bias plus the char_bias (1, U) under the window, if
        given; x (1, 3) is the first step's input point, each later step reads the point
        the one before drew.  The draw is `sampling.sample_point`'s (ONNX Runtime's floats
        may differ from torch's in the last bits)."""
        self.states[self.turn][0].copy_(x)
        self.bias.fill_(float(bias))
        self.char_bias.zero_() if char_bias is None else self.char_bias.copy_(char_bias)
        rows = noise[0]

        def step(i: int):
            self.noise.copy_(rows[i])
            self._run()
            return self.states[self.turn][0].clone(), self.phi.clone()
        return step

    def _bind_read(self, read, write):
        return _binding(self.read_session, [("xs", self.xs), ("onehot", self.onehot), ("positions", self.positions),
                                            *zip(STATE, read[1:])],
                        [(f"{n}_out", t) for n, t in zip(STATE, write[1:])])

    def read(self, strokes) -> None:
        """Teacher-force the points strokes (T, 3) (a primer): the state after the last.
        READ_STEPS points to a call of the read graph, the last few with the step's."""
        whole = len(strokes) - len(strokes) % READ_STEPS
        if whole and self.read_bindings is None:
            self.read_bindings = (self._bind_read(*self.states), self._bind_read(*self.states[::-1]))
        for chunk in strokes[:whole].split(READ_STEPS) if whole else ():
            self.xs.copy_(chunk)
            self.read_session.run_with_iobinding(self.read_bindings[self.turn])
            self.turn ^= 1
        for x in strokes[whole:][None].unbind(1):
            self._run(x)

    def state(self):
        """The current state, as tensors in `STATE` order."""
        return self.states[self.turn][1:]
