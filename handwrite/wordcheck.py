"""The word check: the reader judges each word as the sampler writes it.

`sampling.checked_lines` writes a line a word at a time and asks a judge about every
candidate word; `WordJudge` is that judge for the writer: it reads the line so far
(the kept words and the candidate) with a `handwrite.reader.Reader` and says whether
the candidate is read as the intended word (`words.last_word_right`) and how likely
the reader finds the whole text so far (its score, which ranks candidates).
"""
from __future__ import annotations

import numpy as np

from .preprocess import offsets_to_points
from .words import last_word_right, misread_indices


class WordJudge:
    """judge(candidates) -> [(read right, score)], reading with `reader` the candidates'
    normalised offsets, denormalised with `normalizer`."""

    def __init__(self, reader, normalizer):
        self.reader, self.normalizer = reader, normalizer

    def _points(self, offsets: np.ndarray) -> np.ndarray:
        return offsets_to_points(self.normalizer.denormalize(offsets))

    def misread(self, offsets: list, texts: list[str]) -> list[list[int]]:
        """Per whole line (normalised offsets), the indices of its words read otherwise."""
        readings = self.reader.read_many([self._points(o) for o in offsets])
        return [misread_indices(r, t) for r, t in zip(readings, texts)]

    def __call__(self, candidates) -> list[tuple[bool, float]]:
        inks = [self._points(c.offsets) for c in candidates]
        readings, scores = self.reader.read_and_score(inks, [c.text for c in candidates])
        return [(last_word_right(r, c.text, c.next_letter), float(np.nan_to_num(s, neginf=-1e9)))
                for r, s, c in zip(readings, scores, candidates)]
