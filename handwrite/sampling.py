"""Drawing pen offsets from the network, one step at a time, for a batch of lines.

Biased sampling (Graves, section 5.4): sigma = exp(log_sigma - b) and
pi = softmax(pi_logits * (1 + b)); b = 0 samples the model as trained, larger b gives
neater, more regular writing.

All randomness is drawn up front from the seed (four numbers per line and step), so
a seed fixes the strokes, and the fast step and the plain step can be compared on
exactly the same draws.
"""
from __future__ import annotations

import functools
import time
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from . import cpu
from .choices import PRECISIONS
from .model import HandwritingModel, State

STEPS_PER_CHAR = 30      # hard cap on the length of a line, per character (typical: ~8)
MIN_STEPS = 60
END_STEPS = 20           # after the window leaves the text: steps allowed to finish the last stroke
LOOKAHEAD = 16           # then steps drawn to catch delayed strokes (a t's bar, an i's dot) ...
TAIL_STROKES = 2         # ... at most this many of them
PRIMER_TAIL = 1e-6       # window weight past a primer's text below which no line text can matter
PRIMERS_KEPT = 8         # primer prefixes kept per model


@dataclass
class SampledLine:
    offsets: np.ndarray      # (T, 3) normalised (dx, dy, eos); row 0 is the start
    phi: np.ndarray          # (T - 1, U) attention weights of each step over the characters
    finished: bool           # the window passed the last character before the step cap
    left_text_at: int | None = None   # row of offsets drawn as the window left the text (None: never)
    # (n, 3) every point the network drew for the line, from its first step to offsets' last
    # row, as drawn: with the end of the primer's last letter, which offsets leaves out (what
    # the network read after a primer's last point, e.g. to score the line: handwrite.likelihood)
    drawn: np.ndarray | None = None
    # (n,) for each of drawn's points, the line character the window weighed most as it was
    # drawn (an index into the line's own text; -1: still on the primer's text)
    drawn_on: np.ndarray | None = None




class _Products:
    """The weights of a step's four large matrix products, in one dtype.

    Each layer's two matrices are fused into one (in, out) matrix, so that
    addmm(bias, [inputs, hidden], W) is one product per layer and needs no transpose.
    """

    def __init__(self, model: HandwritingModel):
        l1, l2, l3 = model.lstm1, model.lstm2, model.lstm3
        with torch.no_grad():
            self.w1 = torch.cat([l1.weight_ih, l1.weight_hh], 1).t().contiguous()
            self.b1 = (l1.bias_ih + l1.bias_hh).contiguous()
            self.w2 = torch.cat([l2.weight_ih_l0, l2.weight_hh_l0], 1).t().contiguous()
            self.b2 = (l2.bias_ih_l0 + l2.bias_hh_l0).contiguous()
            self.w3 = torch.cat([l3.weight_ih_l0, l3.weight_hh_l0], 1).t().contiguous()
            self.b3 = (l3.bias_ih_l0 + l3.bias_hh_l0).contiguous()
            self.wo, self.bo = model.output.weight.t().contiguous(), model.output.bias.contiguous()
        self.dtype = self.w1.dtype
        self.layers = ((self.w1, self.b1), (self.w2, self.b2), (self.w3, self.b3))

    def to(self, dtype: torch.dtype) -> "_Products":
        out = _Products.__new__(_Products)
        for name, value in vars(self).items():
            setattr(out, name, value.to(dtype) if isinstance(value, torch.Tensor) else value)
        out.dtype = dtype
        out.layers = ((out.w1, out.b1), (out.w2, out.b2), (out.w3, out.b3))
        return out

    def gates(self, layer: int, x, *rest):
        """Layer `layer`'s gates (B, 4H) in fp32, for pen input x (B, 3) and its other inputs."""
        w, b = self.layers[layer]
        dt = self.dtype            # .to(dt) and .float() are no-ops in fp32
        return torch.addmm(b, torch.cat([x, *rest], 1).to(dt), w).float()

    def output(self, h1, h2, h3):
        return torch.addmm(self.bo, torch.cat([h1, h2, h3], 1).to(self.dtype), self.wo).float()


# where the window is among each layer's inputs after the pen's (FastStep: layer 1 reads
# [window, h1], layers 2-3 [the layer below, window, own h]), counted in hidden-state widths
WINDOW_AT = (0, 1, 1)


# 7-bit activations (fbgemm's default) keep its int16 sums from saturating on CPUs without
# VNNI; with VNNI the sums are int32, and 8 bits read better: Tesseract CER 0.061 against
# 0.067 in 7 bits (fp32 0.059; 3 seeds of the same 100 validation lines, docs/speed.md)
INT8_REDUCE_RANGE = not cpu.has_vnni()


@dataclass(frozen=True)
class _Int8Layer:
    """One layer's products for int8 (`_Int8Products`): w_fp (3 + V, out) the pen's and the
    window's rows in fp32, packed the hidden states' rows in int8, window_at which of the
    layer's inputs after the pen's is the window (WINDOW_AT)."""
    w_fp: torch.Tensor
    packed: object
    window_at: int

    def split(self, rest: list) -> tuple[list, object]:
        """The layer's inputs after the pen's -> (the hidden states, in order; the window)."""
        return [r for i, r in enumerate(rest) if i != self.window_at], rest[self.window_at]


def _int8_linear(w: torch.Tensor, b: torch.Tensor):
    """Prepacked int8 weights for y = x @ w + b (w: (in, out) fp32), one scale per output."""
    wt = w.t().contiguous()
    scale = (wt.abs().amax(1) / 127).clamp(min=1e-12).double()
    with warnings.catch_warnings():          # torch marks its quantized tensors as deprecated, not the op
        warnings.simplefilter("ignore")
        q = torch.quantize_per_channel(wt, scale, torch.zeros(len(scale), dtype=torch.long), 0, torch.qint8)
        return torch.ops.quantized.linear_prepack(q, b.contiguous())


