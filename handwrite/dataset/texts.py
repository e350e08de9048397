"""The sample texts: a text file read as a stream, line by line, cut into shards.

A file of any size is read a line at a time (never whole); when the run asks for more
lines than the file has usable ones, it is read again from its start.  A line with a
character outside the model's alphabet is skipped and counted (with `strict`, an error
naming the character and the line); so is a line too long to write as one line.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TextCounts:
    """What the first pass over the file found: usable lines, and those skipped and why."""
    usable: int = 0
    unsupported: int = 0               # lines skipped for characters outside the alphabet
    too_long: int = 0
    characters: Counter = field(default_factory=Counter)   # the unsupported characters, counted

    def to_dict(self) -> dict:
        return {"usable": self.usable, "skipped_unsupported": self.unsupported, "skipped_too_long": self.too_long,
                "unsupported_characters": dict(self.characters.most_common(20))}


def usable_lines(path, alphabet, *, strict: bool = False, max_chars: int = 75, counts: TextCounts | None = None):
    """(line number, text) of every usable line of the file, the text as the writer will
    write it (typography mapped onto the alphabet, spaces collapsed)."""
    path = Path(path)
    try:
        handle = open(path, encoding="utf-8", newline=None)
    except OSError as e:
        raise OSError(f"{path}: cannot read the texts ({e.strerror or e})") from None
    counts = counts if counts is not None else TextCounts()
    with handle:
        number = 0
        try:
            for number, raw in enumerate(handle, 1):
                text = " ".join(alphabet.normalize(raw.strip("\r\n")).split())
                if not text:
                    continue
                bad = [c for c in text if alphabet.unsupported(c)]
                if bad:
                    if strict:
                        raise ValueError(f"{path}: line {number}: character {bad[0]!r} (U+{ord(bad[0]):04X}) "
                                         "is not in the model's alphabet")
                    counts.unsupported += 1
                    counts.characters.update(bad)
                    continue
                if len(text) > max_chars:
                    if strict:
                        raise ValueError(f"{path}: line {number} has {len(text)} characters, more than "
                                         f"`max_chars` ({max_chars})")
                    counts.too_long += 1
                    continue
                counts.usable += 1
                yield number, text
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: line {number + 1} is not UTF-8 text ({e.reason})") from None


def shard_texts(path, alphabet, lines: int, shard_lines: int, *, strict: bool = False, max_chars: int = 75,
                counts: TextCounts | None = None):
    """(shard index, [(line number, text)]) for the run's `lines` lines, `shard_lines` a
    shard; the file is read again from the start when it runs out.  ValueError for a file
    with no usable line."""
    counts = counts if counts is not None else TextCounts()
    shard, buffer, taken, first_pass = 0, [], 0, True
    while taken < lines:
        found = False
        source = usable_lines(path, alphabet, strict=strict, max_chars=max_chars,
                              counts=counts if first_pass else TextCounts())
        for item in source:
            found = True
            buffer.append(item)
            taken += 1
            if len(buffer) == shard_lines or taken == lines:
                yield shard, buffer
                shard, buffer = shard + 1, []
            if taken == lines:
                source.close()
                break
        if not found:
            why = "is empty" if not (counts.unsupported or counts.too_long) else (
                f"has no usable line ({counts.unsupported} with characters outside the alphabet, "
                f"{counts.too_long} too long)")
            raise ValueError(f"{path}: the text file {why}: nothing to write")
        first_pass = False
