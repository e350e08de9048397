"""How clearly written strokes show their text, by the network's own likelihood.

A sampled capital can come out as another letter's shape: a small k for K, a bare stroke
for I, an E like a t.  Read back teacher-forced, the strokes are then nearly as likely
under the text with that rival letter as under the true text.  The margin
log p(strokes | text) - max over rivals log p(strokes | rival text) says how clearly they
show the capital; the writer writes a line again when its margin is small for a capital
whose margin says whether it reads right (docs/capitals.md).
"""
from __future__ import annotations

import numpy as np
import torch

from .model import HandwritingModel, mdn_nll
from .sampling import primer_prefix

# What a badly written capital most often reads as (docs/capitals.md): its small letter,
# and the shapes of a bare stroke (l), a crossed one (t, F), a round one (C, O) and a k.
RIVALS = ("l", "t", "F", "C", "O", "k")
# The capitals whose margin tells a misread one from one read right, and the margin (nats)
# below which the writer writes the line again.  Over 10 seeds of the capitals gallery
# (bundled weights): a K read as "k" had 9.5-12, one read right 21-25; an E read as "t"
# 19.7-25.9, one read right 30-34; H less clearly (misread at 19-25, right at 21-27).
# Other capitals' margins do not separate: I against l always 3-4 (the same stroke), Q
# 39-54 while PP-OCR misreads nearly all, C, S and L 11-19 and read right.
CAPITAL_MARGINS = {"E": 28.0, "H": 23.0, "K": 16.0}
# The rows of one read start together after the primer's points up to where the window
# puts this much weight past the primer's text (`sampling.primer_prefix`, cached):
# every row starts from the same state, so they are compared fairly, and each reads the
# last ~8 of the default primer's 454 points instead of ~315.  Against reading from where
# the text first matters at all (1e-6), the margins of 24 gallery words moved by at most
# 0.15 nats (0.05: 0.004), and scoring them took 7.5 s instead of 30 on one thread.
LATE_TAIL = 0.5


def rival_texts(text: str, alphabet, capitals=CAPITAL_MARGINS) -> list[tuple[int, str]]:
    """(position, text with the capital there replaced by a rival) for every capital of
    `capitals` (any capital: capitals=None)."""
    out = []
    for i, c in enumerate(text):
        if not c.isupper() or (capitals is not None and c not in capitals):
            continue
        for r in dict.fromkeys((c.lower(), *RIVALS)):     # in order, once each
            if r != c and r in alphabet:
                out.append((i, text[:i] + r + text[i + 1:]))
    return out


ROWS_AT_ONCE = 128        # rows read together: the hidden states of a batch take B x T x 3H floats


def log_likelihoods(model: HandwritingModel, rows: list[tuple], primer: tuple[np.ndarray, list[int]] | None = None
                    ) -> np.ndarray:
    """(len(rows),) log p(drawn | text) in nats, teacher-forced, for rows of (drawn, codes)
    or (drawn, codes, first): only drawn[first:] is scored (the points before are read).

    drawn: the normalised (n, 3) points the network drew for a line, as drawn
    (`sampling.SampledLine.drawn`), read after the primer's last point, or after a zero
    point without a primer.  primer: (offsets, codes) as given to `sample_lines`; every row
    then starts from the state after the primer's points up to LATE_TAIL and reads
    the rest of the primer before its line; only the line's points are scored.  Rows are
    read in batches of ROWS_AT_ONCE.
    """
    return np.concatenate([_read_rows(model, rows[k:k + ROWS_AT_ONCE], primer)
                           for k in range(0, len(rows), ROWS_AT_ONCE)] or [np.zeros(0, np.float32)])


