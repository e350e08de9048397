"""The weights of a step's large matrix products, in fp32, bf16, fp16 or int8.

Each LSTM layer's two matrices are fused into one (in, out) matrix, so that a layer is
one product on [pen input, *other inputs, own h] per step.  int8 keeps the pen input's
and the window's rows in fp32 (see `_Int8Products`).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import torch

from .. import cpu
from ..model import HandwritingModel

KINDS = ("fp32", "bf16", "fp16", "int8")     # what a step's large products can run in

# where the window is among each layer's inputs after the pen's (FastStep: layer 1 reads
# [window, h1], layers 2-3 [the layer below, window, own h]), counted in hidden-state widths
WINDOW_AT = (0, 1, 1)


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


# which of the three LSTM layers run int8 products: not the first, which alone drives the
# attention window; a line written alone misspelt more words with it in int8 (docs/speed.md,
# session 27)
INT8_LAYERS = (False, True, True)


class _Int8Products:
    """The LSTM layers' products with int8 weights (PyTorch's dynamic quantized linear op,
    fbgemm/oneDNN: activations quantized per call, int32 accumulation, fp32 out), for the
    layers INT8_LAYERS names; the others (`layers[i]` None) run `dense`: fp16 weights where
    torch has them, fp32 otherwise.

    Only the hidden states' rows are int8: their activations lie in [-1, 1], so one scale
    per call fits them all.  The pen input's three rows (an offset can be far larger) and
    the window's (a sum of one-hot rows weighted by the attention, often above 1) stay
    fp32, since either would coarsen the scale of the whole product (with the window in
    int8 too, lines read worse: docs/speed.md).  The small output layer stays fp32 (the
    mixture parameters are sampled from directly), and so does the state.

    reduce_range: quantize the activations to 7 bits (fbgemm's default), which keeps its
    int16 sums from saturating on CPUs without VNNI; with VNNI the sums are int32 and 8
    bits read better (docs/speed.md).  None: as this CPU needs (`cpu.int8_reduce_range`).
    layers: an `_Int8Layer` per int8 layer, None for an fp32 one.
    """

    dtype = torch.float32

    def __init__(self, fp32: _Products, reduce_range: bool | None = None):
        self.reduce_range = cpu.int8_reduce_range() if reduce_range is None else bool(reduce_range)
        V = fp32.w1.shape[0] - 3 - fp32.w2.shape[1] // 4          # layer 1's rows: pen, window, h1
        layers = []
        with torch.no_grad():
            for window_at, (w, b), int8 in zip(WINDOW_AT, fp32.layers, INT8_LAYERS):
                start = 3 + window_at * (w.shape[1] // 4)          # the inputs before it are hidden states
                w_fp = torch.cat([w[:3], w[start:start + V]]).contiguous()
                hidden = torch.cat([w[3:start], w[start + V:]]).contiguous()
                layers.append(_Int8Layer(w_fp, _int8_linear(hidden, b), window_at) if int8 else None)
        self.layers = tuple(layers)
        # the layers kept out of int8: fbgemm's fp16 weights where torch has them (the
        # bundled weights are fp16: nothing rounds, and a batch's product costs less)
        dense = tuple(not int8 for int8 in INT8_LAYERS)
        self.dense = _Fp16Products(fp32, dense) if fp16_available() else fp32
        self.wo, self.bo = fp32.wo, fp32.bo
        # the overload itself: calling the packet runs Python checks on every call
        self.linear = torch.ops.quantized.linear_dynamic.default

    def gates(self, layer: int, x, *rest):
        weights = self.layers[layer]
        if weights is None:
            return self.dense.gates(layer, x, *rest)
        hidden, window = weights.split(rest)
        inputs = torch.cat(hidden, 1) if len(hidden) > 1 else hidden[0]
        return torch.addmm(self.linear(inputs, weights.packed, self.reduce_range), torch.cat([x, window], 1),
                           weights.w_fp)

    output = _Products.output


class _Fp16Products:
    """The LSTM layers' products with fp16 weights (fbgemm's dynamic fp16 linear op:
    the weights stored in half precision, fp32 inputs, sums and outputs).

    On the AVX2 EPYC a few rows' fp32 products ran at a fraction of the CPU's speed while
    fbgemm's fp16 kernel, made for small batches, reads half the bytes (docs/speed.md).
    Weights shipped in fp16 (the bundled ones) lose nothing: the gates differ from fp32's by
    the order of the sums only.  The small output layer stays fp32, as for int8."""

    dtype = torch.float32

    def __init__(self, fp32: _Products, layers: tuple[bool, ...] = (True, True, True)):
        """layers: which of the three to pack (the others stay None)."""
        with torch.no_grad():
            self.layers = tuple(torch.ops.quantized.linear_prepack_fp16(w.t().contiguous(), b.contiguous())
                                if packed else None for (w, b), packed in zip(fp32.layers, layers))
        self.wo, self.bo = fp32.wo, fp32.bo
        self.linear = torch.ops.quantized.linear_dynamic_fp16.default

    def gates(self, layer: int, x, *rest):
        return self.linear(torch.cat([x, *rest], 1), self.layers[layer])

    output = _Products.output


@functools.cache
def fp16_available() -> bool:
    """Whether this torch has fbgemm's fp16 linear op (x86 builds do; others may not)."""
    try:
        packed = torch.ops.quantized.linear_prepack_fp16(torch.ones(8, 8), torch.zeros(8))
        return bool(torch.ops.quantized.linear_dynamic_fp16(torch.ones(2, 8), packed).sum() == 128)
    except (RuntimeError, AttributeError, NotImplementedError):
        return False


INT8_TOLERANCE = 0.03    # int8 gates' rms error over the fp32 gates' spread, on probe inputs (bundled weights: ~0.01)


def probe_inputs(layer: int, H: int, V: int, rows: int = 1, generator=None) -> list[torch.Tensor]:
    """Made-up inputs of layer `layer` after the pen's, in FastStep's order (WINDOW_AT):
    hidden states (rows, H) in [-1, 1] and a window (rows, V) of one-hot-like weights."""
    hidden = [torch.rand(rows, H, generator=generator) * 2 - 1 for _ in range(1 if layer == 0 else 2)]
    window = torch.rand(rows, V, generator=generator).pow(8) * 1.5     # mostly near 0, a few near 1
    return hidden[:WINDOW_AT[layer]] + [window] + hidden[WINDOW_AT[layer]:]


def int8_error(model: HandwritingModel, reduce_range: bool | None = None) -> float:
    """How far the int8 products of this model's weights are from fp32, on probe inputs:
    the largest over the layers of the gates' rms error over their standard deviation.

    The probe (seeded) is what a step feeds a layer: hidden states in [-1, 1], a window
    of one-hot-like weights, small pen offsets.
    """
    fp32 = _Products(model)
    int8 = _Int8Products(fp32, reduce_range)
    g = torch.Generator().manual_seed(0)
    worst = 0.0
    with torch.inference_mode():
        for layer in range(3):
            x = torch.randn(8, 3, generator=g) * 0.5
            rest = probe_inputs(layer, model.config.hidden, model.config.alphabet_size, rows=8, generator=g)
            ref, got = fp32.gates(layer, x, *rest), int8.gates(layer, x, *rest)
            worst = max(worst, float((got - ref).pow(2).mean().sqrt() / ref.std().clamp(min=1e-6)))
    return worst
