"""The torch kernels of a sampling step: the fused step (`FastStep`) and the steppers
built on it (`_Batch` for any batch, `_OneLine` for one line on buffers).

Each implements `stepper.Stepper`; `registry.KERNELS` says which one a precision uses.
"""
from __future__ import annotations

import torch

from ..mixture import attention_window
from ..model import HandwritingModel, State
from .points import _OnePoint
from .products import KINDS, _Fp16Products, _Int8Products, _Products
from .stepper import Stepper, draw_batch


class FastStep:
    """The network's step with each layer's weights fused into one matrix.

    Same maths as `HandwritingModel.step` (the plain version), in about a third of the
    operations: one matrix product per layer on [inputs, hidden] instead of two, one
    sigmoid over all gates.  plan: the products' kind (`KINDS`) for one line, and for
    batches of 2+ lines (bf16 pays for batches on CPUs with bf16 instructions, int8 on CPUs
    with VNNI: `plan.auto_plan`).  int8_reduce_range: `_Int8Products`' reduce_range (None:
    as this CPU needs).  The state stays fp32.
    """

    def __init__(self, model: HandwritingModel, plan: tuple[str, str] = ("fp32", "fp32"),
                 int8_reduce_range: bool | None = None):
        c = model.config
        self.H, self.K, self.kappa_step = c.hidden, c.window_mixtures, c.kappa_step
        if any(kind not in KINDS for kind in plan):
            raise ValueError(f"plan must name {', '.join(KINDS)}; got {plan!r}")
        self.plan, self.int8_reduce_range = tuple(plan), int8_reduce_range
        self.fp32 = _Products(model)
        self.products = {"fp32": self.fp32}
        if "bf16" in plan:
            self.products["bf16"] = self.fp32.to(torch.bfloat16)
        if "fp16" in plan:
            self.products["fp16"] = _Fp16Products(self.fp32)
        if "int8" in plan:
            self.products["int8"] = _Int8Products(self.fp32, int8_reduce_range)
        with torch.no_grad():
            self.wa, self.ba = model.attention.weight.t().contiguous(), model.attention.bias.contiguous()

    def _cell(self, gates, c):
        H = self.H
        s = torch.sigmoid(gates)
        c = s[:, H:2 * H] * c + s[:, :H] * torch.tanh(gates[:, 2 * H:3 * H])
        return s[:, 3 * H:] * torch.tanh(c), c

    def int8_products(self) -> _Int8Products:
        """Its int8 products, made now if its plan has none (onnx_step's int8 graph reads them)."""
        if "int8" not in self.products:
            self.products["int8"] = _Int8Products(self.fp32, self.int8_reduce_range)
        return self.products["int8"]

    def kind(self, batch: int) -> str:
        return self.plan[batch > 1]

    def uses_bf16(self, batch: int) -> bool:
        return self.kind(batch) == "bf16"

    def __call__(self, x, state: State, onehot, positions):
        """x (B, 3), state, onehot (B, U, V), positions (U,) -> y (B, 1+6M), new state, phi (B, U)."""
        state, phi = self.layers(x, state, onehot, positions)
        return self.products[self.plan[x.shape[0] > 1]].output(state.h1, state.h2, state.h3), state, phi

    def layers(self, x, state: State, onehot, positions) -> tuple[State, torch.Tensor]:
        """The step without its output layer (reading a primer needs no mixture): new state, phi (B, U)."""
        p = self.products[self.plan[x.shape[0] > 1]]
        h1, c1 = self._cell(p.gates(0, x, state.window, state.h1), state.c1)
        logits = torch.addmm(self.ba, h1, self.wa)                            # the window stays fp32
        window, kappa, phi = attention_window(logits, state.kappa, self.kappa_step, onehot, positions)
        h2, c2 = self._cell(p.gates(1, x, h1, window, state.h2), state.c2)
        h3, c3 = self._cell(p.gates(2, x, h2, window, state.h3), state.c3)
        return State(h1, c1, h2, c2, h3, c3, kappa, window), phi


class _Batch(Stepper):
    """Steps a batch of lines with a step function (`FastStep` or the plain
    `HandwritingModel.step`): holds the lines' state and texts, and drops stopped lines.

    A primer is read as one sequence (`HandwritingModel.read`: layers 2-3 over all its
    points at once), under bf16 autocast when bf16_read (as in training); or, where the
    batch steps in int8, point by point with the int8 step (as `_OneLine` reads): fewer
    operations than the sequence's fp32 products.
    """

    def __init__(self, step_fn, model: HandwritingModel, state: State, onehot, positions, bf16_read: bool = False):
        self.step_fn, self.model, self.state, self.onehot, self.positions = step_fn, model, state, onehot, positions
        self.bf16_read = bf16_read

    def __call__(self, x):
        """x (B, 3), the last point -> mixture params (B, 1+6M), phi (B, U)."""
        y, self.state, phi = self.step_fn(x, self.state, self.onehot, self.positions)
        return y, phi

    def read(self, strokes) -> None:
        if not len(strokes):
            return
        B = self.onehot.shape[0]
        if isinstance(self.step_fn, FastStep) and self.step_fn.kind(B) == "int8":
            for x in strokes[:, None].expand(-1, B, 3).unbind(0):              # (B, 3) per point
                self.state, _ = self.step_fn.layers(x, self.state, self.onehot, self.positions)
            return
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16_read):
            state = self.model.read(strokes[None].expand(B, -1, 3), self.onehot, self.positions, self.state)
        self.state = State(*(getattr(state, name).float() for name in State.__slots__))

    def keep(self, rows) -> "_Batch":
        self.state, self.onehot = self.state.index(rows), self.onehot[rows]
        return self

    def state_of(self, rows) -> State:
        return self.state.index(rows)          # a LongTensor index copies

    def drawer(self, x, lines, bias: float, mixtures: int):
        return draw_batch(self, lines, bias, mixtures)


