"""The ONNX graphs of the sampling step and of a primer's read, built in memory from a
`sampling.FastStep`'s weights node by node (`onnx.helper`); run by `onnx_step`.

The graphs repeat the step's arithmetic as graph nodes: the LSTM cell, the attention
window (`mixture.attention_window`) and the point's draw (`mixture.sample_point`), in
the same operations and order; tests/test_onnx_step.py checks each against those.
int8 products are `com.microsoft.DynamicQuantizeMatMul` on torch's own int8 weights.
"""
from __future__ import annotations

import numpy as np
import torch

from . import cpu

STATE = ("h1", "c1", "h2", "c2", "h3", "c3", "kappa", "window")    # model.State, in order


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


class _Layer:
    """An LSTM layer's weights in the graph (each constant once, however often it is used).

    From `FastStep`'s fused (in, out) matrix w, rows [pen input (3), *the rest], and bias b.
    int8: the layer as `sampling._Int8Products` holds it (a `sampling._Int8Layer`): the
    hidden states' rows int8 (torch's prepacked per-column int8, unpacked here: the very
    same numbers); as there, the pen input's and the window's rows stay fp32.
    unsigned_weights: the int8 weights as uint8 with zero point 128 (the same numbers):
    without VNNI, ONNX Runtime's u8 x s8 kernels sum pairs of products in int16, which
    saturates; its u8 x u8 kernels widen to int16 first and do not (`cpu.onnx_unsigned_weights`).
    """

    def __init__(self, g: _Graph, w, b, int8=None, unsigned_weights: bool = False):
        self.g, self.w = g, _np(w)
        self.int8 = int8
        self.b = g.const(_np(b))
        if int8 is not None:
            q, _ = torch.ops.quantized.linear_unpack(int8.packed)               # (out, hidden rows)
            scale = q.q_per_channel_scales().float().numpy()
            self.q = q.int_repr().t().numpy()                                   # (hidden rows, out)
            self.w_fp = _np(int8.w_fp)                                          # (3 + V, out)
            zero = np.zeros(len(scale), np.int8)
            if unsigned_weights:          # the same numbers, shifted by their zero point
                self.q, zero = (self.q.astype(np.int16) + 128).astype(np.uint8), zero.astype(np.uint8) + 128
            self.scale, self.zero = g.const(scale), g.const(zero, zero.dtype)
            self.V, self.H = len(self.w_fp) - 3, self.q.shape[1] // 4
        self.made: dict = {}

    def _const(self, key, make) -> str:
        """A constant made at its first use only (an unused one would be an unused initializer)."""
        if key not in self.made:
            value = make()
            integer = value.dtype in (np.int8, np.uint8)
            self.made[key] = self.g.const(value, value.dtype if integer else np.float32)
        return self.made[key]

    @property
    def w_x(self) -> str:
        """The pen input's three rows, fp32."""
        return self._const("x", lambda: self.w[:3])

    def gates(self, x: str, rest: list[str]) -> str:
        """One step's gates (1, 4H) = [x, *rest] @ w + b."""
        g = self.g
        if self.int8 is None:
            return g.op("Gemm", g.op("Concat", x, *rest, axis=1), self._const("all", lambda: self.w), self.b)
        hidden, window = self.int8.split(rest)
        inputs = g.op("Concat", *hidden, axis=1) if len(hidden) > 1 else hidden[0]
        product = g.op("DynamicQuantizeMatMul", inputs, self._const("int8", lambda: self.q), self.scale, self.zero,
                       self.b, domain="com.microsoft")
        pen_window = g.op("Concat", x, window, axis=1)
        return g.op("Add", product, g.op("MatMul", pen_window, self._const("fp", lambda: self.w_fp)))

    def product(self, inputs: str, start: int, stop: int, bias: str | None = None, fp32: bool = False) -> str:
        """inputs (n, stop - start) @ the rows [start, stop) of the weights after the pen
        input's (+ bias): int8 products for an int8 layer unless fp32 (for many rows at
        once, where fp32 is cheap and int8 would quantize all the rows with one scale).
        An int8 range holds hidden-state rows only (not the window's)."""
        g, int8 = self.g, self.int8 is not None and not fp32
        if int8:
            window = self.int8.window_at * self.H              # the window's first row after the pen's
            if start < window + self.V and stop > window:
                raise ValueError(f"rows [{start}, {stop}) include the window's, which stay fp32")
            shift = self.V if start >= window else 0           # the int8 rows skip the window's
            w = self._const((start, stop, True), lambda: self.q[start - shift:stop - shift])
        else:
            w = self._const((start, stop, False), lambda: self.w[3 + start:3 + stop])
        if not int8:
            out = g.op("MatMul", inputs, w)
            return g.op("Add", out, bias) if bias else out
        extra = [bias] if bias else []
        return g.op("DynamicQuantizeMatMul", inputs, w, self.scale, self.zero, *extra, domain="com.microsoft")


