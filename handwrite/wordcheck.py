"""The word check: the reader judges each word as the sampler writes it.

The writer's samplers ask a judge about what they wrote; `WordJudge` is that judge.  It
reads with a `handwrite.reader.Reader`, and reads a whole line as the user will get it:
through the writer's line and hand steps (`shape`), since levelling, evening the sizes
and matching the hand change how a word reads.

- `misread(lines, texts)`: per whole line, the words read otherwise, or read right by a
  close call against a look-alike letter (`words.LOOKALIKES`: a k the reader barely
  prefers to an h reads "h" to a person) (`sampling.spliced` writes those again);
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
from .words import close_calls, last_word_right, lookalike_rivals, misread_indices


class WordJudge:
    """The word check's judge: reads with `reader`; `normalizer` denormalises sampled
    offsets; `shape(sampled line, text) -> (n, 3) points` gives a whole line as the user
    will get it (None: as sampled)."""

    def __init__(self, reader, normalizer, shape: Callable | None = None):
        self.reader, self.normalizer, self.shape = reader, normalizer, shape
        self._misread: dict[tuple, list[int]] = {}   # (text, offsets) -> the whole line's misread words

    def _points(self, offsets: np.ndarray) -> np.ndarray:
        return offsets_to_points(self.normalizer.denormalize(offsets))

    def _line(self, line, text: str) -> np.ndarray:
        return self._points(line.offsets) if self.shape is None else self.shape(line, text)

    def _judged(self, inks: list, texts: list[str], rivals: list,
                scored: bool = True) -> tuple[list[str], list[float] | None, list[set[int]]]:
        """(readings, log p(text | ink) (None unless `scored`), the words read by a close
        call) in one pass of the reader; rivals[i]: `words.lookalike_rivals` of texts[i],
        scored beside it."""
        if not any(rivals):              # no look-alike letters to weigh
            readings, scores = self.reader.read_and_score(inks, texts) if scored else (self.reader.read_many(inks), None)
            return readings, scores, [set() for _ in inks]
        readings, each = self.reader.read_and_score_each(inks, [[t] + [r for _, r in rs] for t, rs in zip(texts, rivals)])
        return readings, [s[0] for s in each], [close_calls(rs, s[0], s[1:]) for rs, s in zip(rivals, each)]

    def misread(self, lines: list, texts: list[str]) -> list[list[int]]:
        """Per whole line (a SampledLine), the indices of its words read otherwise or by a
        close call.  A line is read once: the line of the candidate that replaced a word is
        the line read again after the replacement."""
        keys = [(t, ln.offsets.tobytes()) for ln, t in zip(lines, texts)]
        new = {k: i for i, k in enumerate(keys) if k not in self._misread}
        if new:
            fresh = [texts[i] for i in new.values()]
            readings, _, close = self._judged([self._line(lines[i], texts[i]) for i in new.values()], fresh,
                                              [lookalike_rivals(t) for t in fresh], scored=False)
            self._misread.update(zip(new, (sorted(set(misread_indices(r, t)) | c)
                                           for r, t, c in zip(readings, fresh, close))))
        return [self._misread[k] for k in keys]

    def in_line(self, lines: list, texts: list[str], words: list[int]) -> list[bool]:
        """Per whole line, whether its word `words[i]` is read right."""
        return [k not in bad for bad, k in zip(self.misread(lines, texts), words)]

    def __call__(self, candidates) -> list[tuple[bool, float]]:
        inks = [self._points(c.offsets) for c in candidates]
        texts = [c.text for c in candidates]
        readings, scores, close = self._judged(inks, texts, [lookalike_rivals(t, {len(t.split()) - 1}) for t in texts])
        return [(last_word_right(r, c.text, c.next_letter) and not cl, float(np.nan_to_num(s, neginf=-1e9)))
                for r, s, cl, c in zip(readings, scores, close, candidates)]
