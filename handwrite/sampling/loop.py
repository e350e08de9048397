"""The sampling loop: step every line, draw its points, stop lines as they end.

`sample_lines` (all at once) and `stream_lines` (a `Step` per step) are the public
entries; `_sample_lines` is the loop, kernel-agnostic: the kernel comes from
`registry.KERNELS` through the plan, and is used only through `stepper.Stepper`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..model import HandwritingModel
from .finish import Resume, SampledLine, _finish_line, _word_part
from .plan import PLAIN, step_plan
from .points import draw_noise
from .primer import _cache_for, _start
from .registry import stepper_for
from .stopping import MIN_STEPS, STEPS_PER_CHAR, _Lines, _track_line_ends


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
        self.ends = {}          # line -> finish.Resume where a line stopped at its mark (`until`)

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

    def cut(self, rows, marks) -> None:
        """Lines `rows` stopped at their mark: they end at its pen lift, where their part resumes."""
        for b in rows.tolist():
            step, end = marks.found[b][-1]
            self.n_steps[b] = step + 1
            self.ends[b] = end

    def cpu(self) -> "_Record":
        for name in ("x", "phi", "n_steps", "finished", "left_step", "written_steps"):
            setattr(self, name, getattr(self, name).cpu())
        return self


class _Marks:
    """Where each line's words begin (marks: the positions of the spaces after its words),
    found as it is written.

    A new word begins with the first stroke that starts right of all the ink so far while
    the window is on the space after the word before (or past it): a gap, where the
    writer moved on.  Dots and bars, drawn back over a word, and the window's running
    ahead of the pen in short words do not make one.  The line's part before it ends at
    the pen lift just before that stroke; the mark is that point: its row, the network's
    state there and the point (a `finish.Resume`), to write the word again from.  Lines
    in `stop` stop at their first mark (a part written `until` a word).

    The bookkeeping is a few numbers per line, in Python lists: a step's torch or NumPy
    operations on arrays this small cost more than the arithmetic.  The pen's x is summed
    in float32 (NumPy scalars), as the network's offsets are."""

    def __init__(self, marks: list[list[int]], P: int, x, stop: list[bool], normalizer=None):
        B = len(marks)
        self.pos = [[P + int(k) for k in m] for m in marks]     # per line, where its next words begin
        self.next = [0] * B
        self.lifted_before = [v > 0.5 for v in x[:, 2].tolist()]   # the last point drawn ended a stroke
        self.scale = (np.float32(1.0), np.float32(0.0)) if normalizer is None else \
            (np.float32(normalizer.std[0]), np.float32(normalizer.mean[0]))
        self.x = [np.float32(0.0)] * B                          # the pen's x (data units), from where it started
        self.right = [np.float32(-np.inf)] * B                  # the ink's right edge
        self.stop = [bool(s) for s in stop]
        self.lift = {}          # line -> (step, states, row in states, point) at its latest pen lift
        self.found = {b: [] for b in range(B)}          # line -> [(step, Resume), ...]

    def update(self, rows, step: int, phi, x, stepper) -> torch.Tensor | None:
        """After a step: marks found; (n,) bool over the rows, the lines to stop here
        (their last point, this step's, is not theirs), or None when none stops."""
        scale, shift = self.scale
        starts, lifted = [], []            # row indices: a stroke begun right of the ink; a pen lift
        lines = rows.tolist()
        for i, (b, (dx, _, eos)) in enumerate(zip(lines, x.tolist())):
            pen = self.x[b] + (np.float32(dx) * scale + shift)
            self.x[b] = pen
            if pen > self.right[b]:
                if self.lifted_before[b]:
                    starts.append(i)
                self.right[b] = pen
            self.lifted_before[b] = eos > 0.5
            if eos > 0.5:
                lifted.append(i)
        stop = None
        if starts:
            # a word begins there only once the window is on the space after the word before
            at = phi[starts].argmax(dim=1).tolist()
            for i, a in zip(starts, at):
                b = lines[i]
                if self.next[b] >= len(self.pos[b]) or a < self.pos[b][self.next[b]]:
                    continue
                if b in self.lift:
                    lift_step, states, k, last_point = self.lift[b]
                    self.found[b].append((lift_step, Resume(states.index(torch.tensor([k])), last_point)))
                    if self.stop[b]:
                        stop = [False] * len(lines) if stop is None else stop
                        stop[i] = True
                self.next[b] += 1
        if lifted:
            # a copy of the lifted rows' state, shared: a row's own copy is made only for
            # the few lifts that turn out to end a word (most lift inside one)
            index = torch.tensor(lifted, device=x.device)
            states, points = stepper.state_of(index), x[index].clone()
            for k, i in enumerate(lifted):
                self.lift[lines[i]] = (step, states, k, points[k:k + 1])
        return None if stop is None else torch.tensor(stop, device=x.device)


