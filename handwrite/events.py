"""The events of writing: what `Writer.stream` yields (`WritingPoints`, `WritingDone`) and
what travels inside the writer while it samples (`SamplingProgress`, `LineRestarted`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .layout import UNIT

if TYPE_CHECKING:
    from .handwriting import Handwriting
    from .sampling import Step


@dataclass(frozen=True)
class SamplingProgress:
    """Inside the writer: one sampling step of a batch of lines."""
    lines: list               # (text, line) of each row of the batch
    step: Step                # sampling.Step: the rows that drew and their offsets


@dataclass(frozen=True)
class LineRestarted:
    """Inside the writer: the line (text, line) came out wrong and is being written again."""
    key: tuple


@dataclass(frozen=True)
class WritingPoints:
    """Points a line's pen drew since the last event (`Writer.stream`)."""
    line: int                 # the line's index in the text as laid out (blank lines count)
    points: np.ndarray        # (n, 3) x, y, end_of_stroke in page units: a preview, see `Writer.stream`
    restart: bool = False     # the line is being written again (it came out wrong): drop its earlier points


@dataclass(frozen=True)
class WritingDone:
    """The end of `Writer.stream`: the finished handwriting."""
    handwriting: Handwriting


class Preview:
    """The pen positions of `Writer.stream`: each line at the left of its row, as drawn."""

    def __init__(self, normalizer, row: float):
        self.normalizer, self.row = normalizer, row
        self.pens: dict[int, np.ndarray] = {}    # line -> pen position in data units, once it draws
        self.new: dict[int, list] = {}           # line -> page points not yet yielded
        self.restarted: set[int] = set()

    def restart(self, line: int):
        self.pens.pop(line, None)
        self.new.pop(line, None)
        self.restarted.add(line)

    def add(self, event: SamplingProgress):
        step = event.step
        offsets = self.normalizer.denormalize(step.offsets)
        for r, (dx, dy, eos), drawing in zip(step.rows, offsets, step.drawing):
            if not drawing:
                continue
            line = event.lines[r][1]
            pen = self.pens.get(line)
            pen = self.pens[line] = np.zeros(2) if pen is None else pen + (dx, dy)
            self.new.setdefault(line, []).append((pen[0] * UNIT, pen[1] * UNIT + line * self.row, eos))

    def flush(self):
        for line in sorted(set(self.new) | self.restarted):
            points = np.asarray(self.new.get(line, []), np.float32).reshape(-1, 3)
            yield WritingPoints(line, points, line in self.restarted)
        self.new.clear()
        self.restarted.clear()


def labelled(steps, jobs):
    """Yield a SamplingProgress for each sampling `Step` of `steps`; return what it returns."""
    try:
        while True:
            try:
                step: Step = next(steps)
            except StopIteration as finished:
                return finished.value
            yield SamplingProgress(jobs, step)
    finally:
        steps.close()
