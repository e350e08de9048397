"""Every word right: lines written a word at a time, each word judged as it is written.

The lines of a batch write their words in rounds (a word's part ends at the pen lift
before the next word's first stroke: the loop's `until`).  In a round, every unfinished line
writes its next word, once; a word the judge finds misread is written again as
`candidates` rows branched from where the line's kept words ended (`Resume`), for up to
`rounds` more rounds.  The best candidate is kept and its line goes on from where ITS
strokes ended, so a kept word is never written over.  A word still misread after every
round is kept at its best and counted.  The judge (the writer's reader) is passed in:
sampling knows nothing of reading.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .finish import SampledLine
from .loop import Step, _sample_lines, run_to_end
from .stopping import MIN_STEPS, STEPS_PER_CHAR


@dataclass
class Candidate:
    """One way a line's latest word came out, for the judge: the word and, for context,
    the kept word before it (reading more of the line costs more and says no more).  The
    strokes may begin with the end of an earlier word and end with the first stroke of
    the next: the judge aligns words."""
    line: int               # index of the line in the batch
    text: str               # the word before (if any), a space, and this word
    offsets: np.ndarray     # (T, 3) normalised offsets of those words' strokes, this word last
    next_letter: str = ""   # the first letter of the word that follows (its first stroke may end the strokes)


def word_ends(text: str) -> list[int]:
    """The index after each word of `text` (its following space; the last: len(text))."""
    ends, inside = [], False
    for i, ch in enumerate(text):
        if ch.isspace() and inside:
            ends.append(i)
        inside = not ch.isspace()
    if inside or not ends:
        ends.append(len(text))
    return ends


def checked_lines(model, codes: list[list[int]], texts: list[str], judge, *, candidates: int = 4,
                  rounds: int = 2, seed: int | None = None, stream: bool = False, **settings):
    """`sample_lines` with every word judged (a generator: a `Step` per kept point when
    `stream`; returns the lines, each with its `rewritten_words` and `misread_words`).

    texts: what each line says (the judge compares with it; codes may differ from it only
    letter for letter, as the writer's stand-in capitals do); judge(candidates) -> one
    (read right, score) per `Candidate`; settings: those of `sample_lines`.  Runs torch on
    one thread, as `stream_lines` does (a step is too small to gain from more)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return (yield from _checked(model, codes, texts, judge, candidates, rounds, seed, stream, settings))
    finally:
        torch.set_num_threads(threads)


def _checked(model, codes, texts, judge, candidates, rounds, seed, stream, settings):
    rng = np.random.default_rng(seed)
    ends = [word_ends(t) if len(t) == len(c) else [len(c)] for t, c in zip(texts, codes)]
    parts: list[list[SampledLine]] = [[] for _ in codes]
    best: list[tuple | None] = [None] * len(codes)     # (right, score, part) of the word being written
    tries, rewritten, misread = [0] * len(codes), [0] * len(codes), [[] for _ in codes]
    while True:
        todo = [n for n in range(len(codes)) if len(parts[n]) < len(ends[n])]
        if not todo:
            break
        rows = [n for n in todo for _ in range(1 if tries[n] == 0 else candidates)]
        written = _write_round(model, codes, ends, parts, rows, int(rng.integers(0, 2**62)), settings)
        verdicts = judge([_candidate(n, texts[n], ends[n], parts[n], part) for n, part in zip(rows, written)])
        for n, part, (right, score) in zip(rows, written, verdicts):
            # a part that ended with its line (no word after it begun) cannot be written on from
            usable = part.resume is not None or len(parts[n]) + 1 == len(ends[n])
            if best[n] is None or (usable, right, score) > best[n][:3]:
                best[n] = (usable, right and usable, score, part)
        for n in todo:
            usable, right, _, part = best[n]
            if not right and tries[n] < rounds:
                tries[n] += 1
                continue
            rewritten[n] += tries[n] > 0
            if not right:
                misread[n].append(texts[n][:ends[n][len(parts[n])]].split()[-1])
            parts[n].append(part)
            best[n], tries[n] = None, 0
            if not usable:                   # the line ended early: its other words are not written
                misread[n] += texts[n].split()[len(parts[n]):]
                ends[n] = ends[n][:len(parts[n])]
            if stream:
                yield from _kept_steps(n, part)
    return [replace(_joined(p), rewritten_words=r, misread_words=tuple(m))
            for p, r, m in zip(parts, rewritten, misread)]


def _candidate(n: int, text: str, ends: list[int], kept: list[SampledLine], part: SampledLine) -> Candidate:
    """Line n's latest word `part` with the kept word before it."""
    k = len(kept)
    start = ends[k - 2] if k >= 2 else 0                       # where the word before begins
    # a part begins with the end of the word before it (its last stroke, its dots): two kept
    # parts hold the word before whole
    following = text[ends[k]:].split() if k + 1 < len(ends) else []
    return Candidate(n, text[start:ends[k]].strip(), _joined(kept[-2:] + [part]).offsets,
                     following[0][:1] if following else "")


def _write_round(model, codes, ends, parts, rows: list[int], seed: int, settings: dict) -> list[SampledLine]:
    """Each row's line's next word (the last: to the line's end), from where the line's
    kept words ended; rows with nothing kept yet start at the primer."""
    out: dict[int, SampledLine] = {}
    for fresh in (True, False):
        group = [k for k, n in enumerate(rows) if (not parts[n]) == fresh]
        if not group:
            continue
        lines = [rows[k] for k in group]
        until = [ends[n][len(parts[n])] if len(parts[n]) + 1 < len(ends[n]) else None for n in lines]
        char_bias = settings.get("char_bias")
        # steps enough for the longest text a row still has to write, not the whole line's
        todo = max((ends[n][-1] if u is None else u) - (ends[n][len(parts[n]) - 1] if parts[n] else 0)
                   for n, u in zip(lines, until))
        cap = max(STEPS_PER_CHAR * todo, MIN_STEPS)
        if settings.get("max_steps") is not None:
            cap = min(cap, settings["max_steps"])
        sampled = run_to_end(_sample_lines(model, [codes[n] for n in lines], seed=seed + fresh, until=until,
                                     resume=None if fresh else [parts[n][-1].resume for n in lines],
                                     **{**settings, "max_steps": cap, "char_bias": None if char_bias is None else
                                        [char_bias[n] for n in lines]}))
        out.update(zip(group, sampled))
    return [out[k] for k in range(len(rows))]


def _joined(parts: list[SampledLine]) -> SampledLine:
    """A line's parts as one line: offsets and attention one after the other."""
    if len(parts) == 1:
        return parts[0]
    offsets = np.concatenate([parts[0].offsets] + [p.offsets[1:] for p in parts[1:]])
    before = len(offsets) - len(parts[-1].offsets)         # rows ahead of the last part
    last = parts[-1]
    drawn = [p.drawn for p in parts if p.drawn is not None]
    drawn_on = [p.drawn_on for p in parts if p.drawn_on is not None]
    return SampledLine(offsets, np.concatenate([p.phi for p in parts]), all(p.finished for p in parts),
                       None if last.left_text_at is None else before + last.left_text_at,
                       np.concatenate(drawn) if drawn else None, np.concatenate(drawn_on) if drawn_on else None,
                       last.resume)


def _kept_steps(n: int, part: SampledLine):
    """A kept word's points as sampling steps of line n (what a stream shows)."""
    for row in part.offsets[1:]:
        yield Step(np.array([n]), row[None].copy(), np.array([True]))