@dataclass
class Step:
    """What one sampling step drew, for those watching the lines being written (`stream_lines`)."""
    rows: np.ndarray         # (n,) the lines (indices into `codes`) still being written
    offsets: np.ndarray      # (n, 3) each one's new point: normalised (dx, dy, eos)
    drawing: np.ndarray      # (n,) bool: the point is part of the line's text (not the primer's end,
                             # not the made-up letters after the text; `SampledLine` cuts those)


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


def _plan(model, precision: str, fast: bool, dev, lines: int, cache) -> tuple[str, str]:
    if not fast:
        return (PLAIN, PLAIN)
    return step_plan(precision, dev, lines=lines, int8_ok=lambda: cache.int8_ok(model), hidden=model.config.hidden)


@torch.inference_mode()
def _sample_lines(model: HandwritingModel, codes: list[list[int]], *, bias: float = 0.75,
                  seed: int | None = None, primer: tuple[np.ndarray, list[int]] | None = None,
                  max_steps: int | None = None, fast: bool = True, precision: str = "auto",
                  normalizer=None, char_bias: list | None = None, stream: bool = False,
                  resume: list | None = None, until: list | None = None, marks: list | None = None):
    """See `sample_lines`; a generator (of a `Step` per step when `stream`) returning its lines.

    primer: (normalised offsets (T, 3), codes of the primer's text + " "); the network
    reads them first and each line's text is then primer text + " " + line text.
    fast=False uses the plain `HandwritingModel.step` (for tests and benchmarks).
    precision: a name of `choices.PRECISIONS`: "fp32", "bf16", "int8" (what the fused
    step's large products run in), "onnx-int8" (int8, a single line's step as one ONNX
    Runtime call; needs onnx and onnxruntime), "auto" (by the CPU's kind: `plan`) or
    "fastest" (auto, with onnx-int8 for one line where installed and int8 batches on AVX2).
    normalizer: the weights' `Normalizer`, so the end-of-line rule measures the writing in
    the data's units (without it, normalised offsets stand in for them).
    char_bias: per line, one number per character of its text (or None): extra bias while
    the window is on that character (the writer steadies capitals with it).
    until: per line, None or the index in its text of the space after a word: the line stops
    at the pen lift before the next word's first stroke (`_Marks`), every point up to it
    kept, with where it ended (`SampledLine.resume`).
    resume: per line, a `finish.Resume` to go on from (a part that stopped `until` a word)
    instead of the start; the primer is not read again, its text still comes first.
    marks: per line, positions in its text (the spaces after its words): `SampledLine.marks`
    says where the next words began, and the state there, so that a word can be written again.
    """
    if not codes or any(len(c) == 0 for c in codes):
        raise ValueError("every line needs at least one character")
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)))
    generator = torch.Generator().manual_seed(int(seed))
    dev = next(model.parameters()).device                       # CPU, or a GPU the Writer was put on
    cache = _cache_for(model)
    plan = _plan(model, precision, fast, dev, len(codes), cache)
    P = len(primer[1]) if primer is not None else 0

    # ---- 1. the texts, and the primer read (or where each line's last part ended) ----
    start = _start(model, codes, primer, cache, dev, resume)
    stepper = stepper_for(model, cache, plan, start)
    begins = _line_starts(stepper, start.x) if marks is not None else None     # to write a first word again from
    lines, record = _lines_for(start, P, generator, max_steps, _char_bias(char_bias, codes, P, start.onehot.shape[1], dev),
                               until)

    # ---- 2. step by step until every line has stopped ----
    found = None
    if marks is not None or until is not None:
        stops = [u is not None for u in until] if until is not None else [False] * len(codes)
        positions = [[u] if u is not None else [] for u in until] if until is not None else marks
        found = _Marks(positions, P, start.x, stops, normalizer)
    yield from _steps(stepper, start.x, lines, record, bias, model.config.output_mixtures, P,
                      judge_tails=normalizer is not None, stream=stream, marks=found)

    # ---- 3. each line cut to its own writing (a word's part: every point) ----
    record.cpu()
    primed = [primer is not None and (resume is None or resume[b].line_start) for b in range(len(codes))]
    n_chars = (start.lengths - P).tolist()
    return [_word_part(record, b, P, n, primed[b]) if until is not None and until[b] is not None
            else replace(_finish_line(record, b, P, n, primed[b], normalizer, found.found[b] if marks is not None else ()),
                         begin=None if begins is None else begins[b])
            for b, n in enumerate(n_chars)]


