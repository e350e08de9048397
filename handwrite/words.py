"""Words right or wrong: how legibility is judged, word by word.

A reading is compared with the text a word at a time, fairly: case-folded, punctuation
stripped, and with the confusions a recogniser makes but a person reading the intended
text never does folded together (I, l, 1 and |; 0 and O).  A word of the text counts
as read when it is matched in an alignment of the two word sequences, so one split or
merged word does not shift every word after it.
"""
from __future__ import annotations

import difflib
import string

_STRIP = str.maketrans("", "", string.punctuation.replace("|", ""))
_CONFUSED = str.maketrans({"i": "l", "1": "l", "|": "l", "0": "o"})


def fold_word(word: str) -> str:
    """A word as compared: 'Ill,' and 'lll' are the same word, so are '0n' and 'On'."""
    return word.translate(_STRIP).casefold().translate(_CONFUSED)


def words_of(text: str) -> list[str]:
    """The folded words of a text; pure punctuation is not a word."""
    return [w for w in (fold_word(t) for t in text.split()) if w]


def aligned_hits(want, got) -> list[bool]:
    """For each item of the sequence `want`, whether an alignment with `got` keeps it."""
    hit = [False] * len(want)
    for block in difflib.SequenceMatcher(a=want, b=got, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            hit[block.a + k] = True
    return hit


def matched_words(reading: str, text: str) -> list[bool]:
    """For each word of `text`, whether `reading` has it (in order, by alignment)."""
    return aligned_hits(words_of(text), words_of(reading or ""))


# capitals written like their small letters, only larger (and I, which readers take for l):
# whether the reader calls them capitals says nothing of how they are written
SAME_SHAPE_CAPITALS = set("CIKOPSUVWXYZ")


def last_word_right(reading: str, text: str, next_letter: str = "") -> bool:
    """Whether `reading` has the last word of `text` (aligned, folded as `fold_word` does),
    and, when that word begins with a capital whose shape differs from its small letter,
    a word that begins with that capital: the word check's verdict on a word just written.
    next_letter: the first letter of the word that follows, whose first stroke may end the
    strokes and be read as part of this word ("lazyd" for "lazy dog"): one letter more is
    forgiven, but only that letter; a doubled or stray last letter ("yearr" before "we")
    is the writer's slip, and the reader would otherwise let it pass."""
    hit = matched_words(reading, text)
    if not hit or not hit[-1]:
        last = fold_word(text.split()[-1]) if text.split() else ""
        joined = last + fold_word(next_letter) if next_letter else None
        if not (last and joined and joined != last and joined in words_of(reading)):
            return False
    want = text.split()[-1].translate(_STRIP)
    if not want[:1].isupper() or want[0] in SAME_SHAPE_CAPITALS:
        return True
    return any(w.translate(_STRIP)[:1] == want[0] for w in reading.split())


# A letter the model may write so like another that a person reads the other, while the
# reader still prefers the intended one by a little: a joined-up k whose kick is only a
# bump reads "h" to a person ("lahe").  Such a word counts as misread unless the reader
# finds its text at least LOOKALIKE_MARGIN nats likelier than the text with that letter
# as its look-alike (docs/reading.md, session 27).
LOOKALIKES = {"k": "h"}
LOOKALIKE_MARGIN = 4.5


def lookalike_rivals(text: str, words: set[int] | None = None) -> list[tuple[int, str]]:
    """(word index in text.split(), the text with one letter of that word as its look-alike)
    for every LOOKALIKES letter of the words `words` (None: every word)."""
    rivals, at = [], 0
    for k, word in enumerate(text.split()):
        at = text.index(word, at)
        if words is None or k in words:
            rivals += [(k, text[:at + i] + LOOKALIKES[ch] + text[at + i + 1:])
                       for i, ch in enumerate(word) if ch in LOOKALIKES]
        at += len(word)
    return rivals


def close_calls(rivals: list[tuple[int, str]], score: float, rival_scores: list[float]) -> set[int]:
    """The words (indices) whose text the reader prefers to a rival's by less than LOOKALIKE_MARGIN."""
    return {k for (k, _), rival in zip(rivals, rival_scores) if score - rival < LOOKALIKE_MARGIN}


def misread_indices(reading: str, text: str) -> list[int]:
    """Indices (in text.split()) of the words of `text` that `reading` does not have, by
    alignment, with `last_word_right`'s rule for capitals; a token that is all punctuation
    is not judged."""
    tokens = text.split()
    judged = [i for i, t in enumerate(tokens) if fold_word(t)]
    hits = matched_words(reading, " ".join(tokens[i] for i in judged))
    capitals = {w.translate(_STRIP)[:1] for w in reading.split()}
    bad = []
    for i, hit in zip(judged, hits):
        want = tokens[i].translate(_STRIP)
        if not hit or (want[:1].isupper() and want[0] not in SAME_SHAPE_CAPITALS and want[0] not in capitals):
            bad.append(i)
    return bad


def word_accuracy(readings: list[str], texts: list[str]) -> float:
    """Share of the texts' words that the readings have."""
    hits = [h for r, t in zip(readings, texts, strict=True) for h in matched_words(r, t)]
    return sum(hits) / len(hits) if hits else 1.0


def missed_by_all(readings_by: dict[str, list[str]], texts: list[str]) -> float:
    """Share of the texts' words that NO recogniser read: a word only a machine's quirk
    loses is read by another; one that all miss is most likely written wrong."""
    missed = total = 0
    for i, text in enumerate(texts):
        per = [matched_words(readings[i], text) for readings in readings_by.values()]
        n = len(words_of(text))
        total += n
        missed += sum(not any(p[k] for p in per) for k in range(n))
    return missed / total if total else 0.0


def misread_words(reading: str, text: str) -> list[str]:
    """The words of `text` (as written there) that `reading` does not have."""
    shown = [t for t in text.split() if fold_word(t)]
    return [w for w, hit in zip(shown, matched_words(reading, text)) if not hit]


AGREES = 0.5     # below this similarity, a text is not what the strokes say (a reader's slips stay above)


def text_agrees(reading: str, text: str) -> bool:
    """Whether a reading is close enough to a text to be the same line: a person typing
    what they wrote passes even where the reader slips; another sentence does not."""
    a, b = " ".join(reading.casefold().split()), " ".join(text.casefold().split())
    return difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio() >= AGREES
