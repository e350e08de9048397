"""Every word right, at little cost: lines written whole, misread words written again.

The lines of a batch are written as usual, in one pass, noting where each word begins
(the loop's `marks`: the step, and the network's state there; a first word begins at the
state the line began from, after the primer).  The judge reads each line as the user will
get it and names its misread words.  Each of those is written again as `candidates` rows
from the state where it began (`checked._write_round`'s way of branching).  The
candidates are read in their line, in the order written, until one reads as intended
there; it replaces the word.  (A cheaper reading of each candidate beside the word before,
to choose which to read in its line first, cost more than it saved: most candidates read
right in their line.)  The rest of the line stays as it was: its strokes are pen moves, so
they follow the new word wherever it ends, and the pen's move to the next word is
corrected so that the next word keeps its place beside the word (`keep_the_gap`).  A line
that changed is read whole again, and the words it then misreads are the next round's
work, for up to `rounds` rounds.  Most words are right the first time, so most of the
work is the one pass.  A line whose marks came a word late (`split_at_words`: in a
joined-up hand the pen need not lift between a short word and the next) cannot have its
words written again one at a time: when it misreads a word, it is first written again
whole, up to `rounds` times, each new line kept when it misreads no more words.
(`checked.checked_lines` writes word by word instead: what `stream` needs, since it shows
only kept words.)
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .checked import _joined, word_ends
from .finish import SampledLine
from .loop import _sample_lines, run_to_end
from .stopping import MIN_STEPS, STEPS_PER_CHAR


def spliced_lines(model, codes: list[list[int]], texts: list[str], judge, *, candidates: int = 4,
                  rounds: int = 1, seed: int | None = None, **settings) -> list[SampledLine]:
    """`sample_lines` with misread words written again (see the module docstring).

    judge: `judge.misread(lines, texts)` -> per whole line (a SampledLine), the indices of
    its misread words; `judge.in_line(lines, texts, words)` -> per whole line, whether its
    word `words[i]` reads right (`wordcheck.WordJudge`)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _spliced(model, codes, texts, judge, candidates, rounds, seed, settings)
    finally:
        torch.set_num_threads(threads)


def _spliced(model, codes, texts, judge, candidates, rounds, seed, settings):
    rng = np.random.default_rng(seed)
    ends = [word_ends(t) if len(t) == len(c) else [len(c)] for t, c in zip(texts, codes)]
    lines = run_to_end(_sample_lines(model, codes, seed=int(rng.integers(0, 2**62)), marks=[e[:-1] for e in ends],
                               **settings))
    misread = judge.misread(lines, texts)
    for _ in range(rounds):         # lines with misread words that cannot be split at their words
        redo = [n for n, bad in enumerate(misread) if bad and len(ends[n]) == len(texts[n].split()) > 1
                and not split_at_words(lines[n], ends[n])]
        if not redo:
            break
        _write_again(model, codes, texts, ends, lines, misread, redo, judge, int(rng.integers(0, 2**62)), settings)
    parts = [_parts(line) if split_at_words(line, e) else [line] for line, e in zip(lines, ends)]
    # lines that could be split into the words the judge names
    whole = [len(p) == len(e) == len(t.split()) for p, e, t in zip(parts, ends, texts)]
    todo = {(n, k) for n, bad in enumerate(misread) if whole[n] for k in bad}
    left = {(n, k) for n, bad in enumerate(misread) for k in bad} - todo
    fixed = {n: 0 for n in range(len(codes))}
    for _ in range(rounds):
        if not todo:
            break
        before = dict(fixed)
        still = _fix_round(model, codes, texts, ends, parts, sorted(todo), candidates, judge,
                           int(rng.integers(0, 2**62)), settings, fixed)
        changed = [n for n in fixed if fixed[n] != before[n]]
        todo = {(n, k) for n, k in still if n not in changed} | _misread_again(judge, parts, texts, changed)
    left |= todo
    out = []
    for n, line in enumerate(lines):
        wrong = tuple(texts[n].split()[k] for k in sorted(k for m, k in left if m == n))
        kept = line if not fixed[n] else _rejoined(parts[n])
        out.append(replace(kept, rewritten_words=fixed[n], misread_words=wrong, marks=(), begin=None))
    return out


