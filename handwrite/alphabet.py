"""The set of characters the model can write, and text <-> integer codes.

Index 0 is reserved for padding, so a batch of texts of different lengths can be
stored in one rectangular tensor whose padded cells encode to all-zero one-hots.
"""
from __future__ import annotations

import unicodedata

# Typographic characters people paste, mapped to what IAM writers actually wrote.
TYPOGRAPHIC = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ",
    "\t": " ",
}


class UnsupportedCharacterError(ValueError):
    """Raised for text holding characters the model was not trained on."""

    def __init__(self, text: str, positions: list[int], alphabet: "Alphabet"):
        self.text = text
        self.positions = positions
        shown = ", ".join(f"{text[i]!r} (U+{ord(text[i]):04X}) at position {i}" for i in positions[:5])
        more = f" and {len(positions) - 5} more" if len(positions) > 5 else ""
        super().__init__(
            f"unsupported character{'s' if len(positions) > 1 else ''}: {shown}{more}. "
            f"Supported characters: {alphabet.chars!r}"
        )


class Alphabet:
    """An ordered set of characters; code of chars[i] is i + 1 (0 = padding)."""

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars):
            raise ValueError("alphabet has repeated characters")
        self.chars = "".join(sorted(chars))
        self._index = {c: i + 1 for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, Alphabet) and other.chars == self.chars

    def __repr__(self) -> str:
        return f"Alphabet({self.chars!r})"

    @property
    def size(self) -> int:
        """Width of the one-hot vectors, padding included."""
        return len(self.chars) + 1

    def normalize(self, text: str) -> str:
        """Map pasted typography (curly quotes, dashes, NBSP...) onto supported characters.

        Only characters outside the alphabet are touched, and only when the mapped
        form is supported; anything else is left for `encode` to reject by name.
        """
        out = []
        for ch in text:
            if ch in self._index:
                out.append(ch)
                continue
            mapped = TYPOGRAPHIC.get(ch)
            if mapped is None:
                # e.g. full-width letters or ligatures: NFKC gives the plain form
                nfkc = unicodedata.normalize("NFKC", ch)
                if nfkc != ch and all(c in self._index for c in nfkc):
                    mapped = nfkc
            if mapped is not None and all(c in self._index for c in mapped):
                out.append(mapped)
            else:
                out.append(ch)
        return "".join(out)

    def unsupported(self, text: str) -> list[int]:
        """Positions of characters that are not in the alphabet."""
        return [i for i, c in enumerate(text) if c not in self._index]

    def check(self, text: str) -> None:
        bad = self.unsupported(text)
        if bad:
            raise UnsupportedCharacterError(text, bad, self)

    def encode(self, text: str) -> list[int]:
        """Codes of `text`; raises UnsupportedCharacterError naming any unknown character."""
        self.check(text)
        return [self._index[c] for c in text]

    def decode(self, codes) -> str:
        return "".join(self.chars[int(c) - 1] for c in codes if int(c) > 0)
