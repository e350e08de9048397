"""The sampling step of one line as a single ONNX Runtime call (precision="onnx-int8").

At one line a step's ~45 small torch operations cost ~3 us each, as much as its int8
matrix products (`sampling._OneLine`).  Here the whole step (the three LSTM layers, the
attention window, the output layer) is one ONNX graph, run by ONNX Runtime in one call
on buffers bound once per line: its operations cost well under a microsecond each, and
its int8 products (`com.microsoft.DynamicQuantizeMatMul`: activations quantized per call
to 8 bits, int8 weights, VNNI where the CPU has it) are faster than fbgemm's at one row.

The graph is built in memory from the loaded weights at first use (kept per model by
`sampling`'s cache); nothing is stored or loaded from disk.  Needs the optional packages
onnx (to build the graph) and onnxruntime (to run it).
"""
from __future__ import annotations

import importlib.util

import numpy as np
import torch

STATE = ("h1", "c1", "h2", "c2", "h3", "c3", "kappa", "window")    # model.State, in order
PACKAGES = ("onnx", "onnxruntime")


def missing_packages() -> list[str]:
    """The packages precision="onnx-int8" needs that are not installed (cheap: imports nothing)."""
    return [name for name in PACKAGES if importlib.util.find_spec(name) is None]


def require() -> None:
    missing = missing_packages()
    if missing:
        raise ModuleNotFoundError(f"precision 'onnx-int8' runs the step with ONNX Runtime and needs "
                                  f"{' and '.join(missing)}: pip install 'handwrite-synthesis[onnx]'")


class _Graph:
    """Collects an ONNX graph's nodes and weights, naming every value."""

    def __init__(self):
        from onnx import helper, numpy_helper
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.weights, self.n = [], [], 0

    def const(self, value, dtype=np.float32) -> str:
        name = f"w{self.n}"           # not c1..c3: those are the state's inputs
        self.n += 1
        self.weights.append(self.numpy_helper.from_array(np.ascontiguousarray(value, dtype), name))
        return name

    def op(self, op_type: str, *inputs, outputs=1, domain=None, **attrs):
        """Add a node; its output name (names, for outputs > 1); outputs may name them."""
        names = [f"t{self.n + i}" for i in range(outputs)] if isinstance(outputs, int) else list(outputs)
        self.n += len(names)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, domain=domain, **attrs))
        return names[0] if len(names) == 1 else names


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def _int8_columns(w: np.ndarray):
    """Symmetric int8 weights with one scale per output column, as `sampling._int8_linear`."""
    scale = np.maximum(np.abs(w).max(0) / 127, 1e-12).astype(np.float32)
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def _gates(g: _Graph, w, b, x: str, rest: list[str], int8: bool) -> str:
    """A layer's gates (1, 4H) = [x, *rest] @ w + b (w: FastStep's fused (in, out) matrix).

    int8: as `sampling._Int8Products`, the pen input's three rows stay fp32 (an offset can
    be far larger than the hidden state and would coarsen the activations' quantization).
    """
    w, b = _np(w), _np(b)
    if not int8:
        return g.op("Gemm", g.op("Concat", x, *rest, axis=1), g.const(w), g.const(b))
    q, scale = _int8_columns(w[3:])
    inputs = g.op("Concat", *rest, axis=1) if len(rest) > 1 else rest[0]
    product = g.op("DynamicQuantizeMatMul", inputs, g.const(q, np.int8), g.const(scale),
                   g.const(np.zeros(q.shape[1]), np.int8), g.const(b), domain="com.microsoft")
    return g.op("Add", product, g.op("MatMul", x, g.const(w[:3])))


def _cell(g: _Graph, gates: str, c: str, H: int, layer: int) -> tuple[str, str]:
    """FastStep._cell: PyTorch's gate order (i, f, g, o); outputs named h{layer}_out, c{layer}_out."""
    s = g.op("Sigmoid", gates)
    i, f, _, o = g.op("Split", s, g.const([H] * 4, np.int64), axis=1, outputs=4)
    cut = [g.const([value], np.int64) for value in (2 * H, 3 * H, 1)]     # starts, ends, axes
    tanh_g = g.op("Tanh", g.op("Slice", gates, *cut))
    c = g.op("Add", g.op("Mul", f, c), g.op("Mul", i, tanh_g), outputs=[f"c{layer}_out"])
    h = g.op("Mul", o, g.op("Tanh", c), outputs=[f"h{layer}_out"])
    return h, c


def _window(g: _Graph, fast, h1: str, V: int) -> str:
    """FastStep's attention window: writes kappa_out, phi and window_out; returns the window."""
    K = fast.K
    abk = g.op("Gemm", h1, g.const(_np(fast.wa)), g.const(_np(fast.ba)))
    a_hat, b_hat, k_hat = g.op("Split", abk, g.const([K] * 3, np.int64), axis=1, outputs=3)
    kappa = g.op("Add", "kappa", g.op("Mul", g.op("Softplus", k_hat), g.const(fast.kappa_step)),
                 outputs=["kappa_out"])
    column = g.const([2], np.int64)                                         # (1, K) -> (1, K, 1)
    d = g.op("Sub", g.op("Unsqueeze", kappa, column), "positions")         # (1, K, U)
    neg_beta = g.op("Unsqueeze", g.op("Neg", g.op("Exp", b_hat)), column)
    terms = g.op("Mul", g.op("Unsqueeze", g.op("Exp", a_hat), column), g.op("Exp", g.op("Mul", neg_beta, g.op("Mul", d, d))))
    phi = g.op("ReduceSum", terms, g.const([1], np.int64), keepdims=0, outputs=["phi"])
    window = g.op("MatMul", g.op("Unsqueeze", phi, g.const([1], np.int64)), "onehot")
    return g.op("Reshape", window, g.const([1, V], np.int64), outputs=["window_out"])