@torch.inference_mode()
def _read_rows(model: HandwritingModel, rows: list[tuple], primer: tuple[np.ndarray, list[int]] | None) -> np.ndarray:
    """log_likelihoods of rows read as one batch."""
    dev = next(model.parameters()).device
    B = len(rows)
    if primer is None:
        p_codes, lead, state = [], torch.zeros(1, 3, device=dev), None    # the first input: a zero point
    else:
        p_codes = list(primer[1])
        prefix, start = primer_prefix(model, primer, LATE_TAIL)
        lead = torch.from_numpy(np.asarray(primer[0], np.float32)[start:]).to(dev)   # the primer still to read
        state = prefix.index(torch.zeros(B, dtype=torch.long, device=dev))
    lines = [torch.from_numpy(np.asarray(row[0], np.float32).reshape(-1, 3)).to(dev) for row in rows]
    T = len(lead) + max(len(line) for line in lines)
    x = torch.zeros(B, T, 3, device=dev)
    mask = torch.zeros(B, T - 1, device=dev)
    x[:, :len(lead)] = lead
    for b, (row, line) in enumerate(zip(rows, lines)):
        first = row[2] if len(row) > 2 else 0
        x[b, len(lead):len(lead) + len(line)] = line
        mask[b, len(lead) - 1 + first:len(lead) - 1 + len(line)] = 1.0     # the line's points only, not the primer's
    full = [p_codes + list(row[1]) for row in rows]
    chars = torch.zeros(B, max(map(len, full)) + 1, dtype=torch.long, device=dev)   # +1: past the end
    for b, c in enumerate(full):
        chars[b, :len(c)] = torch.tensor(c, device=dev)
    y = model(x[:, :-1], chars, state=state)
    return -mdn_nll(y, x[:, 1:], mask, model.config.output_mixtures).sum(1).cpu().numpy()


def word_points(drawn_on: np.ndarray | None, text: str, pos: int, n: int) -> tuple[int, int]:
    """(first, stop): the points of a line (n drawn, `SampledLine.drawn_on`) drawn for the
    word holding text[pos]: from where the window reaches the word to where it reaches the
    next word (the whole line when drawn_on is not known)."""
    if drawn_on is None or len(drawn_on) != n:
        return 0, n
    start = text.rfind(" ", 0, pos) + 1
    end = text.find(" ", pos)
    at = np.flatnonzero(drawn_on >= start)
    first = int(at[0]) if len(at) else 0
    past = np.flatnonzero(drawn_on > end) if end >= 0 else np.zeros(0, int)
    return first, int(past[0]) if len(past) else n


def capital_margins(model: HandwritingModel, alphabet, lines: list[tuple], primer=None,
                    capitals=CAPITAL_MARGINS) -> list[float]:
    """For each written line, (drawn, text) or (drawn, text, drawn_on) (`SampledLine`;
    text: what the network was asked to write), the smallest, over its capitals in
    `capitals` (None: all), of log p(strokes | text) - the best rival's - the capital's
    margin in `capitals` (0 when None): below 0, a capital is less clear than it should
    be; inf for a line without such capitals.  With drawn_on, each capital is judged on
    the points of its own word (its margins were measured on words written alone), and
    the line is read only up to that word's end.  One batched read for all of them."""
    rows, owners = [], []          # owners: (line, capital position, rival or None for the true text)
    for n, line in enumerate(lines):
        drawn, text = line[0], line[1]
        drawn_on = line[2] if len(line) > 2 else None
        by_capital: dict[int, list[str]] = {}
        for pos, rival in rival_texts(text, alphabet, capitals):
            by_capital.setdefault(pos, []).append(rival)
        for pos, rivals in by_capital.items():
            first, stop = word_points(drawn_on, text, pos, len(drawn))
            if stop <= first:
                continue
            for rival in [None, *rivals]:
                rows.append((drawn[:stop], alphabet.encode(text if rival is None else rival), first))
                owners.append((n, pos, rival))
    margins = [float("inf")] * len(lines)
    if not rows:
        return margins
    logp = log_likelihoods(model, rows, primer)
    true: dict[tuple[int, int], float] = {}
    best: dict[tuple[int, int], float] = {}
    for (n, pos, rival), lp in zip(owners, logp):
        if rival is None:
            true[(n, pos)] = float(lp)
        else:
            best[(n, pos)] = max(best.get((n, pos), -np.inf), float(lp))
    for (n, pos), lp in best.items():
        wanted = 0.0 if capitals is None else capitals[lines[n][1][pos]]
        margins[n] = min(margins[n], true[(n, pos)] - lp - wanted)
    return margins