def _cell(g: _Graph, gates: str, c: str, H: int, names=(None, None)) -> tuple[str, str]:
    """FastStep._cell: PyTorch's gate order (i, f, g, o); names: of the outputs (h, c), if given."""
    s = g.op("Sigmoid", gates)
    i, f, _, o = g.op("Split", s, g.const([H] * 4, np.int64), axis=1, outputs=4)
    cut = [g.const([value], np.int64) for value in (2 * H, 3 * H, 1)]     # starts, ends, axes
    tanh_g = g.op("Tanh", g.op("Slice", gates, *cut))
    h_name, c_name = names
    c = g.op("Add", g.op("Mul", f, c), g.op("Mul", i, tanh_g), outputs=[c_name] if c_name else 1)
    h = g.op("Mul", o, g.op("Tanh", c), outputs=[h_name] if h_name else 1)
    return h, c


class _Window:
    """FastStep's attention window (its weights as constants made once)."""

    def __init__(self, g: _Graph, fast, V: int):
        self.g, self.K, self.V, self.kappa_step = g, fast.K, V, fast.kappa_step
        self.wa, self.ba = g.const(_np(fast.wa)), g.const(_np(fast.ba))

    def __call__(self, h1: str, kappa: str, names=(None, None, None)) -> tuple[str, str, str]:
        """h1 (1, H), kappa (1, K) -> (kappa, phi (1, U), window (1, V)), named `names` if given."""
        g, K = self.g, self.K
        kappa_name, phi_name, window_name = ([n] if n else 1 for n in names)
        abk = g.op("Gemm", h1, self.wa, self.ba)
        a_hat, b_hat, k_hat = g.op("Split", abk, g.const([K] * 3, np.int64), axis=1, outputs=3)
        kappa = g.op("Add", kappa, g.op("Mul", g.op("Softplus", k_hat), g.const(self.kappa_step)),
                     outputs=kappa_name)
        column = g.const([2], np.int64)                                     # (1, K) -> (1, K, 1)
        d = g.op("Sub", g.op("Unsqueeze", kappa, column), "positions")     # (1, K, U)
        neg_beta = g.op("Unsqueeze", g.op("Neg", g.op("Exp", b_hat)), column)
        terms = g.op("Mul", g.op("Unsqueeze", g.op("Exp", a_hat), column), g.op("Exp", g.op("Mul", neg_beta, g.op("Mul", d, d))))
        phi = g.op("ReduceSum", terms, g.const([1], np.int64), keepdims=0, outputs=phi_name)
        window = g.op("MatMul", g.op("Unsqueeze", phi, g.const([1], np.int64)), "onehot")
        return kappa, phi, g.op("Reshape", window, g.const([1, self.V], np.int64), outputs=window_name)