def _line_starts(stepper, x) -> list[Resume]:
    """Per row, the state after the primer (before any step of the line's own writing)."""
    states = stepper.state_of(torch.arange(len(x), device=x.device))
    return [Resume(states.index(torch.tensor([b], device=x.device)), x[b:b + 1].clone(), line_start=True)
            for b in range(len(x))]


def _lines_for(start, P: int, generator, max_steps, char_bias, until) -> tuple[_Lines, _Record]:
    """The rows' stopping state and their record; caps from the text a row has to write
    (with `until`, up to that position)."""
    lengths, dev = start.lengths, start.lengths.device
    todo = lengths.clone()
    for b, end in enumerate(until or []):
        if end is not None:
            todo[b] = P + int(end)
    caps = ((todo - P) * STEPS_PER_CHAR).clamp(min=MIN_STEPS)
    if max_steps is not None:
        caps = caps.clamp(max=max(1, int(max_steps)))
    noise = draw_noise(generator, len(lengths), int(caps.max())).to(dev)   # drawn on the CPU: same strokes anywhere
    lines = _Lines(noise, lengths, caps, start.x, char_bias, width=start.onehot.shape[1])
    return lines, _Record(len(lengths), int(caps.max()), start.onehot.shape[1], dev)


def _steps(stepper, x, lines: _Lines, record: _Record, bias: float, mixtures: int, P: int, *,
           judge_tails: bool, stream: bool, marks: _Marks | None = None):
    """The step loop (a generator: a `Step` per step when `stream`), filling `record` (and
    `marks`, when given)."""
    advance = stepper.drawer(x, lines, bias, mixtures)
    any_ending, min_cap = False, int(lines.caps.min())          # lets most steps skip the end checks
    for step in range(int(lines.caps.max())):
        x, phi = advance(step, x)
        record.add(x, phi)
        cut = marks.update(lines.rows, step, phi, x, stepper) if marks is not None else None
        left = lines.left_text(phi)
        pen_up = x[:, 2] > 0.5
        if not any_ending and step + 1 < min_cap and not bool(left.any()) and cut is None:
            lines.pen_up = pen_up                  # the common step: every line still mid-text
            if stream:
                yield _step(lines, x, phi, P)
            continue
        done, stop = _track_line_ends(lines, record, step, left, pen_up, judge_tails)
        if cut is not None:
            done, stop = done | cut, stop | cut
        any_ending = True
        if stream:
            yield _step(lines, x, phi, P)
        if stop.any():
            record.flush(lines.rows, step + 1)
            record.stop(lines, stop, done, step)
            if cut is not None:
                record.cut(lines.rows[cut], marks)
            keep = (~stop).nonzero().squeeze(1)
            lines.keep(keep)
            if not len(lines.rows):
                break
            stepper = stepper.keep(keep)
            advance = stepper.drawer(x[keep], lines, bias, mixtures)
            x = x[keep]
            any_ending, min_cap = bool(lines.ending.any()), int(lines.caps.min())


def sample_lines(model, codes, **kwargs) -> list[SampledLine]:
    """Sample one line of handwriting per code list, all lines as one batch.

    Runs on one CPU thread: a step's operations are too small to gain from more, and
    handing work between threads costs milliseconds per step whenever another process
    is using a core (docs/speed.md).  The setting is torch's, for the whole process: it
    is put back when the call returns.
    """
    return run_to_end(stream_lines(model, codes, **kwargs, stream=False))


def run_to_end(generator):
    """Drive a generator to its end, dropping what it yields: its return value."""
    while True:
        try:
            next(generator)
        except StopIteration as done:
            return done.value


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