class _Int8Products:
    """The three LSTM layers' products with int8 weights (PyTorch's dynamic quantized linear op,
    fbgemm/oneDNN: activations quantized per call, int32 accumulation, fp32 out).

    Only the hidden states' rows are int8: their activations lie in [-1, 1], so one scale
    per call fits them all.  The pen input's three rows (an offset can be far larger) and
    the window's (a sum of one-hot rows weighted by the attention, often above 1) stay
    fp32, since either would coarsen the scale of the whole product; with the window in
    int8 too, lines read worse (Tesseract CER 0.070 against fp32's 0.055 on the same 100
    validation lines; docs/speed.md).  The small output layer stays fp32 (the mixture
    parameters are sampled from directly), and so does the state.

    layers: an `_Int8Layer` per layer.
    """

    dtype = torch.float32

    def __init__(self, fp32: _Products):
        V = fp32.w1.shape[0] - 3 - fp32.w2.shape[1] // 4          # layer 1's rows: pen, window, h1
        layers = []
        with torch.no_grad():
            for window_at, (w, b) in zip(WINDOW_AT, fp32.layers):
                start = 3 + window_at * (w.shape[1] // 4)          # the inputs before it are hidden states
                w_fp = torch.cat([w[:3], w[start:start + V]]).contiguous()
                hidden = torch.cat([w[3:start], w[start + V:]]).contiguous()
                layers.append(_Int8Layer(w_fp, _int8_linear(hidden, b), window_at))
        self.layers = tuple(layers)
        self.wo, self.bo = fp32.wo, fp32.bo
        # the overload itself: calling the packet runs Python checks each time (~2 us a call)
        self.linear = torch.ops.quantized.linear_dynamic.default

    def gates(self, layer: int, x, *rest):
        weights = self.layers[layer]
        hidden, window = weights.split(rest)
        inputs = torch.cat(hidden, 1) if len(hidden) > 1 else hidden[0]
        return torch.addmm(self.linear(inputs, weights.packed, INT8_REDUCE_RANGE), torch.cat([x, window], 1),
                           weights.w_fp)

    output = _Products.output


KINDS = ("fp32", "bf16", "int8")     # what a step's large products can run in


class FastStep:
    """The network's step with each layer's weights fused into one matrix.

    Same maths as `HandwritingModel.step` (the plain version), in about a third of the
    operations: one matrix product per layer on [inputs, hidden] instead of two, one
    sigmoid over all gates.  plan: the products' kind (`KINDS`) for one line, and for
    batches of 2+ lines.  bf16 (the dtype the network was trained in, under autocast) is
    3-4x faster for batches on CPUs with bf16 instructions; int8 weights (`_Int8Products`)
    are 3-4x faster than fp32 for one line on CPUs with VNNI.  The state stays fp32.
    """

    def __init__(self, model: HandwritingModel, plan: tuple[str, str] = ("fp32", "fp32")):
        c = model.config
        self.H, self.K, self.kappa_step = c.hidden, c.window_mixtures, c.kappa_step
        if any(kind not in KINDS for kind in plan):
            raise ValueError(f"plan must name {', '.join(KINDS)}; got {plan!r}")
        self.plan = tuple(plan)
        self.fp32 = _Products(model)
        self.products = {"fp32": self.fp32}
        if "bf16" in plan:
            self.products["bf16"] = self.fp32.to(torch.bfloat16)
        if "int8" in plan:
            self.products["int8"] = _Int8Products(self.fp32)
        with torch.no_grad():
            self.wa, self.ba = model.attention.weight.t().contiguous(), model.attention.bias.contiguous()

    def _cell(self, gates, c):
        H = self.H
        s = torch.sigmoid(gates)
        c = s[:, H:2 * H] * c + s[:, :H] * torch.tanh(gates[:, 2 * H:3 * H])
        return s[:, 3 * H:] * torch.tanh(c), c

    def int8_products(self) -> "_Int8Products":
        """Its int8 products, made now if its plan has none (onnx_step's int8 graph reads them)."""
        if "int8" not in self.products:
            self.products["int8"] = _Int8Products(self.fp32)
        return self.products["int8"]

    def kind(self, batch: int) -> str:
        return self.plan[batch > 1]

    def uses_bf16(self, batch: int) -> bool:
        return self.kind(batch) == "bf16"

    def __call__(self, x, state: State, onehot, positions):
        K = self.K
        p = self.products[self.plan[x.shape[0] > 1]]
        h1, c1 = self._cell(p.gates(0, x, state.window, state.h1), state.c1)
        abk = torch.addmm(self.ba, h1, self.wa)                               # the window stays fp32
        ab = torch.exp(abk[:, :2 * K]).unsqueeze(-1)                          # (B, 2K, 1)
        kappa = state.kappa + self.kappa_step * torch.nn.functional.softplus(abk[:, 2 * K:])
        phi = (ab[:, :K] * torch.exp(-ab[:, K:] * (kappa.unsqueeze(-1) - positions) ** 2)).sum(1)
        window = torch.bmm(phi.unsqueeze(1), onehot).squeeze(1)
        h2, c2 = self._cell(p.gates(1, x, h1, window, state.h2), state.c2)
        h3, c3 = self._cell(p.gates(2, x, h2, window, state.h3), state.c3)
        y = p.output(h1, h2, h3)
        return y, State(h1, c1, h2, c2, h3, c3, kappa, window), phi


class _Batch:
    """Steps a batch of lines with a step function (`FastStep` or the plain
    `HandwritingModel.step`): holds the lines' state and texts, and drops stopped lines."""

    def __init__(self, step_fn, state: State, onehot, positions):
        self.step_fn, self.state, self.onehot, self.positions = step_fn, state, onehot, positions

    def __call__(self, x):
        """x (B, 3), the last point -> mixture params (B, 1+6M), phi (B, U)."""
        y, self.state, phi = self.step_fn(x, self.state, self.onehot, self.positions)
        return y, phi

    def keep(self, rows) -> None:
        self.state, self.onehot = self.state.index(rows), self.onehot[rows]


class _OneLine:
    """`FastStep` for a single line (fp32 or int8 products), on buffers made once per line.

    At one line each torch call costs ~3 us whatever its size, and the ~70 small
    operations of a step (gates, window, slices of each) cost more than its matrix
    products.  Here every intermediate has a buffer, every slice of one is a view made
    once, and the state is updated in place: the same operations on the same numbers as
    `FastStep` (so the same floats), in about 45 calls that allocate almost nothing.
    """

    KINDS = ("fp32", "int8")

    def __init__(self, fast: FastStep, state: State, onehot, positions):
        H, K, U = fast.H, fast.K, positions.shape[0]
        self.fast, self.int8 = fast, fast.kind(1) == "int8"
        self.p = fast.products[fast.kind(1)]
        self.onehot, self.positions = onehot, positions
        # the state, copied (it is updated in place; a primer's cached state is shared)
        self.h = [state.h1.clone(), state.h2.clone(), state.h3.clone()]
        self.c = [state.c1.clone(), state.c2.clone(), state.c3.clone()]
        self.kappa, self.window = state.kappa.clone(), state.window.clone()
        # gates and their sigmoids, one layer at a time: views of the parts the cell reads
        self.gates, self.s, self.tg = torch.empty(1, 4 * H), torch.empty(1, 4 * H), torch.empty(1, H)
        self.g = self.gates[:, 2 * H:3 * H]
        self.i, self.f, self.o = self.s[:, :H], self.s[:, H:2 * H], self.s[:, 3 * H:]
        # each layer's input, as FastStep concatenates it: [x, ...]; for int8 the hidden
        # states, and [x, window] for the fp32 rows
        V = self.window.shape[1]
        if self.int8:
            self.inputs = [torch.empty(1, H), torch.empty(1, 2 * H), torch.empty(1, 2 * H)]
            self.pen_window = torch.empty(1, 3 + V)
        else:
            self.inputs = [torch.empty(1, 3 + V + H), torch.empty(1, 3 + 2 * H + V), torch.empty(1, 3 + 2 * H + V)]
        self.hs = torch.empty(1, 3 * H)                                  # [h1, h2, h3] for the output layer
        self.y = torch.empty(1, self.p.wo.shape[1])
        # the window: alpha and beta (each (1, K, 1)), kappa as a column, (1, K, U) terms
        self.abk, self.ab = torch.empty(1, 3 * K), torch.empty(1, 2 * K)
        self.ab_part, self.k_part = self.abk[:, :2 * K], self.abk[:, 2 * K:]
        self.alpha, self.beta = self.ab[:, :K].unsqueeze(-1), self.ab[:, K:].unsqueeze(-1)
        self.neg_beta, self.terms = torch.empty(1, K, 1), torch.empty(1, K, U)
        self.kappa_col, self.window3 = self.kappa.unsqueeze(-1), self.window.unsqueeze(1)

    def _gates(self, layer: int, x, *rest):
        """Layer `layer`'s gates into self.gates, as `_Products.gates` / `_Int8Products.gates`."""
        inputs = self.inputs[layer]
        if self.int8:
            weights = self.p.layers[layer]
            hidden, window = weights.split(rest)
            torch.cat(hidden, 1, out=inputs)
            torch.cat([x, window], 1, out=self.pen_window)
            torch.addmm(self.p.linear(inputs, weights.packed, INT8_REDUCE_RANGE), self.pen_window, weights.w_fp,
                        out=self.gates)
        else:
            w, b = self.p.layers[layer]
            torch.cat([x, *rest], 1, out=inputs)
            torch.addmm(b, inputs, w, out=self.gates)

    def _cell(self, layer: int) -> None:
        """FastStep._cell in place on layer `layer`'s h and c (products commute exactly)."""
        torch.sigmoid(self.gates, out=self.s)
        torch.tanh(self.g, out=self.tg).mul_(self.i)            # i * tanh(g)
        c, h = self.c[layer], self.h[layer]
        c.mul_(self.f).add_(self.tg)                             # f * c + i * tanh(g)
        torch.tanh(c, out=h).mul_(self.o)                        # o * tanh(c)

    def _layers(self, x):
        """The three layers and the window for input point x (1, 3); phi (1, U)."""
        fast, (h1, h2, h3) = self.fast, self.h
        self._gates(0, x, self.window, h1)
        self._cell(0)
        torch.addmm(fast.ba, h1, fast.wa, out=self.abk)
        torch.exp(self.ab_part, out=self.ab)
        self.kappa.add_(torch.nn.functional.softplus(self.k_part).mul_(fast.kappa_step))
        terms = torch.sub(self.kappa_col, self.positions, out=self.terms).pow_(2)
        terms.mul_(torch.neg(self.beta, out=self.neg_beta)).exp_().mul_(self.alpha)
        phi = terms.sum(1)                                       # a new tensor: the caller keeps it
        torch.bmm(phi.unsqueeze(1), self.onehot, out=self.window3)
        self._gates(1, x, h1, self.window, h2)
        self._cell(1)
        self._gates(2, x, h2, self.window, h3)
        self._cell(2)
        return phi

    def __call__(self, x):
        """x (1, 3), the last point -> mixture params (1, 1+6M) (a buffer: read it before
        the next call), phi (1, U)."""
        phi = self._layers(x)
        torch.cat(self.h, 1, out=self.hs)
        return torch.addmm(self.p.bo, self.hs, self.p.wo, out=self.y), phi

    def read(self, strokes) -> None:
        """Teacher-force the points strokes (T, 3) (a primer): the state after the last."""
        for x in strokes[None].unbind(1):
            self._layers(x)


def _best_time(fn, repeat: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


@functools.lru_cache(maxsize=None)
def cpu_bf16_is_faster() -> bool:
    """Whether this CPU multiplies a few lines' worth of activations faster in bf16 than fp32.

    Measured once per process (a few ms), not guessed from CPU flags: without AVX512-BF16
    or AMX, bf16 products are emulated and slower than fp32.
    """
    try:
        x, w = torch.randn(8, 882), torch.randn(882, 1600)
        xb, wb = x.bfloat16(), w.bfloat16()
        return _best_time(lambda: torch.mm(xb, wb)) < 0.75 * _best_time(lambda: torch.mm(x, w))
    except RuntimeError:           # no bf16 kernels at all
        return False


FULL_LAYER = (883, 1600)     # the full network's layers 2-3: inputs x 4 * hidden


@functools.lru_cache(maxsize=None)
def product_times(rows: int, shape: tuple[int, int] = FULL_LAYER) -> dict[str, float]:
    """Seconds this CPU takes per kind for a layer's product: (rows, in) by (in, out).

    Measured once per process, row count and shape (a few ms, best of 5), on one
    thread as sampling runs; a kind without kernels here is left out.  int8 pays for
    large layers only: for a tiny network, quantizing the activations costs more than
    the product.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        n_in, n_out = shape
        x, w, b = torch.rand(rows, n_in) * 2 - 1, torch.randn(n_in, n_out) * 0.05, torch.zeros(n_out)
        times = {"fp32": _best_time(lambda: torch.addmm(b, x, w))}
        try:
            xb, wb, bb = x.bfloat16(), w.bfloat16(), b.bfloat16()
            times["bf16"] = _best_time(lambda: torch.addmm(bb, xb, wb))
        except RuntimeError:
            pass
        try:
            packed = _int8_linear(w, b)
            times["int8"] = _best_time(lambda: torch.ops.quantized.linear_dynamic(x, packed, INT8_REDUCE_RANGE))
        except (RuntimeError, AttributeError):       # no quantized engine in this build
            pass
        return times
    finally:
        torch.set_num_threads(threads)


INT8_TOLERANCE = 0.03    # int8 gates' rms error over the fp32 gates' spread, on probe inputs (measured: ~0.01)


def probe_inputs(layer: int, H: int, V: int, rows: int = 1, generator=None) -> list[torch.Tensor]:
    """Made-up inputs of layer `layer` after the pen's, in FastStep's order (WINDOW_AT):
    hidden states (rows, H) in [-1, 1] and a window (rows, V) of one-hot-like weights."""
    hidden = [torch.rand(rows, H, generator=generator) * 2 - 1 for _ in range(1 if layer == 0 else 2)]
    window = torch.rand(rows, V, generator=generator).pow(8) * 1.5     # mostly near 0, a few near 1
    return hidden[:WINDOW_AT[layer]] + [window] + hidden[WINDOW_AT[layer]:]


def int8_error(model: HandwritingModel) -> float:
    """How far the int8 products of this model's weights are from fp32, on probe inputs:
    the largest over the layers of the gates' rms error over their standard deviation.

    The probe (seeded) is what a step feeds a layer: hidden states in [-1, 1], a window
    of one-hot-like weights, small pen offsets.
    """
    fp32 = _Products(model)
    int8 = _Int8Products(fp32)
    g = torch.Generator().manual_seed(0)
    worst = 0.0
    with torch.inference_mode():
        for layer in range(3):
            x = torch.randn(8, 3, generator=g) * 0.5
            rest = probe_inputs(layer, model.config.hidden, model.config.alphabet_size, rows=8, generator=g)
            ref, got = fp32.gates(layer, x, *rest), int8.gates(layer, x, *rest)
            worst = max(worst, float((got - ref).pow(2).mean().sqrt() / ref.std().clamp(min=1e-6)))
    return worst


FASTER = 0.75            # a kind other than fp32 is chosen only when it takes at most this much of fp32's time


def auto_plan(device: torch.device, int8_ok: bool = True, lines: int | None = None,
              shape: tuple[int, int] = FULL_LAYER) -> tuple[str, str]:
    """What "auto" runs the products in on this device: (one line, batches of 2+).

    On a CPU, the fastest kind measured here (`product_times` for the model's layer
    `shape`: one row for one line, 8 for batches) among those that pass: fp32 always; bf16 where `cpu_bf16_is_faster`
    (emulated bf16 is slow); int8 where `int8_ok` (the model passed `int8_error`).  Other
    kinds must beat fp32 clearly (FASTER).  A GPU keeps fp32.
    """
    if device.type != "cpu":
        return ("fp32", "fp32")
    allowed = {"fp32", "int8"} if int8_ok else {"fp32"}

    def fastest(rows, allowed):
        times = product_times(rows, shape)
        fits = {k: t for k, t in times.items() if k in allowed and (k == "fp32" or t <= FASTER * times["fp32"])}
        return min(fits, key=fits.get)
    one = fastest(1, allowed)          # bf16 matrix-vector products are never the fastest
    if lines is not None and lines < 2:
        return (one, one)              # the batch only shrinks: no need to measure batches
    return (one, fastest(8, allowed | ({"bf16"} if cpu_bf16_is_faster() else set())))


# "auto" chooses int8 where it measures clearly faster and the weights pass int8_error.
# Since the window's rows stay fp32 (and 8-bit activations on VNNI CPUs), int8 writes as
# legibly as fp32 within the seed-to-seed spread (Tesseract CER 0.061 against 0.059, 3
# seeds of 100 validation lines) and joins as much (the `joined` preset 0.57 against 0.58
# pen lifts per letter); before, with the window in int8, 0.071 against 0.058 (docs/speed.md).
AUTO_INT8 = True


ONNX = "onnx-int8"       # int8, with a single line's step run by ONNX Runtime (handwrite.onnx_step)


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == ONNX:
        from . import onnx_step
        onnx_step.require()              # at once, not at the first line: names what to install


def step_plan(precision: str, device: torch.device, lines: int | None = None,
              int8_ok=lambda: True, shape: tuple[int, int] = FULL_LAYER) -> tuple[str, str]:
    """What the fast step's large products run in: (one line, batches of 2+ lines).

    lines: the size of the batch to be sampled, when known (the batch only shrinks).
    int8_ok: called (only when auto could pick int8) to say whether the model passes
    the int8 quality check (`int8_error` within INT8_TOLERANCE).
    shape: the model's largest layer product, (inputs, outputs), for the measurement.
    """
    check_precision(precision)
    if precision in ("int8", ONNX) and device.type != "cpu":
        raise ValueError(f"precision {precision!r} runs on CPUs only; the model is on {device}")
    if precision == ONNX:
        return ("int8", "int8")          # batches of 2+ lines: torch's int8 products
    if precision != "auto":
        return (precision, precision)
    if device.type != "cpu":
        return ("fp32", "fp32")
    return auto_plan(device, int8_ok=AUTO_INT8 and _int8_may_pay(shape) and int8_ok(), lines=lines, shape=shape)


def _int8_may_pay(shape) -> bool:
    """Whether int8 beats fp32 clearly here for one line or for batches (measured)."""
    return any(t.get("int8", float("inf")) <= FASTER * t["fp32"]
               for t in (product_times(1, shape), product_times(8, shape)))


def layer_shape(model: HandwritingModel) -> tuple[int, int]:
    """(inputs, outputs) of the model's largest layer product (layers 2-3 fused)."""
    w = model.lstm2
    return (w.weight_ih_l0.shape[1] + w.weight_hh_l0.shape[1], w.weight_ih_l0.shape[0])


class _SamplingCache:
    """What sampling can reuse between calls on the same weights: the fused steps (per
    plan), whether the weights pass the int8 check, and the state after each primer's
    text-independent prefix."""

    def __init__(self, key):
        self.key = key
        self.fast_steps: dict[tuple[str, str], FastStep] = {}
        self._onnx_step = None
        self.prefixes: OrderedDict = OrderedDict()
        self._int8_ok: bool | None = None

    def fast_step(self, model: HandwritingModel, plan: tuple[str, str]) -> FastStep:
        if plan not in self.fast_steps:
            self.fast_steps[plan] = FastStep(model, plan=plan)
        return self.fast_steps[plan]

    def onnx_step(self, model: HandwritingModel):
        """The ONNX Runtime sessions of the int8 step and read, built at first use (~0.4 s)."""
        if self._onnx_step is None:
            from .onnx_step import OnnxStep
            self._onnx_step = OnnxStep(self.fast_step(model, ("int8", "int8")))
        return self._onnx_step

    def int8_ok(self, model: HandwritingModel) -> bool:
        if self._int8_ok is None:
            try:
                self._int8_ok = int8_error(model) <= INT8_TOLERANCE
            except (RuntimeError, AttributeError):        # no quantized engine
                self._int8_ok = False
        return self._int8_ok


_CACHES: "weakref.WeakKeyDictionary[HandwritingModel, _SamplingCache]" = weakref.WeakKeyDictionary()


def _cache_for(model: HandwritingModel) -> _SamplingCache:
    # the key changes whenever a weight is replaced or updated in place (an optimizer step,
    # load_state_dict, .to()), so a cache never outlives the weights it was built from
    key = tuple((p.data_ptr(), p._version) for p in model.parameters())
    cache = _CACHES.get(model)
    if cache is None or cache.key != key:
        cache = _CACHES[model] = _SamplingCache(key)
    return cache


def _primer_prefix(model: HandwritingModel, strokes: torch.Tensor, p_codes: list[int], cache: _SamplingCache,
                   tail: float | None = None):
    """(state with batch 1, steps read): the primer read up to where a line's text could first matter.

    Every primed line starts by reading the same primer, teacher-forced.  Until the window
    nears the end of the primer's text, the characters after it (the line's own text) get
    no weight (below `tail`; None: PRIMER_TAIL) and the state is the same for every line,
    so that part is read once per primer and weights; only the rest is read per line.
    """
    tail = PRIMER_TAIL if tail is None else tail
    key = (tuple(p_codes), strokes.cpu().numpy().tobytes(), tail)
    if key in cache.prefixes:
        cache.prefixes.move_to_end(key)
        return cache.prefixes[key]
    dev = strokes.device
    P = len(p_codes)
    chars = torch.zeros(1, P + 64, dtype=torch.long, device=dev)   # the primer's text, then room
    chars[0, :P] = torch.tensor(p_codes, device=dev)
    _, phi = model(strokes[None, :-1], chars, return_attention=True)          # (1, T-1, P+64)
    sees_past = phi[0, :, P:].sum(1) > tail
    steps = int(sees_past.float().argmax()) if bool(sees_past.any()) else len(strokes) - 1
    state = model.initial_state(1, device=dev)
    if steps:
        state = model.read(strokes[None, :steps], model.one_hot(chars), _positions(chars.shape[1], dev), state)
    cache.prefixes[key] = (state, steps)
    if len(cache.prefixes) > PRIMERS_KEPT:
        cache.prefixes.popitem(last=False)
    return state, steps


def primer_prefix(model: HandwritingModel, primer: tuple[np.ndarray, list[int]],
                  tail: float | None = None) -> tuple[State, int]:
    """(state with batch 1, points read): the primer (normalised offsets, codes) read up to
    where the window first puts `tail` of its weight past the primer's text (None:
    PRIMER_TAIL, as far as every line's reading of it is the same); cached per primer,
    tail and weights."""
    strokes = torch.from_numpy(np.asarray(primer[0], np.float32)).to(next(model.parameters()).device)
    return _primer_prefix(model, strokes, list(primer[1]), _cache_for(model), tail)


def _positions(n: int, device) -> torch.Tensor:
    return torch.arange(n, dtype=torch.float32, device=device)


DOT_HEIGHT = 0.5         # a delayed stroke is at most this many mean letter widths tall ...
BAR_LENGTH = 1.5         # ... and this long, begins left of the writing's right end, and
BAR_OVERHANG = 1.0       # ... reaches at most this far past it; or it is a descender:
DESCENDER_START = 0.35   # ... begins at most this far right of the end, never moves right,
DESCENDER_DEPTH = 0.8    # ... and ends at least this far below the middle of the writing


def _delayed_strokes(offsets: np.ndarray, written: int, n_chars: int) -> int:
    """How many rows of a line's (T, 3) offsets (in data units, y down) to keep.

    offsets[:written] end with the stroke of the last letter; the strokes after it are
    kept while they look like a delayed part of the last word: small and beginning left of
    where the writing ends (a t's bar, an i's dot, an x's second half), or a descender
    hanging from its right end (the tail of a y or g written as a stroke of its own).  The
    first that does not is the model making up letters after the text.
    """
    pts = np.cumsum(offsets[:, :2], axis=0)
    right = pts[:written, 0].max()
    letter = (right - pts[:written, 0].min()) / max(n_chars, 1)
    middle = float(np.median(pts[:written, 1]))
    ends = np.flatnonzero(offsets[written:, 2] > 0.5) + written
    keep = written
    for end in ends:
        stroke = pts[keep:end + 1]
        x0 = stroke[0, 0]
        small = np.ptp(stroke[:, 1]) <= DOT_HEIGHT * letter and np.ptp(stroke[:, 0]) <= BAR_LENGTH * letter
        within = x0 <= right and stroke[:, 0].max() <= right + BAR_OVERHANG * letter
        descender = (x0 <= right + DESCENDER_START * letter and stroke[:, 0].max() <= x0 + 0.1 * letter
                     and stroke[-1, 1] - middle >= DESCENDER_DEPTH * letter)
        if not ((small and within) or descender):
            break
        keep = end + 1
    return keep


def draw_noise(generator: torch.Generator, batch: int, steps: int) -> torch.Tensor:
    """(batch, steps, 4): uniform (mixture component), two normals (offset), uniform (pen lift)."""
    u = torch.rand(batch, steps, 2, generator=generator)
    z = torch.randn(batch, steps, 2, generator=generator)
    return torch.stack([u[..., 0], z[..., 0], z[..., 1], u[..., 1]], -1)


def sample_point(y: torch.Tensor, noise: torch.Tensor, mixtures: int, bias) -> torch.Tensor:
    """Draw (B, 3) offsets from mixture params y (B, 1+6M) using noise (B, 4); bias is a
    number or a (B,) tensor (a bias per line)."""
    M = mixtures
    y = y.float()
    row_bias = bias.unsqueeze(1) if isinstance(bias, torch.Tensor) else bias     # (B, 1) or a number
    probs = torch.softmax(y[:, 1:1 + M] * (1 + row_bias), dim=-1)
    # the component whose cumulative probability first exceeds the uniform draw
    k = (probs.cumsum(1) < noise[:, :1]).sum(1, keepdim=True).clamp(max=M - 1)
    mx, my, lsx, lsy, rho_hat = y[:, 1 + M:].view(-1, 5, M).gather(2, k.unsqueeze(1).expand(-1, 5, 1)).squeeze(2).unbind(1)
    sx, sy = torch.exp(lsx - bias), torch.exp(lsy - bias)
    rho = torch.tanh(rho_hat)
    dx = mx + sx * noise[:, 1]
    dy = my + sy * (rho * noise[:, 1] + torch.sqrt(1 - rho * rho) * noise[:, 2])
    eos = (noise[:, 3] < torch.sigmoid(y[:, 0])).float()
    return torch.stack([dx, dy, eos], dim=1)


class _OnePoint:
    """`sample_point` for a single line, reading `_OneLine`'s output buffer y (1, 1+6M).

    The same floating-point operations on the same numbers as `sample_point` (so the same
    point), in about half the calls: the mixture component is found as a Python int, the
    five parameters of each component and each step's four draws are views made once,
    and dx and dy are computed as one pair.
    """

    def __init__(self, y, noise, mixtures: int):
        M = mixtures
        self.M, self.pi, self.eos_logit = M, y[:, 1:1 + M], y[:, :1]
        params = y[0, 1 + M:].view(5, M).t()                          # (M, 5): mx, my, lsx, lsy, rho_hat
        self.means, self.log_sigmas = params[:, :2].unbind(0), params[:, 2:4].unbind(0)
        self.rho_hats = params[:, 4:].unbind(0)
        self.uniform, self.z1, self.z2, self.lift = (column.unbind(0) for column in noise[0].t())

    def __call__(self, step: int, bias):
        """(1, 3) offsets drawn with the noise of step `step`; bias a number or a (1,) tensor."""
        row_bias = bias.unsqueeze(1) if isinstance(bias, torch.Tensor) else bias
        probs = torch.softmax(self.pi * (1 + row_bias), dim=-1)
        k = min(int((probs.cumsum(1) < self.uniform[step]).sum()), self.M - 1)
        sigma = torch.exp(self.log_sigmas[k] - bias)                   # (sx, sy)
        rho, z1 = torch.tanh(self.rho_hats[k]), self.z1[step]
        z = torch.cat([z1.view(1), rho * z1 + torch.sqrt(1 - rho * rho) * self.z2[step]])
        eos = (self.lift[step] < torch.sigmoid(self.eos_logit)).float()     # (1, 1)
        return torch.cat([(self.means[k] + sigma * z).view(1, 2), eos], 1)


def sample_lines(model, codes, **kwargs) -> list[SampledLine]:
    """Sample one line of handwriting per code list, all lines as one batch.

    Runs on one CPU thread: a step's operations are too small to gain from more, and
    handing work between threads costs milliseconds per step whenever another process
    is using a core (measured: 0.3 ms/step on one thread vs 12 ms on two, batch 1).
    The setting is torch's, for the whole process: it is put back when the call returns.
    """
    return run_to_end(stream_lines(model, codes, **kwargs, stream=False))


def run_to_end(generator):
    """Drive a generator to its end, dropping what it yields: its return value."""
    while True:
        try:
            next(generator)
        except StopIteration as done:
            return done.value


@dataclass
class Step:
    """What one sampling step drew, for those watching the lines being written (`stream_lines`)."""
    rows: np.ndarray         # (n,) the lines (indices into `codes`) still being written
    offsets: np.ndarray      # (n, 3) each one's new point: normalised (dx, dy, eos)
    drawing: np.ndarray      # (n,) bool: the point is part of the line's text (not the primer's end,
                             # not the made-up letters after the text; `SampledLine` cuts those)


def stream_lines(model, codes, *, stream: bool = True, **kwargs):
    """`sample_lines` as a generator: yields a `Step` per sampling step, and returns the
    list of `SampledLine` (`yield from` gives it).  Same draws, same lines, for the same
    arguments; closing the generator stops the sampling.  stream=False yields nothing.

    torch runs on one thread (see `sample_lines`) until the generator ends, also
    while it is paused between steps.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return (yield from _sample_lines(model, codes, stream=stream, **kwargs))
    finally:
        torch.set_num_threads(threads)


@dataclass
class _Start:
    """What every step reads, and where the lines begin: after the primer, if any."""
    onehot: torch.Tensor       # (B, U, V) the text of each line (primer text + line text)
    positions: torch.Tensor    # (U,)
    lengths: torch.Tensor      # (B,) characters per line, primer text included
    state: State               # after the primer's shared prefix (`_primer_prefix`), if any
    x: torch.Tensor            # (B, 3) the last point of the primer (zeros without one)
    rest: torch.Tensor         # (T, 3) the primer's points still to read (T = 0: none)


def _start(model, codes, primer, cache, dev) -> _Start:
    """Encode the texts and read the shared prefix of the primer, if any."""
    B = len(codes)
    p_codes = list(primer[1]) if primer is not None else []
    full = [p_codes + list(c) for c in codes]
    lengths = torch.tensor([len(c) for c in full], device=dev)
    U = int(lengths.max()) + 1                                   # +1: the position past the end
    chars = torch.zeros(B, U, dtype=torch.long, device=dev)
    for b, c in enumerate(full):
        chars[b, :len(c)] = torch.tensor(c, device=dev)
    onehot = model.one_hot(chars)
    positions = _positions(U, dev)
    if primer is None:
        return _Start(onehot, positions, lengths, model.initial_state(B, device=dev), torch.zeros(B, 3, device=dev),
                      torch.zeros(0, 3, device=dev))
    strokes = torch.from_numpy(np.asarray(primer[0], np.float32)).to(dev)
    prefix, start = _primer_prefix(model, strokes, p_codes, cache)
    state = prefix.index(torch.zeros(B, dtype=torch.long, device=dev))
    return _Start(onehot, positions, lengths, state, strokes[-1].expand(B, 3).clone(), strokes[start:-1])


def _stepper(model, start: _Start, step_fn, fast: bool, B: int, onnx=None):
    """What steps the lines (for a single line where it can: `onnx_step.OnnxLine` when
    `onnx` (an `onnx_step.OnnxStep`) is given, else `_OneLine`; else `_Batch`), once it
    has read the rest of the primer, teacher-forced."""
    state, rest, dev = start.state, start.rest, start.x.device
    one_line = fast and B == 1 and dev.type == "cpu" and step_fn.kind(1) in _OneLine.KINDS
    if one_line and step_fn.kind(1) == "int8":
        # read with int8 products too, point by point: faster than the fp32 sequence read
        # below (the default style: ~150 against ~215 ms); the state then differs by int8 noise
        if onnx is not None:
            one = onnx.line(state, start.onehot, start.positions)
        else:
            one = _OneLine(step_fn, state, start.onehot, start.positions)
        one.read(rest)
        return one
    if len(rest):
        # the whole rest as one sequence; in bf16 where the step's products are (as in
        # training, under autocast)
        in_bf16 = fast and step_fn.uses_bf16(B) and dev.type == "cpu"
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=in_bf16):
            state = model.read(rest[None].expand(B, -1, 3), start.onehot, start.positions, state)
        state = State(*(getattr(state, name).float() for name in State.__slots__))
    return (_OneLine if one_line else _Batch)(step_fn, state, start.onehot, start.positions)


class _Lines:
    """The lines still being written, one row each.

    Every per-line tensor lives here and shrinks together (`keep`) when lines stop, so
    the step loop does no indexing by the set of lines still alive.
    """
    FIELDS = ("rows", "noise", "past_end", "lengths", "caps", "ending", "extra", "written", "look", "tail",
              "pen_up", "written_at", "char_bias")

    def __init__(self, noise, lengths, caps, x, char_bias=None):
        B, dev = len(lengths), lengths.device
        U = int(lengths.max()) + 1
        self.rows = torch.arange(B, device=dev)                  # each row's line in the batch
        self.noise, self.lengths, self.caps = noise, lengths, caps
        self.char_bias = char_bias                               # (B, U) bias added under each character, or None
        self.past_end = torch.arange(U, device=dev).unsqueeze(0) > lengths.unsqueeze(1)   # cells after the end
        self.ending = torch.zeros(B, dtype=torch.bool, device=dev)     # the window has left the text
        self.extra = torch.zeros(B, dtype=torch.long, device=dev)      # steps since then
        self.written = torch.zeros(B, dtype=torch.bool, device=dev)    # ... and its last stroke has ended
        self.look = torch.zeros(B, dtype=torch.long, device=dev)       # steps since then
        self.tail = torch.zeros(B, dtype=torch.long, device=dev)       # strokes ended since then
        self.pen_up = x[:, 2] > 0.5                                      # the last point ended a stroke
        self.written_at = torch.zeros(B, dtype=torch.long, device=dev)  # steps up to the end of the last letter's stroke

        self.padded = bool(self.past_end.any())                 # some line is shorter than another

    def keep(self, keep: torch.Tensor) -> None:
        for name in self.FIELDS:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value[keep])
        self.padded = bool(self.past_end.any())

    def bias(self, bias: float, phi: torch.Tensor):
        """The sampling bias of each line at this step: `bias`, plus the extra bias of the
        characters the window (phi, (B, U)) is on."""
        if self.char_bias is None:
            return bias
        return bias + (phi * self.char_bias).sum(1)              # (B,)


class _Record:
    """What each line wrote, in batch order; steps are copied in from a buffer when lines stop."""

    def __init__(self, B: int, cap: int, U: int, dev):
        self.x = torch.zeros(B, cap, 3, device=dev)
        self.phi = torch.zeros(B, cap, U, device=dev)
        self.n_steps = torch.zeros(B, dtype=torch.long, device=dev)
        self.finished = torch.zeros(B, dtype=torch.bool, device=dev)
        self.left_step = torch.full((B,), -1, dtype=torch.long, device=dev)
        self.written_steps = torch.zeros(B, dtype=torch.long, device=dev)
        self._xs, self._phis, self._start = [], [], 0

    def add(self, x, phi) -> None:
        self._xs.append(x)
        self._phis.append(phi)

    def flush(self, rows, upto: int) -> None:
        """Copy the buffered steps (up to step `upto`) of the lines in `rows` into the record."""
        if self._xs:
            self.x[rows, self._start:upto] = torch.stack(self._xs, 1)
            self.phi[rows, self._start:upto] = torch.stack(self._phis, 1)
            self._xs.clear()
            self._phis.clear()
        self._start = upto

    def stop(self, lines: _Lines, stop, done, step: int) -> None:
        rows = lines.rows
        self.finished[rows[done]] = True
        self.n_steps[rows[stop]] = step + 1
        self.written_steps[rows[stop]] = torch.where(lines.written[stop], lines.written_at[stop], step + 1)

    def cpu(self) -> "_Record":
        for name in ("x", "phi", "n_steps", "finished", "left_step", "written_steps"):
            setattr(self, name, getattr(self, name).cpu())
        return self


def _track_line_ends(lines: _Lines, record: _Record, step: int, left, pen_up, judge_tails: bool):
    """Advance each line's end-of-line state by one step: (done, stop) masks over the rows.

    The letter being written when the window leaves ends at the next pen lift; with the
    pen already up, this step's point would begin a new stroke after the text.  Then a
    few more steps are drawn: the strokes among them that are a delayed part of the
    last word (a t's bar, an i's dot) are kept, the made-up letters that usually follow
    are not (`_delayed_strokes`, once the line is done).
    """
    newly = left & ~lines.ending
    if bool(newly.any()):
        record.left_step[lines.rows[newly]] = step
    early = newly & lines.pen_up & (step > 0)
    lines.ending = lines.ending | left
    lines.extra = lines.extra + lines.ending
    cap_hit = lines.ending & ~lines.written & (lines.extra > END_STEPS)
    now_written = lines.ending & ~lines.written & (pen_up | early | cap_hit)
    lines.written_at = torch.where(now_written, step + 1 - early.long(), lines.written_at)
    looking = lines.written | (now_written & early)
    lines.look = lines.look + looking
    lines.tail = lines.tail + (looking & pen_up)
    lines.written = lines.written | now_written
    done = cap_hit | (lines.written & ((lines.look >= LOOKAHEAD) | (lines.tail >= TAIL_STROKES)))
    if not judge_tails:
        done = done | now_written          # no units to judge delayed strokes in: end here
    stop = done | (lines.caps <= step + 1)
    lines.pen_up = pen_up
    return done, stop


def _finish_line(record: _Record, b: int, P: int, n_chars: int, primed: bool, normalizer) -> SampledLine:
    """Line b's offsets and attention, cut to its own writing: no primer strokes, no made-up tail."""
    n = int(record.n_steps[b])
    offs = np.concatenate([np.zeros((1, 3), np.float32), record.x[b, :n].numpy()])
    phi = record.phi[b, :n, P:P + n_chars].numpy().copy()
    first_row = 0                                          # rows dropped from the front; row k + 1 is step k's point
    if primed and n > 1:
        # Strokes finished before the window reached the new text belong to the primer
        # (the end of its last letter, a dot): drop them.  The line then starts where
        # the first kept stroke starts, not with the pen-up jump that leads to it.
        first_row = 1
        on_text = np.flatnonzero(record.phi[b, :n].argmax(1).numpy() >= P)
        if len(on_text):
            lifts = np.flatnonzero(offs[1:on_text[0] + 1, 2] > 0.5) + 1
            if len(lifts) and lifts[-1] + 1 < len(offs):
                first_row = int(lifts[-1]) + 1
        offs = offs[first_row:]
        offs[0, :2] = 0.0
        phi = phi[first_row:]
    rows = int(record.written_steps[b]) + 1 - first_row       # up to the end of the last letter's stroke
    if normalizer is not None and 1 < rows < len(offs):
        rows = _delayed_strokes(normalizer.denormalize(offs), rows, n_chars)
    offs, phi = offs[:max(rows, 1)], phi[:max(rows, 1) - 1]
    offs[-1, 2] = 1.0                                         # the pen lifts at the end
    k = int(record.left_step[b])
    left_row = k + 1 - first_row if 0 <= k < n else None
    drawn = record.x[b, :first_row + len(offs) - 1].numpy().copy()
    if len(drawn):
        drawn[-1, 2] = 1.0                                    # the pen lifts at the end, as in offs
    drawn_on = record.phi[b, :len(drawn)].argmax(1).numpy() - P
    drawn_on[drawn_on < 0] = -1
    return SampledLine(offs, phi, bool(record.finished[b]), left_row, drawn, drawn_on)


def _char_bias(char_bias, codes, P: int, U: int, dev):
    """(B, U) extra bias per text position (the primer's positions get none), or None."""
    if char_bias is None or not any(b is not None and np.any(b) for b in char_bias):
        return None
    if len(char_bias) != len(codes):
        raise ValueError(f"char_bias needs one entry per line: {len(char_bias)} for {len(codes)} lines")
    out = torch.zeros(len(codes), U)
    for b, (extra, line) in enumerate(zip(char_bias, codes)):
        if extra is None:
            continue
        extra = torch.as_tensor(np.asarray(extra, np.float32))
        if extra.shape != (len(line),):
            raise ValueError(f"char_bias of line {b} needs one number per character: {tuple(extra.shape)} for {len(line)}")
        out[b, P:P + len(line)] = extra
    return out.to(dev)


def _step(lines: _Lines, x, phi, P: int) -> Step:
    drawing = ~lines.written
    if P:
        drawing = drawing & (phi.argmax(dim=1) >= P)     # the window has reached the line's own text
    return Step(lines.rows.cpu().numpy(), x.cpu().numpy(), drawing.cpu().numpy())


def _point_drawer(stepper, x, noise, bias: float, lines: _Lines, mixtures: int):
    """advance(step, x) -> (the next points (B, 3), phi (B, U)): a step of the network and
    the drawing of its points, in the way the stepper allows."""
    if hasattr(stepper, "points"):            # onnx-int8: the step and its point in one ONNX Runtime call
        points = stepper.points(x, noise, bias, lines.char_bias)
        return lambda step, x: points(step)
    one_point = None if isinstance(stepper, _Batch) else _OnePoint(stepper.y, noise, mixtures)

    def advance(step: int, x):
        y, phi = stepper(x)
        line_bias = lines.bias(bias, phi)
        if one_point is not None:
            return one_point(step, line_bias), phi
        return sample_point(y, lines.noise[:, step], mixtures, line_bias), phi
    return advance


@torch.inference_mode()
def _sample_lines(model: HandwritingModel, codes: list[list[int]], *, bias: float = 0.75,
                  seed: int | None = None, primer: tuple[np.ndarray, list[int]] | None = None,
                  max_steps: int | None = None, fast: bool = True, precision: str = "auto",
                  normalizer=None, char_bias: list | None = None, stream: bool = False):
    """See `sample_lines`; a generator (of a `Step` per step when `stream`) returning its lines.

    primer: (normalised offsets (T, 3), codes of the primer's text + " "); the network
    reads them first and each line's text is then primer text + " " + line text.
    fast=False uses the plain `HandwritingModel.step` (for tests and benchmarks).
    precision: "fp32", "bf16", "int8" (the large products of the fast step) or "auto" (the
    kind this CPU runs fastest, measured at first use: `step_plan`); see `FastStep`.
    "onnx-int8": int8, and a single line on the CPU runs each step as one ONNX Runtime
    call (`onnx_step`; needs onnx and onnxruntime).
    normalizer: the weights' `Normalizer`, so the end-of-line rule measures the writing in
    the data's units (without it, normalised offsets stand in for them).
    char_bias: per line, one number per character of its text (or None): extra bias while
    the window is on that character (the writer steadies capitals with it).
    """
    if not codes or any(len(c) == 0 for c in codes):
        raise ValueError("every line needs at least one character")
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)))
    generator = torch.Generator().manual_seed(int(seed))
    dev = next(model.parameters()).device                       # CPU, or a GPU the Writer was put on
    cache = _cache_for(model)
    B = len(codes)
    if fast:
        plan = step_plan(precision, dev, lines=B, int8_ok=lambda: cache.int8_ok(model), shape=layer_shape(model))
        step_fn = cache.fast_step(model, plan)
    else:
        step_fn = model.step
    onnx = cache.onnx_step(model) if fast and precision == ONNX and B == 1 else None    # step_plan: a CPU
    P = len(primer[1]) if primer is not None else 0

    # ---- 1. the texts, and the primer read ----
    start = _start(model, codes, primer, cache, dev)
    stepper = _stepper(model, start, step_fn, fast, B, onnx)    # reads the rest of the primer
    x = start.x
    line_lengths = start.lengths - P
    caps = (line_lengths * STEPS_PER_CHAR).clamp(min=MIN_STEPS)
    if max_steps is not None:
        caps = caps.clamp(max=max(1, int(max_steps)))
    cap = int(caps.max())
    noise = draw_noise(generator, B, cap).to(dev)                # drawn on the CPU: same strokes anywhere

    # ---- 2. step by step until every line has stopped ----
    lines = _Lines(noise, start.lengths, caps, x, _char_bias(char_bias, codes, P, start.onehot.shape[1], dev))
    record = _Record(B, cap, start.onehot.shape[1], dev)
    advance = _point_drawer(stepper, x, noise, bias, lines, model.config.output_mixtures)
    any_ending, min_cap = False, int(caps.min())              # lets most steps skip the end checks
    for step in range(cap):
        x, phi = advance(step, x)
        record.add(x, phi)
        # the window has left the text when it weighs the position past the end the most
        left = (phi.masked_fill(lines.past_end, -1.0) if lines.padded else phi).argmax(dim=1) == lines.lengths
        pen_up = x[:, 2] > 0.5
        if not any_ending and step + 1 < min_cap and not bool(left.any()):
            lines.pen_up = pen_up                  # the common step: every line still mid-text
            if stream:
                yield _step(lines, x, phi, P)
            continue
        done, stop = _track_line_ends(lines, record, step, left, pen_up, judge_tails=normalizer is not None)
        any_ending = True
        if stream:
            yield _step(lines, x, phi, P)
        if stop.any():
            record.flush(lines.rows, step + 1)
            record.stop(lines, stop, done, step)
            keep = (~stop).nonzero().squeeze(1)
            lines.keep(keep)
            if not len(lines.rows):
                break
            stepper.keep(keep)
            x = x[keep]
            any_ending, min_cap = bool(lines.ending.any()), int(lines.caps.min())

    # ---- 3. each line cut to its own writing ----
    record.cpu()
    line_lengths = line_lengths.cpu()
    return [_finish_line(record, b, P, int(line_lengths[b]), primer is not None, normalizer) for b in range(B)]
