"""Capital letters: the network writes them worse than small letters, because IAM-OnDB
holds few of them.  Two remedies, both applied by the writer:

- a steadier pen on capitals: extra sampling bias while the attention window is on one
  (`capital_bias`);
- stand-ins for the capitals the data barely holds: of IAM-OnDB's 12,134 lines, 4 hold
  a capital X and 10 a capital Z (T: 1,307), and the network never learned their shape.
  Their capital form is their small letter made larger, so the network writes the small
  letter and the writer enlarges its strokes (`model_text`, then
  `handwrite.letters.enlarge_letters` at `stand_in_positions` by CAPITAL_SCALE, and
  wider again by CAPITAL_WIDEN).
"""
from __future__ import annotations

import numpy as np

STEADY_CAPITALS = 1.0          # extra bias on capitals; measured in docs/capitals.md
STAND_INS = {"X": "x", "Z": "z"}
CAPITAL_SCALE = 1.5            # a capital's height over the small letter's (x-height), by eye on the model's hands
# ... and its width over the small letter's is CAPITAL_SCALE times this: the model's x starts
# with a near-vertical stroke that Tesseract read as K in 17-19 of 20 seeds when only enlarged;
# widened, the strokes lean like an X's (read right: Tesseract 3 -> 12 of 20, PP-OCR 14 -> 17;
# Z 17 -> 19 and 19 -> 19; 1.3: 9 / 17, 1.8: 11 / 18; docs/capitals.md)
CAPITAL_WIDEN = 1.6


def capital_bias(text: str, extra: float = STEADY_CAPITALS) -> np.ndarray:
    """(len(text),) extra sampling bias per character: `extra` on capitals, 0 elsewhere."""
    return np.array([extra if c.isupper() else 0.0 for c in text], np.float32)


def model_text(text: str) -> str:
    """The text the network is asked to write: stand-in capitals as their small letters."""
    return "".join(STAND_INS.get(c, c) for c in text)


def stand_in_positions(text: str) -> list[int]:
    """Positions in `text` of capitals the network writes as stand-ins."""
    return [i for i, c in enumerate(text) if c in STAND_INS]