def _draw(g: _Graph, y: str, M: int, bias: str) -> str:
    """`sampling.sample_point` at batch 1 in the graph: the point (1, 3) drawn from the
    mixture params y (1, 1+6M) with this step's noise (1, 4) and bias (1, 1); output x_out.

    The same operations in the same order: softmax(pi * (1 + bias)), the component k =
    how many cumulative probabilities are below the uniform draw (at most M-1), its five
    parameters, sigma = exp(log sigma - bias), dy's correlated normal, the pen lift.
    """
    def cut(t, start, end):
        return g.op("Slice", t, g.const([start], np.int64), g.const([end], np.int64), g.const([1], np.int64))
    one, axis = g.const([1.0]), g.const([1], np.int64)
    probs = g.op("Softmax", g.op("Mul", cut(y, 1, 1 + M), g.op("Add", one, bias)), axis=1)
    below = g.op("Cast", g.op("Less", g.op("CumSum", probs, g.const(1, np.int64)), cut("noise", 0, 1)),
                 to=7)                                                     # int64
    k = g.op("Min", g.op("ReduceSum", below, axis, keepdims=0), g.const([M - 1], np.int64))     # (1,)
    params = g.op("Reshape", g.op("Gather", g.op("Reshape", cut(y, 1 + M, 1 + 6 * M), g.const([5, M], np.int64)),
                                  k, axis=1), g.const([1, 5], np.int64))  # mx, my, lsx, lsy, rho_hat
    sigma = g.op("Exp", g.op("Sub", cut(params, 2, 4), bias))              # (sx, sy)
    rho, z1 = g.op("Tanh", cut(params, 4, 5)), cut("noise", 1, 2)
    root = g.op("Sqrt", g.op("Sub", one, g.op("Mul", rho, rho)))
    z = g.op("Concat", z1, g.op("Add", g.op("Mul", rho, z1), g.op("Mul", root, cut("noise", 2, 3))), axis=1)
    eos = g.op("Cast", g.op("Less", cut("noise", 3, 4), g.op("Sigmoid", cut(y, 0, 1))), to=1)  # float
    return g.op("Concat", g.op("Add", cut(params, 0, 2), g.op("Mul", sigma, z)), eos, axis=1, outputs=["x_out"])