def split_at_words(line: SampledLine, ends: list[int]) -> bool:
    """Whether the line's marks begin its words: one mark per word after the first, each
    found while the window was still before the end of the word it begins.  In a
    joined-up hand the pen may not lift between a short word and the next, and the mark
    is then found a word late, with every part after it a word off: such a line's
    words cannot be written again one at a time."""
    if len(line.marks) != len(ends) - 1:
        return False
    for (row, _), start, end in zip(line.marks, ends[:-1], ends[1:]):
        at = int(line.phi[min(row, len(line.phi) - 1)].argmax())
        if at > end or (at == end and end - start > 2):      # a one-letter word's window may run ahead to its space
            return False
    return True


def _write_again(model, codes, texts, ends, lines, misread, redo, judge, seed, settings) -> None:
    """The lines `redo` written again whole (in `lines`, with their readings in `misread`):
    each new line kept when it misreads no more words."""
    char_bias = settings.get("char_bias")
    again = run_to_end(_sample_lines(model, [codes[n] for n in redo], seed=seed, marks=[ends[n][:-1] for n in redo],
                                     **{**settings, "char_bias": None if char_bias is None else
                                        [char_bias[n] for n in redo]}))
    for n, line, bad in zip(redo, again, judge.misread(again, [texts[n] for n in redo])):
        if len(bad) <= len(misread[n]):
            lines[n], misread[n] = line, bad


def _misread_again(judge, parts, texts, lines: list[int]) -> set:
    """The misread words of `lines` read whole again: each candidate was read in its line
    with the line's other words as they were, and a line with several words replaced
    reads otherwise, so the finished line has the last word."""
    if not lines:
        return set()
    again = judge.misread([_rejoined(parts[n]) for n in lines], [texts[n] for n in lines])
    return {(n, k) for n, bad in zip(lines, again) for k in bad}


def _parts(line: SampledLine) -> list[SampledLine]:
    """A line split where its words begin (`line.marks`), each part its own SampledLine
    (offsets from a zero row; the parts before the last carry where they end)."""
    rows = [0] + [row for row, _ in line.marks] + [len(line.offsets) - 1]
    ends = [end for _, end in line.marks] + [None]
    out = []
    for a, b, end in zip(rows[:-1], rows[1:], ends):
        offsets = np.concatenate([np.zeros((1, 3), np.float32), line.offsets[a + 1:b + 1]])
        out.append(SampledLine(offsets, line.phi[a:b], True, None, resume=end))
    out[-1] = replace(out[-1], finished=line.finished,
                      left_text_at=None if line.left_text_at is None else line.left_text_at - rows[-2])
    out[0] = replace(out[0], begin=line.begin)
    return out


def _rejoined(parts: list[SampledLine]) -> SampledLine:
    """The parts as one line again.  A line of one part is that part (written whole, with
    its drawn points); a spliced line has no single drawing, so its drawn points are gone."""
    if len(parts) == 1:
        return replace(parts[0], resume=None)
    return replace(_joined(parts), drawn=None, drawn_on=None, resume=None)


