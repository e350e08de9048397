"""The word check: the reader judges each word as the sampler writes it.

The writer's samplers ask a judge about what they wrote; `WordJudge` is that judge.  It
reads with a `handwrite.reader.Reader`, and reads a whole line as the user will get it:
through the writer's line and hand steps (`shape`), since levelling, evening the sizes
and matching the hand change how a word reads.

- `misread(lines, texts)`: per whole line, the words read otherwise (`sampling.spliced`
  writes those again);
- `in_line(lines, texts, words)`: per whole line holding a candidate for one of its
  words, whether that word is read right;
- `judge(candidates)`: a candidate word with the kept word before it, read as sampled,
  and how likely the reader finds its text (the score ranks candidates): the verdict word
  by word (`sampling.checked`, for `stream`: the rest of the line is not written yet).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .preprocess import offsets_to_points
from .words import last_word_right, misread_indices


class WordJudge:
    """The word check's judge: reads with `reader`; `normalizer` denormalises sampled
    offsets; `shape(sampled line, text) -> (n, 3) points` gives a whole line as the user
    will get it (None: as sampled)."""

    def __init__(self, reader, normalizer, shape: Callable | None = None):
        self.reader, self.normalizer, self.shape = reader, normalizer, shape
        self._readings: dict[tuple, str] = {}       # (text, offsets) -> the whole line's reading

    def _points(self, offsets: np.ndarray) -> np.ndarray:
        return offsets_to_points(self.normalizer.denormalize(offsets))

    def _line(self, line, text: str) -> np.ndarray:
        return self._points(line.offsets) if self.shape is None else self.shape(line, text)

    def read_lines(self, lines: list, texts: list[str]) -> list[str]:
        """The reading of each whole line as shaped.  A line is read once: the line of the
        candidate that replaced a word is the line read again after the replacement."""
        keys = [(t, ln.offsets.tobytes()) for ln, t in zip(lines, texts)]
        new = {k: i for i, k in enumerate(keys) if k not in self._readings}
        if new:
            readings = self.reader.read_many([self._line(lines[i], texts[i]) for i in new.values()])
            self._readings.update(zip(new, readings))
        return [self._readings[k] for k in keys]

    def misread(self, lines: list, texts: list[str]) -> list[list[int]]:
        """Per whole line (a SampledLine), the indices of its words read otherwise."""
        return [misread_indices(r, t) for r, t in zip(self.read_lines(lines, texts), texts)]

    def in_line(self, lines: list, texts: list[str], words: list[int]) -> list[bool]:
        """Per whole line, whether its word `words[i]` is read right."""
        return [k not in misread_indices(r, t) for r, t, k in zip(self.read_lines(lines, texts), texts, words)]

    def __call__(self, candidates) -> list[tuple[bool, float]]:
        inks = [self._points(c.offsets) for c in candidates]
        readings, scores = self.reader.read_and_score(inks, [c.text for c in candidates])
        return [(last_word_right(r, c.text, c.next_letter), float(np.nan_to_num(s, neginf=-1e9)))
                for r, s, c in zip(readings, scores, candidates)]
