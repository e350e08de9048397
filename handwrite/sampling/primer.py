"""What sampling reuses between calls on the same weights (`_SamplingCache`), and where
lines start: the texts encoded and the primer's shared prefix read (`_start`)."""
from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from ..model import HandwritingModel, State
from .kernels import FastStep
from .products import INT8_TOLERANCE, int8_error

PRIMER_TAIL = 1e-6       # window weight past a primer's text below which no line text can matter
PRIMERS_KEPT = 8         # primer prefixes kept per model


class _SamplingCache:
    """What sampling can reuse between calls on the same weights: the fused steps (per
    plan of products), whether the weights pass the int8 check, the ONNX sessions, and
    the state after each primer's text-independent prefix."""

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
        """The ONNX Runtime sessions of the int8 step and read, built at first use."""
        if self._onnx_step is None:
            from ..onnx_step import OnnxStep
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


@dataclass
class _Start:
    """What every step reads, and where the lines begin: after the primer, if any."""
    onehot: torch.Tensor       # (B, U, V) the text of each line (primer text + line text)
    positions: torch.Tensor    # (U,)
    lengths: torch.Tensor      # (B,) characters per line, primer text included
    state: State               # after the primer's shared prefix (`_primer_prefix`), if any
    x: torch.Tensor            # (B, 3) the last point of the primer (zeros without one)
    rest: torch.Tensor         # (T, 3) the primer's points still to read (T = 0: none)


def _texts(model, codes, p_codes, dev):
    """(onehot (B, U, V), positions (U,), lengths (B,)) of primer text + each line's text."""
    full = [p_codes + list(c) for c in codes]
    lengths = torch.tensor([len(c) for c in full], device=dev)
    U = int(lengths.max()) + 1                                   # +1: the position past the end
    chars = torch.zeros(len(codes), U, dtype=torch.long, device=dev)
    for b, c in enumerate(full):
        chars[b, :len(c)] = torch.tensor(c, device=dev)
    return model.one_hot(chars), _positions(U, dev), lengths


def _start(model, codes, primer, cache, dev, resume=None) -> _Start:
    """Encode the texts and read the shared prefix of the primer, if any; or, with resume
    (a `finish.Resume` per line), go on from where each line's last part ended."""
    B = len(codes)
    p_codes = list(primer[1]) if primer is not None else []
    onehot, positions, lengths = _texts(model, codes, p_codes, dev)
    nothing = torch.zeros(0, 3, device=dev)
    if resume is not None:
        state = State(*(torch.cat([getattr(r.state, n) for r in resume]).to(dev) for n in State.__slots__))
        return _Start(onehot, positions, lengths, state, torch.cat([r.x for r in resume]).to(dev), nothing)
    if primer is None:
        return _Start(onehot, positions, lengths, model.initial_state(B, device=dev), torch.zeros(B, 3, device=dev),
                      nothing)
    strokes = torch.from_numpy(np.asarray(primer[0], np.float32)).to(dev)
    prefix, start = _primer_prefix(model, strokes, p_codes, cache)
    state = prefix.index(torch.zeros(B, dtype=torch.long, device=dev))
    return _Start(onehot, positions, lengths, state, strokes[-1].expand(B, 3).clone(), strokes[start:-1])