def _fix_round(model, codes, texts, ends, parts, todo, candidates, judge, seed, settings, fixed) -> set:
    """Write each misread word (n, k) of `todo` again as `candidates` rows; replace it with
    a candidate read right in its line.  Returns the words still misread.  (A word run
    into the one before is not a candidate's work: the line's steps open narrow gaps,
    `letters.open_word_gaps`, before the line is read.)"""
    rows = [(n, k) for n, k in todo for _ in range(candidates)]
    # each from where its word began: the end of the word before, or the line's start
    resume = [parts[n][k - 1].resume if k else parts[n][0].begin for n, k in rows]
    until = [ends[n][k] if k + 1 < len(ends[n]) else None for n, k in rows]
    longest = max(ends[n][k] - (ends[n][k - 1] if k else 0) for n, k in rows)
    char_bias = settings.get("char_bias")
    written = run_to_end(_sample_lines(model, [codes[n] for n, _ in rows], seed=seed, until=until, resume=resume,
                                       **{**settings, "max_steps": max(STEPS_PER_CHAR * longest, MIN_STEPS),
                                          "char_bias": None if char_bias is None else [char_bias[n] for n, _ in rows]}))
    normalizer = settings.get("normalizer")
    # a word reads otherwise beside both neighbours, and the line's steps (levelling, sizes,
    # the hand) shape it whole: a candidate is kept only when read right in its line, as the
    # user will get it.  Each word's candidates are read there one at a time (one line per
    # word at a time), until one reads right.
    queue: dict[tuple, list] = {}
    for i, (n, k) in enumerate(rows):
        ends_early = written[i].resume is None and k + 1 < len(parts[n])    # no next word to go on to
        if not ends_early:
            queue.setdefault((n, k), []).append(i)
    best: dict[tuple, SampledLine] = {}
    while queue:
        reading = [(word, tried.pop(0)) for word, tried in queue.items()]
        verdicts = judge.in_line([_rejoined(replace_words(parts[n], {k: written[i]}, normalizer))
                                  for (n, k), i in reading], [texts[n] for (n, _), _ in reading],
                                 [k for (_, k), _ in reading])
        best.update((word, written[i]) for (word, i), right in zip(reading, verdicts) if right)
        queue = {word: tried for word, tried in queue.items() if tried and word not in best}
    for n in {n for n, _ in best}:
        parts[n] = replace_words(parts[n], {k: part for (m, k), part in best.items() if m == n}, normalizer)
        fixed[n] += sum(m == n for m, _ in best)
    return set(todo) - set(best)


def replace_words(parts: list[SampledLine], new: dict[int, SampledLine], normalizer) -> list[SampledLine]:
    """A line's parts with part k replaced by new[k], each word after a replaced one moved
    to keep its place beside it (`keep_the_gap`).  The gaps are fixed after every
    replacement: a new word k+1 was written from where the OLD word k ended."""
    out = [new.get(k, part) for k, part in enumerate(parts)]
    if 0 in new and parts[0].begin is not None:
        out[0] = replace(out[0], begin=parts[0].begin)    # a new first word began where the line did
    for k in new:
        if k + 1 < len(out):
            out[k + 1] = keep_the_gap(parts[k], out[k], out[k + 1], normalizer)
    return out


def _end_from_edge(part: SampledLine, normalizer) -> np.ndarray:
    """(x, y) of where the part's pen ends, from the right edge and the middle height of
    its ink (pen units)."""
    moves = part.offsets[1:, :2].astype(np.float64)                  # row 0: the part's fixed start
    if normalizer is not None:
        moves = moves * normalizer.std + normalizer.mean
    points = np.cumsum(moves, axis=0)
    if not len(points):
        return np.zeros(2)
    return points[-1] - np.array([points[:, 0].max(), np.median(points[:, 1])])


def keep_the_gap(old: SampledLine, new: SampledLine, after: SampledLine, normalizer) -> SampledLine:
    """`after` (the part that followed `old`) moved so that it sits beside `new` as it sat
    beside `old`: the same gap from the word's right edge, the same height from its middle.
    A word ends where its last stroke ends, often an i's dot or a t's bar well inside it;
    without this a replaced word that ends elsewhere leaves a wide gap or a step."""
    if len(after.offsets) < 2:
        return after
    shift = _end_from_edge(old, normalizer) - _end_from_edge(new, normalizer)   # pen units
    if normalizer is not None:
        shift = shift / normalizer.std
    offsets = after.offsets.copy()
    offsets[1, :2] += shift.astype(offsets.dtype)                    # the pen-up move into the next word
    return replace(after, offsets=offsets)
