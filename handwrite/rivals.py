"""A word read right, but only just: the reader's likeliest reading need not be the text.

The reader reads a line by its best path (the likeliest class at each frame), and a word
can come out right on that path while the reader finds a one-letter neighbour of the
word likelier over all paths: "bought" read right whose b is an n's hump ("nought" the
likelier), "year" whose e is a u.  People reading such a word see the neighbour.  So a
word read right is also asked: does any word that differs from it in one letter score
higher, by CTC, on the frames where the word was read?  Only the letters the reader gave
some weight to on those frames are tried (a rival the frames never hint at cannot win),
and case and the confusions `words.fold_word` forgives are not rivals.
"""
from __future__ import annotations

import string

import numpy as np
import torch
from torch import nn

from .words import fold_word

RIVAL_LETTERS = string.ascii_letters + string.digits
HINT = -6.0      # log-probability: a letter no frame of the word gives this much is not tried


BLANK = 0        # the reader's CTC blank (reader.ReaderConfig)


def word_windows(path: np.ndarray, space: int, blank: int = BLANK) -> list[tuple[int, int]]:
    """(first frame, end frame) of each word on a best path (one class per frame): the
    frames between two frames read as a space, so a word owns the blanks around it."""
    spaces = np.flatnonzero(path == space)
    bounds = [0] + [int(t) for t in spaces] + [len(path)]
    windows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        start = a + 1 if a or (len(spaces) and path[0] == space) else 0
        if any(c not in (space, blank) for c in path[start:b]):
            windows.append((start, b))
    return windows


def rivals_of(word: str, hinted: set[str]) -> list[str]:
    """The words that differ from `word` in one letter, that letter one of `hinted`, and
    that `fold_word` does not take for the same word."""
    out = []
    folded = fold_word(word)
    for i, c in enumerate(word):
        if c not in RIVAL_LETTERS:
            continue
        for d in hinted:
            rival = word[:i] + d + word[i + 1:]
            if fold_word(rival) != folded:
                out.append(rival)
    return out


def outscored(log_probs: torch.Tensor, window: tuple[int, int], word: str, alphabet) -> bool:
    """Whether a one-letter rival of `word` scores higher than it on the frames `window`
    of one line's (T, C) log-probabilities."""
    frames = log_probs[window[0]:window[1]]
    if not len(frames) or alphabet.unsupported(word):
        return False
    best = frames.max(0).values
    hinted = {c for c in RIVAL_LETTERS if c in alphabet and float(best[alphabet.encode(c)[0]]) >= HINT}
    rivals = [r for r in rivals_of(word, hinted) if not alphabet.unsupported(r)]
    if not rivals:
        return False
    texts = [word] + rivals
    codes = [alphabet.encode(t) for t in texts]
    n = len(texts)
    loss = nn.functional.ctc_loss(frames[:, None, :].expand(-1, n, -1),
                                  torch.tensor([c for cs in codes for c in cs], dtype=torch.long),
                                  torch.full((n,), len(frames), dtype=torch.long),
                                  torch.tensor([len(c) for c in codes]), reduction="none")
    return bool(loss[1:].min() < loss[0])


def outscored_words(log_probs: torch.Tensor, text: str, reading: str, alphabet, right: list[int]) -> list[int]:
    """Of the words `right` (indices in text.split(), each read right in `reading`), those
    a one-letter rival outscores on its own frames.  log_probs: (T, C) of the line, its
    best path the reading.  Words are paired with the reading's words in order, so only
    lines whose reading has as many words as the text are judged."""
    path = log_probs.argmax(-1).numpy()
    windows = word_windows(path, alphabet.encode(" ")[0])
    words = text.split()
    if len(windows) != len(words) or len(reading.split()) != len(words):
        return []
    return [k for k in right if outscored(log_probs, windows[k], words[k], alphabet)]
