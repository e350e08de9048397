"""Letter by letter: how often the reader reads each character right (`handwrite eval --letters`).

Two columns per character, both read by the bundled reader:
- people: every character of the validation writers' real lines;
- model: words of those lines that hold the character, each written alone by the
  model (several seeds), so that rare letters (x, z, capitals) get enough tries.
A character counts as read right when the reading's alignment with the text keeps it.
"""
from __future__ import annotations

import numpy as np

from ..words import aligned_hits

TRIES = 10            # model-written words per character (more seeds when there are fewer words)
WRITE_BATCH = 32


def char_hits(reading: str, text: str) -> list[bool]:
    """For each character of `text`, whether the reading has it (aligned, case kept)."""
    return aligned_hits(text, reading)


def tally(readings: list[str], texts: list[str], chars: str) -> dict:
    """char -> [right, tries] over the texts' characters in `chars`."""
    out = {c: [0, 0] for c in chars}
    for reading, text in zip(readings, texts, strict=True):
        for c, hit in zip(text, char_hits(reading, text)):
            if c in out:
                out[c][0] += hit
                out[c][1] += 1
    return out


def words_with(texts: list[str], char: str, n: int, rng: np.random.Generator) -> list[str]:
    """Up to n distinct words of the texts that hold `char` (punctuation kept with its word)."""
    found = sorted({w for t in texts for w in t.split() if char in w})
    rng.shuffle(found)
    return found[:n]


def evaluate_letters(data_dir, weights=None, *, bias: float = 0.75, seed: int = 0, split: str = "auto",
                     tries: int = TRIES, style=None, chars: str | None = None, progress: bool = True,
                     cache_dir=None, precision: str | None = None, reader=None) -> dict:
    """Per character: the reader's hit rate in people's lines and in the model's words.

    reader: a `Reader` (default: the bundled one)."""
    from tqdm import tqdm

    from .evaluate import bundled_reader, human_strokes, prepare
    reader = reader or bundled_reader()
    if reader is None:
        raise ValueError("this installation has no bundled reader: --letters needs one")
    evalset = prepare(data_dir, weights, split=split, seed=seed, cache_dir=cache_dir, progress=progress,
                      precision=precision)
    lines, writer = evalset.lines, evalset.writer
    chars = chars or "".join(c for c in writer.alphabet.chars if c.isalnum())
    people = reader.read_many([human_strokes(lines.line(i)) for i in range(len(lines))])
    human = tally(people, lines.texts, chars)

    rng = np.random.default_rng(seed)
    jobs = []                       # (char, word, seed)
    for c in chars:
        words = words_with(lines.texts, c, tries, rng)
        jobs += [(c, words[k % len(words)], seed + k) for k in range(tries)] if words else []
    model = {c: [0, 0] for c in chars}
    misread = {c: [] for c in chars}
    for a in tqdm(range(0, len(jobs), WRITE_BATCH), desc="writing words", disable=not progress):
        part = jobs[a:a + WRITE_BATCH]
        docs = writer.write_many([w for _, w, _ in part], bias=bias, style=style, seed=seed + a)
        for (c, word, _), hw, reading in zip(part, docs, reader.read_many(docs)):
            hits = [h for ch, h in zip(word, char_hits(reading, word)) if ch == c]
            model[c][0] += all(hits)
            model[c][1] += 1
            if not all(hits):
                misread[c].append(f"{word}->{reading}")
    rows = [{"char": c, "people": _rate(human[c]), "people_tries": human[c][1],
             "model": _rate(model[c]), "model_tries": model[c][1], "misread": misread[c][:3]} for c in chars]
    return {"bias": bias, "seed": seed, "split": evalset.split, "weights": evalset.weights,
            "reader": reader.info, "letters": rows}


def _rate(pair) -> float | None:
    return pair[0] / pair[1] if pair[1] else None


def format_letters_report(r: dict, below: float = 0.95) -> str:
    def pct(v):
        return "   -" if v is None else f"{100 * v:4.0f}"
    out = [f"characters read right by the reader (bias {r['bias']:g}, {r['split']} lines; weights: {r['weights']})",
           "char  people  model  (tries)  misread in the model's words"]
    for row in r["letters"]:
        flag = " <" if row["model"] is not None and row["model"] < below else ""
        out.append(f"  {row['char']}    {pct(row['people'])}%  {pct(row['model'])}%  ({row['model_tries']:>3}){flag}  "
                   + ", ".join(row["misread"]))
    weak = [row["char"] for row in r["letters"] if row["model"] is not None and row["model"] < below]
    out.append(f"below {100 * below:.0f}% in the model's writing: {''.join(weak) or 'none'}")
    return "\n".join(out)