def _model(g: _Graph, name: str, inputs, outputs):
    from onnx import TensorProto, checker, helper
    def value(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    graph = helper.make_graph(g.nodes, name, [value(*v) for v in inputs], [value(*v) for v in outputs], g.weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8                   # what onnxruntime releases since 1.11 read
    checker.check_model(model)
    return model


def build_draw_graph(mixtures: int):
    """The point's draw alone (`_draw`): inputs y (1, 1+6M), noise (1, 4), bias (1, 1);
    output x_out (1, 3).  For tests against `sampling.sample_point`."""
    g, M = _Graph(), mixtures
    _draw(g, "y", M, "bias")
    return _model(g, "handwrite_draw", [("y", [1, 1 + 6 * M]), ("noise", [1, 4]), ("bias", [1, 1])],
                  [("x_out", [1, 3])])


def _unsigned(unsigned_weights: bool | None) -> bool:
    return cpu.onnx_unsigned_weights() if unsigned_weights is None else bool(unsigned_weights)


def _start_graph(fast, int8: bool, unsigned_weights: bool | None):
    """A new graph with `fast`'s three LSTM layers (int8 products or fp32), and the width
    of each part of the state (`STATE`).  unsigned_weights: see `_Layer` (None: as this
    CPU needs)."""
    p, H = fast.fp32, fast.H
    int8_layers = fast.int8_products().layers if int8 else [None] * 3
    g, unsigned = _Graph(), _unsigned(unsigned_weights)
    layers = tuple(_Layer(g, w, b, q, unsigned) for (w, b), q in zip(p.layers, int8_layers))
    V = p.w1.shape[0] - 3 - H
    return g, layers, dict(h1=H, c1=H, h2=H, c2=H, h3=H, c3=H, kappa=fast.K, window=V)


def build_graph(fast, int8: bool = True, unsigned_weights: bool | None = None):
    """The ONNX model of `fast`'s step (a `sampling.FastStep`) at batch 1, for any text length U,
    with the drawing of its point (`_draw`).

    Inputs x (1, 3), the state (`STATE`), onehot (1, U, V), positions (U,), and for the
    draw: noise (1, 4), bias (1, 1) and char_bias (1, U) (extra bias per text position,
    weighed by the window, as `sampling._Lines.bias`); outputs y, the new state (`STATE` +
    "_out"), phi (1, U) and the drawn point x_out (1, 3).
    """
    g, (l1, l2, l3), width = _start_graph(fast, int8, unsigned_weights)
    p, H, V, M1 = fast.fp32, fast.H, width["window"], fast.fp32.wo.shape[1]
    h1, _ = _cell(g, l1.gates("x", ["window", "h1"]), "c1", H, ("h1_out", "c1_out"))
    _, _, window = _Window(g, fast, V)(h1, "kappa", ("kappa_out", "phi", "window_out"))
    h2, _ = _cell(g, l2.gates("x", [h1, window, "h2"]), "c2", H, ("h2_out", "c2_out"))
    h3, _ = _cell(g, l3.gates("x", [h2, window, "h3"]), "c3", H, ("h3_out", "c3_out"))
    y = g.op("Gemm", g.op("Concat", h1, h2, h3, axis=1), g.const(_np(p.wo)), g.const(_np(p.bo)), outputs=["y"])
    bias = g.op("Add", "bias", g.op("ReduceSum", g.op("Mul", "phi", "char_bias"), g.const([1], np.int64)))
    _draw(g, y, (M1 - 1) // 6, bias)

    inputs = [("x", [1, 3])] + [(n, [1, width[n]]) for n in STATE]
    inputs += [("onehot", [1, "U", V]), ("positions", ["U"]), ("noise", [1, 4]), ("bias", [1, 1]), ("char_bias", [1, "U"])]
    outputs = [("y", [1, M1])] + [(f"{n}_out", [1, width[n]]) for n in STATE] + [("phi", [1, "U"]), ("x_out", [1, 3])]
    return _model(g, "handwrite_step", inputs, outputs)


READ_STEPS = 16      # points a read call teacher-forces (the read graph is unrolled that many times)


def build_read_graph(fast, int8: bool = True, steps: int = READ_STEPS, unsigned_weights: bool | None = None):
    """The ONNX model that teacher-forces `steps` points of a primer in one call, at batch 1.

    The same maths as `steps` calls of `build_graph`'s step, arranged for reading: layer 1
    and the window go point by point (the window feeds layer 1's next step), then layers
    2 and 3 take the input part of their gates (x, the layer below, the window) for all
    the points in one product each, so that only their recurrent part (h @ W_hh) is
    stepped.  Per point that is 1,280 rows of weights instead of 2,250, and no output layer
    and no draw.  The batched part runs in fp32 (cheap for many rows, and int8 would
    quantize all the rows with one scale); with int8 products the recurrent part and layer 1
    are int8, so a read state differs from the step graph's by int8 noise.

    Inputs xs (steps, 3), the state (`STATE`), onehot (1, U, V), positions (U,); outputs
    the state after the last point (`STATE` + "_out").
    """
    g, (l1, l2, l3), width = _start_graph(fast, int8, unsigned_weights)
    H, V = fast.H, width["window"]
    window_of = _Window(g, fast, V)

    def row(t: str, i: int) -> str:
        return g.op("Slice", t, g.const([i], np.int64), g.const([i + 1], np.int64), g.const([0], np.int64))

    def named(i: int, *names):
        return names if i == steps - 1 else (None,) * len(names)

    h, c, kappa, window = "h1", "c1", "kappa", "window"
    below, windows = [], []
    for i in range(steps):
        h, c = _cell(g, l1.gates(row("xs", i), [window, h]), c, H, named(i, "h1_out", "c1_out"))
        kappa, _, window = window_of(h, kappa, named(i, "kappa_out", None, "window_out"))
        below.append(h)
        windows.append(window)
    windows = g.op("Concat", *windows, axis=0)                                   # (steps, V)
    pen = "xs"
    for layer, weights in ((2, l2), (3, l3)):
        inputs = g.op("Concat", g.op("Concat", *below, axis=0), windows, axis=1)  # (steps, H + V)
        given = g.op("Add", weights.product(inputs, 0, H + V, weights.b, fp32=True), g.op("MatMul", pen, weights.w_x))
        h, c, below = f"h{layer}", f"c{layer}", []
        for i in range(steps):
            gates = g.op("Add", row(given, i), weights.product(h, H + V, 2 * H + V))
            h, c = _cell(g, gates, c, H, named(i, f"h{layer}_out", f"c{layer}_out"))
            below.append(h)
    inputs = [("xs", [steps, 3])] + [(n, [1, width[n]]) for n in STATE] + [("onehot", [1, "U", V]), ("positions", ["U"])]
    return _model(g, "handwrite_read", inputs, [(f"{n}_out", [1, width[n]]) for n in STATE])