class _OneLine(Stepper):
    """`FastStep` for a single line (fp32 or int8 products), on buffers made once per line.

    At one line each torch call costs a few microseconds whatever its size, and the ~70
    small operations of a step (gates, window, slices of each) cost more than its matrix
    products.  Here every intermediate has a buffer, every slice of one is a view made
    once, and the state is updated in place: the same operations on the same numbers as
    `FastStep` (so the same floats), in about 45 calls that allocate almost nothing.

    A primer is read with the int8 step point by point (int8 products), else as one
    sequence in fp32 (`HandwritingModel.read`, as `_Batch`).
    """

    KINDS = ("fp32", "int8")

    def __init__(self, fast: FastStep, model: HandwritingModel, state: State, onehot, positions):
        H, K, U = fast.H, fast.K, positions.shape[0]
        self.fast, self.model, self.int8 = fast, model, fast.kind(1) == "int8"
        self.p = fast.products[fast.kind(1)]
        self.onehot, self.positions = onehot, positions
        # the state, copied (it is updated in place; a primer's cached state is shared)
        self.h = [state.h1.clone(), state.h2.clone(), state.h3.clone()]
        self.c = [state.c1.clone(), state.c2.clone(), state.c3.clone()]
        self.kappa, self.window = state.kappa.clone(), state.window.clone()
        self._buffers(H, K, U)

    def _buffers(self, H: int, K: int, U: int) -> None:
        # gates and their sigmoids, one layer at a time: views of the parts the cell reads
        self.gates, self.s, self.tg = torch.empty(1, 4 * H), torch.empty(1, 4 * H), torch.empty(1, H)
        self.g = self.gates[:, 2 * H:3 * H]
        self.i, self.f, self.o = self.s[:, :H], self.s[:, H:2 * H], self.s[:, 3 * H:]
        # each layer's input, as FastStep concatenates it: [x, ...]; for an int8 layer the
        # hidden states, and [x, window] for the fp32 rows (a layer kept out of int8 makes its own)
        V = self.window.shape[1]
        widths = (3 + V + H, 3 + 2 * H + V, 3 + 2 * H + V)
        if self.int8:
            self.inputs = [None if layer is None else torch.empty(1, n - 3 - V) for n, layer in zip(widths, self.p.layers)]
            self.pen_window = torch.empty(1, 3 + V)
        else:
            self.inputs = [torch.empty(1, n) for n in widths]
        self.hs = torch.empty(1, 3 * H)                                  # [h1, h2, h3] for the output layer
        self.y = torch.empty(1, self.p.wo.shape[1])
        # the window (`mixture.attention_window` in place): alpha and beta (each (1, K, 1)),
        # kappa as a column, (1, K, U) terms
        self.abk, self.ab = torch.empty(1, 3 * K), torch.empty(1, 2 * K)
        self.ab_part, self.k_part = self.abk[:, :2 * K], self.abk[:, 2 * K:]
        self.alpha, self.beta = self.ab[:, :K].unsqueeze(-1), self.ab[:, K:].unsqueeze(-1)
        self.neg_beta, self.terms = torch.empty(1, K, 1), torch.empty(1, K, U)
        self.kappa_col, self.window3 = self.kappa.unsqueeze(-1), self.window.unsqueeze(1)

    def _gates(self, layer: int, x, *rest):
        """Layer `layer`'s gates into self.gates, as `_Products.gates` / `_Int8Products.gates`."""
        inputs, weights = self.inputs[layer], self.p.layers[layer]
        if self.int8 and weights is None:             # a layer kept out of int8 (INT8_LAYERS)
            self.gates.copy_(self.p.dense.gates(layer, x, *rest))
        elif self.int8:
            hidden, window = weights.split(rest)
            torch.cat(hidden, 1, out=inputs)
            torch.cat([x, window], 1, out=self.pen_window)
            torch.addmm(self.p.linear(inputs, weights.packed, self.p.reduce_range), self.pen_window, weights.w_fp,
                        out=self.gates)
        else:
            w, b = weights
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

    def state(self) -> State:
        """The current state (views of the buffers)."""
        return State(self.h[0], self.c[0], self.h[1], self.c[1], self.h[2], self.c[2], self.kappa, self.window)

    def read(self, strokes) -> None:
        """Teacher-force the points strokes (T, 3) (a primer): the state after the last."""
        if self.int8:
            for x in strokes[None].unbind(1):
                self._layers(x)
            return
        if not len(strokes):
            return
        buffers = self.state()
        read = self.model.read(strokes[None], self.onehot, self.positions, buffers)
        for name in State.__slots__:
            getattr(buffers, name).copy_(getattr(read, name))

    def state_of(self, rows) -> State:
        return self.state().index(rows)        # a copy, not views of the buffers

    def keep(self, rows) -> Stepper:
        if rows.numel() == 1 and int(rows[0]) == 0:
            return self
        return _Batch(self.fast, self.model, self.state().index(rows), self.onehot[rows], self.positions,
                      bf16_read=self.fast.uses_bf16(rows.numel()))

    def drawer(self, x, lines, bias: float, mixtures: int):
        one_point = _OnePoint(self.y, lines.noise, mixtures)

        def advance(step: int, x):
            _, phi = self(x)
            return one_point(step, lines.bias(bias, phi)), phi
        return advance
