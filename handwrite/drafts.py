"""The types the writing pipeline passes around (handwrite.pipeline): a line's draft,
a named step, a named check, and what a check reads with.  Plain numpy: no torch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from .layout import UNIT
from .options import WriterOptions
from .preprocess import offsets_to_points

if TYPE_CHECKING:
    from .sampling import SampledLine


@dataclass(frozen=True)
class LineDraft:
    """One attempt at a line, on its way from the sampler to the page."""
    key: tuple[int, int]        # (text, line) of the request: which line this is
    text: str                   # the line as it will read
    model_text: str             # what the network was asked to write (capitals.CapitalPolicy)
    sampled: "SampledLine"      # what the sampler returned (offsets, attention, drawn points)
    points: np.ndarray          # (n, 3) page points x, y (down), end of stroke, as the steps left them
    phi: np.ndarray | None      # attention over model_text, row k - 1 for point k (letters.py)
    hand: dict | None = None    # style features the page's lines are matched to (HAND_STEPS)
    join: float = 0.0           # the style's joining gap (letters.join_letters); 0: never

    @classmethod
    def from_sample(cls, key, text: str, model_text: str, sampled: "SampledLine", normalizer) -> "LineDraft":
        """The sampled line's pen offsets as page points, as drawn (not yet levelled)."""
        points = offsets_to_points(normalizer.denormalize(sampled.offsets))
        points[:, :2] *= UNIT
        return cls(key, text, model_text, sampled, points, sampled.phi)

    @property
    def offsets(self) -> np.ndarray:
        """The normalised (T, 3) offsets as sampled: a primer for the page's other lines."""
        return self.sampled.offsets


@dataclass(frozen=True)
class Step:
    """A named step; `option`, a WriterOptions flag, switches it off when False."""
    name: str
    run: Callable
    option: str | None = None

    def applies(self, options: WriterOptions) -> bool:
        return self.option is None or bool(getattr(options, self.option))

    def __call__(self, *args):
        return self.run(*args)


@dataclass(frozen=True)
class Check:
    """A named judgement of a batch of drafts: judge(drafts, context) -> one score per draft.

    A hard check (`retries` names `WriterOptions.retries`) says whether a draft is usable
    at all (score > 0); a failed one is written again and, if it never passes, counted as
    failed.  A soft check scores usable drafts: below 0 the line is written again, up to
    its own retries, and the highest-scoring attempt is kept.  `context` is the writer and
    the primer the lines were written with (`CheckContext`)."""
    name: str
    judge: Callable
    option: str | None = None
    retries: str = "retries"              # the WriterOptions setting: how often to write again
    hard: bool = False

    def applies(self, options: WriterOptions) -> bool:
        return self.option is None or bool(getattr(options, self.option))


@dataclass(frozen=True)
class CheckContext:
    """What a check may read a draft with: the writer (model, alphabet, options) and the
    primer its lines were written after."""
    writer: object
    primer: tuple | None
