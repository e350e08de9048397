"""Capital letters: the network writes them worse than small letters, because IAM-OnDB
holds few of them.  Three remedies, together one policy of the writing pipeline
(`CapitalPolicy`, handwrite.pipeline):

- a steadier pen on capitals: extra sampling bias while the attention window is on one
  (`capital_bias`);
- stand-ins for the capitals the data barely holds: of IAM-OnDB's 12,134 lines, 4 hold
  a capital X and 10 a capital Z (T: 1,307), and the network never learned their shape.
  Their capital form is their small letter made larger, so the network writes the small
  letter and the writer enlarges its strokes (`model_text`, then
  `handwrite.letters.enlarge_letters` at `stand_in_positions` by CAPITAL_SCALE, and
  wider again by CAPITAL_WIDEN);
- a check: a one-word line whose capital E, H or K the network itself, reading the
  strokes back, finds too close to a rival letter is written again (`capitals_clear`,
  handwrite.likelihood; docs/capitals.md).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .drafts import Check, CheckContext, LineDraft, Step
from .letters import enlarge_letters
from .likelihood import capital_margins
from .options import WriterOptions

STAND_INS = {"X": "x", "Z": "z"}
CAPITAL_SCALE = 1.5            # a capital's height over the small letter's (x-height), by eye on the model's hands
# ... and its width over the small letter's is CAPITAL_SCALE times this: the model's x starts
# with a near-vertical stroke that Tesseract read as K in 17-19 of 20 seeds when only enlarged;
# widened, the strokes lean like an X's (read right: Tesseract 3 -> 12 of 20, PP-OCR 14 -> 17;
# Z 17 -> 19 and 19 -> 19; 1.3: 9 / 17, 1.8: 11 / 18; docs/capitals.md)
CAPITAL_WIDEN = 1.6


def capital_bias(text: str, extra: float = WriterOptions.steady_capitals) -> np.ndarray:
    """(len(text),) extra sampling bias per character: `extra` on capitals, 0 elsewhere."""
    return np.array([extra if c.isupper() else 0.0 for c in text], np.float32)


def model_text(text: str) -> str:
    """The text the network is asked to write: stand-in capitals as their small letters."""
    return "".join(STAND_INS.get(c, c) for c in text)


def stand_in_positions(text: str) -> list[int]:
    """Positions in `text` of capitals the network writes as stand-ins."""
    return [i for i, c in enumerate(text) if c in STAND_INS]


def enlarge_stand_ins(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """The small letters written for stand-in capitals enlarged to capitals (a line step)."""
    if draft.model_text == draft.text:
        return draft
    points = enlarge_letters(draft.points, draft.phi, stand_in_positions(draft.text), CAPITAL_SCALE, CAPITAL_WIDEN)
    return replace(draft, points=points)


def capitals_clear(drafts: list[LineDraft], context: CheckContext) -> list[float]:
    """For usable drafts: how much clearer, in nats, each line's checked capitals are than
    they need to be (`likelihood.capital_margins`; one batched read; below 0: write it
    again); inf for a line not checked (more than `checked_words` words, no E, H or K)."""
    writer = context.writer
    # a line whose words the word check replaced has no single drawing to read back
    short = [len(d.text.split()) <= writer.options.checked_words and d.sampled.drawn is not None for d in drafts]
    lines = [(d.sampled.drawn, d.model_text, d.sampled.drawn_on) for d, ok in zip(drafts, short) if ok]
    margins = iter(capital_margins(writer.model, writer.alphabet, lines, context.primer))
    return [next(margins) if ok else np.inf for ok in short]


class CapitalPolicy:
    """The capital machinery as one policy of the pipeline: what the network is asked for
    (stand-ins, `model_text`), a steadier pen on capitals (`char_bias`), the stand-ins
    enlarged (a line step) and unclear capitals written again (a check).  Switched by
    WriterOptions.stand_in_capitals, .steady_capitals, .check_capitals."""
    name = "capitals"
    line_steps = (Step("enlarge_stand_ins", enlarge_stand_ins, "stand_in_capitals"),)
    checks = (Check("capitals_clear", capitals_clear, "check_capitals", retries="capital_retries"),)

    def model_text(self, text: str, alphabet, options: WriterOptions) -> str:
        """Stand-in capitals as their small letters, where the alphabet has them."""
        if not options.stand_in_capitals:
            return text
        stand_in = model_text(text)
        return stand_in if all(c in alphabet for c in stand_in) else text

    def char_bias(self, text: str, options: WriterOptions) -> np.ndarray:
        return capital_bias(text, options.steady_capitals)
