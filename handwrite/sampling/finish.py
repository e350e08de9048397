"""Each sampled line cut to its own writing: no primer strokes, no made-up letters after
the text (`_delayed_strokes` judges the strokes drawn after the last letter)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..model import State

DOT_HEIGHT = 0.5         # a delayed stroke is at most this many mean letter widths tall ...
BAR_LENGTH = 1.5         # ... and this long, begins left of the writing's right end, and
BAR_OVERHANG = 1.0       # ... reaches at most this far past it; or it is a descender:
DESCENDER_START = 0.35   # ... begins at most this far right of the end, never moves right,
DESCENDER_DEPTH = 0.8    # ... and ends at least this far below the middle of the writing


@dataclass
class Resume:
    """Where a line's part ended, to write its next part from: the network's state (one
    row) and the last point drawn (1, 3), which the next step reads.  line_start: the
    state after the primer, before the line's own writing (a part written from it drops
    the end of the primer's last letter, as a primed line does)."""
    state: State
    x: torch.Tensor
    line_start: bool = False


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
    resume: Resume | None = None      # where it ended (only when asked: `sample_lines(..., until=...)`)
    # the word check (`checked.checked_lines`): words written again, and those still misread
    rewritten_words: int = 0
    misread_words: tuple = ()
    # (row of offsets, Resume): where the line reached each mark it was given (loop `marks`):
    # offsets[:row + 1] was drawn by then, and the state there writes on from it
    marks: tuple = ()
    # (with marks) where the line's own writing began, to write its first word again from
    begin: Resume | None = None


def _first_own_row(offs: np.ndarray, phi_all, P: int) -> int:
    """The first row of a primed line's offsets that is its own writing.

    Strokes finished before the window reached the new text belong to the primer (the
    end of its last letter, a dot): they are dropped, and the line starts where the first
    kept stroke starts, not with the pen-up jump that leads to it."""
    first_row = 1
    on_text = np.flatnonzero(phi_all.argmax(1).numpy() >= P)       # phi_all (n, U), a tensor
    if len(on_text):
        lifts = np.flatnonzero(offs[1:on_text[0] + 1, 2] > 0.5) + 1
        if len(lifts) and lifts[-1] + 1 < len(offs):
            first_row = int(lifts[-1]) + 1
    return first_row


def _finish_line(record, b: int, P: int, n_chars: int, primed: bool, normalizer, marks=()) -> SampledLine:
    """Line b's offsets and attention (from the loop's `_Record`), cut to its own writing."""
    n = int(record.n_steps[b])
    offs = np.concatenate([np.zeros((1, 3), np.float32), record.x[b, :n].numpy()])
    phi = record.phi[b, :n, P:P + n_chars].numpy().copy()
    first_row = 0                                          # rows dropped from the front; row k + 1 is step k's point
    if primed and n > 1:
        first_row = _first_own_row(offs, record.phi[b, :n], P)
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
    rows = tuple((step + 1 - first_row, end) for step, end in marks if 0 < step + 1 - first_row < len(offs) - 1)
    return SampledLine(offs, phi, bool(record.finished[b]), left_row, drawn, drawn_on, marks=rows)


def _word_part(record, b: int, P: int, n_chars: int, primed: bool) -> SampledLine:
    """Line b's part up to the end of a word (the loop's `until`): every point as drawn, the
    last one included, so that the next part goes on from exactly there."""
    n = int(record.n_steps[b])
    offs = np.concatenate([np.zeros((1, 3), np.float32), record.x[b, :n].numpy()])
    phi = record.phi[b, :n, P:P + n_chars].numpy().copy()
    first_row = _first_own_row(offs, record.phi[b, :n], P) if primed and n > 1 else 0
    offs, phi = offs[first_row:], phi[first_row:]
    offs[0, :2] = 0.0
    drawn = record.x[b, :n].numpy().copy()
    drawn_on = record.phi[b, :n].argmax(1).numpy() - P
    drawn_on[drawn_on < 0] = -1
    k = int(record.left_step[b])
    return SampledLine(offs, phi, bool(record.finished[b]), k + 1 - first_row if 0 <= k < n else None, drawn,
                       drawn_on, record.ends.get(b))


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
