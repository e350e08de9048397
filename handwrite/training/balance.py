"""Which lines a run trains on: the writer-disjoint split, and lines listed more than once
where the data is thin (capitals, joined-up hands)."""
from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import torch

from .config import TrainConfig
from .dataset import SPLIT_SEED, LineSet, load_lines, writer_split
from .processes import Processes


# pen lifts per letter at or below which a line counts as joined-up (as style_features
# counts them: ~1.2 in print; 1,867 of IAM-OnDB's 11,031 lines are at or below 0.7)
JOINED_LIFTS = 0.7


def repeat_lines(idx: np.ndarray, chosen: np.ndarray, repeats: int) -> np.ndarray:
    """`idx` with the lines where `chosen` (bool, one per entry of idx) is set listed
    `repeats` times in all."""
    return np.concatenate([idx] + [idx[chosen]] * (repeats - 1))


def has_capitals(data: LineSet, idx: np.ndarray) -> np.ndarray:
    """Per line of idx: it holds a capital letter.  Capitals are a few per cent of
    IAM-OnDB's letters and most lines have one at most, so the model writes them worse
    than lower case; repeating their lines balances that."""
    return np.array([any(c.isupper() for c in data.texts[i]) for i in idx], dtype=bool)


def letter_balance(data: LineSet, idx: np.ndarray, target: int, letters, most: int = 10) -> np.ndarray:
    """Per line of idx: how many times to list it so that each of `letters` is in about
    `target` lines per epoch: target / (lines of idx holding the line's rarest such letter),
    rounded up, between 1 and `most` (1 for a line holding none of them).  Unlike repeating
    every line with a capital (half of IAM-OnDB's lines, the common T and I among them),
    this evens out the letters themselves: E is in 191 lines, K in 71, Q in 16, against
    T's 1,128; x is in a few hundred lines and z in fewer."""
    letters = set(letters)
    held = [{c for c in data.texts[i] if c in letters} for i in idx]
    lines_with = Counter(c for chars in held for c in chars)
    return np.array([min(most, max(1, math.ceil(target / min(lines_with[c] for c in chars)))) if chars else 1
                     for chars in held], dtype=np.int64)


def capital_balance(data: LineSet, idx: np.ndarray, target: int, most: int = 10) -> np.ndarray:
    """letter_balance over the capital letters."""
    capitals = {c for i in idx for c in data.texts[i] if c.isupper()}
    return letter_balance(data, idx, target, capitals, most)


def letter_point_weights(phi: torch.Tensor, chars: torch.Tensor, alphabet, weight: float, chosen) -> torch.Tensor:
    """(B, T) loss weights: `weight` for a point drawn while the attention's strongest
    character is one for which `chosen(char)` holds, 1 elsewhere.  phi (B, T, U) the
    window's weights, chars (B, U) the line's codes.  Rare letters are a few per cent of
    the points even in the lines that hold them, so repeating lines mostly repeats the
    common letters; this puts the extra weight on the rare letters' own strokes."""
    picked = torch.tensor([False] + [bool(chosen(c)) for c in alphabet.chars], device=chars.device)  # code 0: padding
    on_letter = picked[chars].gather(1, phi.argmax(-1))       # (B, T)
    return 1.0 + (weight - 1.0) * on_letter.to(phi.dtype)


def capital_point_weights(phi: torch.Tensor, chars: torch.Tensor, alphabet, weight: float) -> torch.Tensor:
    """letter_point_weights on the capital letters."""
    return letter_point_weights(phi, chars, alphabet, weight, str.isupper)


def is_joined_up(data: LineSet, idx: np.ndarray) -> np.ndarray:
    """Per line of idx: written joined-up (pen lifts per letter <= JOINED_LIFTS).  About
    one line in six is, so the model drifts to print; repeating them balances that."""
    def lifts(i):
        letters = sum(1 for c in data.texts[i] if not c.isspace())
        return float((data.line(i)[:, 2] > 0.5).sum()) / max(letters, 1)
    return np.array([lifts(i) <= JOINED_LIFTS for i in idx], dtype=bool)


def split_data(cfg: TrainConfig, procs: Processes, progress: bool):
    """(all lines, train set, val set, val writers): cached preprocessing, writer-disjoint split."""
    if procs.local_rank != 0:
        procs.barrier()   # let local rank 0 build the preprocessing cache once per machine
    data = load_lines(cfg.data, downsample=cfg.downsample, progress=progress and procs.master)
    if procs.local_rank == 0:
        procs.barrier()
    train_idx, val_idx, val_writers = writer_split(data.writers, cfg.val_fraction, seed=SPLIT_SEED)
    if not val_writers:
        warnings.warn("all lines come from one writer: the validation lines share the training writer")
    if len(train_idx) == 0:
        raise ValueError("no training lines left after the validation split (need at least 2 usable lines)")
    extra = []                       # chosen from the training lines as split, so the two stack
    if cfg.capital_repeats > 1:
        extra.append((has_capitals(data, train_idx), cfg.capital_repeats))
    if cfg.joined_repeats > 1:
        extra.append((is_joined_up(data, train_idx), cfg.joined_repeats))
    base = train_idx
    for chosen, repeats in extra:
        train_idx = np.concatenate([train_idx, repeat_lines(base, chosen, repeats)[len(base):]])
    if cfg.balance_capitals > 0:
        train_idx = np.concatenate([train_idx, np.repeat(base, capital_balance(data, base, cfg.balance_capitals) - 1)])
    if cfg.teach:
        train_idx = np.concatenate([train_idx, np.repeat(base, letter_balance(data, base, cfg.teach_lines, cfg.teach) - 1)])
    return data, data.subset(train_idx), data.subset(val_idx), val_writers