def build_graph(fast, int8: bool = True):
    """The ONNX model of `fast`'s step (a `sampling.FastStep`) at batch 1, for any text length U.

    Inputs x (1, 3), the state (`STATE`), onehot (1, U, V), positions (U,); outputs y,
    the new state (`STATE` + "_out") and phi (1, U).
    """
    import onnx
    from onnx import TensorProto, helper
    p, H = fast.fp32, fast.H
    V, M1 = p.w1.shape[0] - 3 - H, p.wo.shape[1]
    width = dict(h1=H, c1=H, h2=H, c2=H, h3=H, c3=H, kappa=fast.K, window=V)
    g = _Graph()
    h1, _ = _cell(g, _gates(g, p.w1, p.b1, "x", ["window", "h1"], int8), "c1", H, 1)
    window = _window(g, fast, h1, V)
    h2, _ = _cell(g, _gates(g, p.w2, p.b2, "x", [h1, window, "h2"], int8), "c2", H, 2)
    h3, _ = _cell(g, _gates(g, p.w3, p.b3, "x", [h2, window, "h3"], int8), "c3", H, 3)
    g.op("Gemm", g.op("Concat", h1, h2, h3, axis=1), g.const(_np(p.wo)), g.const(_np(p.bo)), outputs=["y"])

    def value(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    inputs = [value("x", [1, 3])] + [value(n, [1, width[n]]) for n in STATE]
    inputs += [value("onehot", [1, "U", V]), value("positions", ["U"])]
    outputs = [value("y", [1, M1])] + [value(f"{n}_out", [1, width[n]]) for n in STATE] + [value("phi", [1, "U"])]
    graph = helper.make_graph(g.nodes, "handwrite_step", inputs, outputs, g.weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8                   # what onnxruntime releases since 1.11 read
    onnx.checker.check_model(model)
    return model


class OnnxStep:
    """An ONNX Runtime session running `fast`'s step for one line (int8 or fp32 products)."""

    def __init__(self, fast, int8: bool = True):
        require()
        import onnxruntime as ort
        options = ort.SessionOptions()
        # one thread, as torch's sampling (sampling.sample_lines): a second one only waits
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model = build_graph(fast, int8)
        self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.int8, self.outputs = int8, fast.fp32.wo.shape[1]

    def line(self, state, onehot, positions) -> "OnnxLine":
        return OnnxLine(self, state, onehot, positions)


class OnnxLine:
    """One line stepped by an `OnnxStep`, like `sampling._OneLine`: x (1, 3) -> (y, phi).

    Every input and output is a torch buffer bound to the session once per line; the state
    lives in two sets of buffers, read from one and written to the other in turn, so a
    step is one `run_with_iobinding` call and a copy of its input point.
    """

    def __init__(self, step: OnnxStep, state, onehot, positions):
        self.session = step.session
        self.x, self.y = torch.zeros(1, 3), torch.empty(1, step.outputs)
        self.phi = torch.empty(1, positions.shape[0])
        self.onehot, self.positions = onehot.float().contiguous(), positions.float().contiguous()
        first = [getattr(state, n).float().clone().contiguous() for n in STATE]
        self.states = (first, [torch.empty_like(t) for t in first])
        self.bindings = (self._bind(*self.states), self._bind(*self.states[::-1]))
        self.turn = 0

    def _bind(self, read, write):
        binding = self.session.io_binding()
        for name, t in [("x", self.x), ("onehot", self.onehot), ("positions", self.positions), *zip(STATE, read)]:
            binding.bind_input(name, "cpu", 0, np.float32, list(t.shape), t.data_ptr())
        for name, t in [("y", self.y), ("phi", self.phi), *((f"{n}_out", t) for n, t in zip(STATE, write))]:
            binding.bind_output(name, "cpu", 0, np.float32, list(t.shape), t.data_ptr())
        return binding

    def _run(self, x) -> None:
        self.x.copy_(x)
        self.session.run_with_iobinding(self.bindings[self.turn])
        self.turn ^= 1

    def __call__(self, x):
        """x (1, 3), the last point -> mixture params (1, 1+6M) (a buffer: read it before
        the next call), phi (1, U) (a new tensor: the caller keeps it)."""
        self._run(x)
        return self.y, self.phi.clone()

    def read(self, strokes) -> None:
        """Teacher-force the points strokes (T, 3) (a primer): the state after the last."""
        for x in strokes[None].unbind(1):
            self._run(x)

    def state(self):
        """The current state, as tensors in `STATE` order."""
        return self.states[self.turn]
