"""When a line is written: the stopping rule and its thresholds.

A line stops when the window has left its text (it weighs the position past the end
the most), the letter being written has ended, and a few more steps found no delayed
stroke of the last word; or when it reaches its step cap (a line the network fails to
finish: `SampledLine.finished` False).
"""
from __future__ import annotations

import torch

STEPS_PER_CHAR = 30      # hard cap on the length of a line, per character (typical: ~8)
MIN_STEPS = 60
END_STEPS = 20           # after the window leaves the text: steps allowed to finish the last stroke
LOOKAHEAD = 16           # then steps drawn to catch delayed strokes (a t's bar, an i's dot) ...
TAIL_STROKES = 2         # ... at most this many of them


class _Lines:
    """The lines still being written, one row each.

    Every per-line tensor lives here and shrinks together (`keep`) when lines stop, so
    the step loop does no indexing by the set of lines still alive.
    """
    FIELDS = ("rows", "noise", "past_end", "lengths", "caps", "ending", "extra", "written", "look", "tail",
              "pen_up", "written_at", "char_bias")

    def __init__(self, noise, lengths, caps, x, char_bias=None, width: int | None = None):
        B, dev = len(lengths), lengths.device
        U = width or int(lengths.max()) + 1                      # the texts' width (phi's)
        self.rows = torch.arange(B, device=dev)                  # each row's line in the batch
        self.noise, self.lengths, self.caps = noise, lengths, caps
        self.char_bias = char_bias                               # (B, U) bias added under each character, or None
        self.past_end = torch.arange(U, device=dev).unsqueeze(0) > lengths.unsqueeze(1)   # cells after the end
        self.ending = torch.zeros(B, dtype=torch.bool, device=dev)     # the window has left the text
        self.extra = torch.zeros(B, dtype=torch.long, device=dev)      # steps since then
        self.written = torch.zeros(B, dtype=torch.bool, device=dev)    # ... and its last stroke has ended
        self.look = torch.zeros(B, dtype=torch.long, device=dev)       # steps since then
        self.tail = torch.zeros(B, dtype=torch.long, device=dev)       # strokes ended since then
        self.pen_up = x[:, 2] > 0.5                                      # the last point ended a stroke
        self.written_at = torch.zeros(B, dtype=torch.long, device=dev)  # steps up to the end of the last letter's stroke
        self.padded = bool(self.past_end.any())                 # some line is shorter than another

    def keep(self, keep: torch.Tensor) -> None:
        for name in self.FIELDS:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value[keep])
        self.padded = bool(self.past_end.any())

    def bias(self, bias: float, phi: torch.Tensor):
        """The sampling bias of each line at this step: `bias`, plus the extra bias of the
        characters the window (phi, (B, U)) is on."""
        if self.char_bias is None:
            return bias
        return bias + (phi * self.char_bias).sum(1)              # (B,)

    def left_text(self, phi: torch.Tensor) -> torch.Tensor:
        """(B,) bool: the window (phi (B, U)) weighs the position past the line's end the most."""
        return (phi.masked_fill(self.past_end, -1.0) if self.padded else phi).argmax(dim=1) == self.lengths


def _track_line_ends(lines: _Lines, record, step: int, left, pen_up, judge_tails: bool):
    """Advance each line's end-of-line state by one step: (done, stop) masks over the rows.

    The letter being written when the window leaves ends at the next pen lift; with the
    pen already up, this step's point would begin a new stroke after the text.  Then a
    few more steps are drawn: the strokes among them that are a delayed part of the
    last word (a t's bar, an i's dot) are kept, the made-up letters that usually follow
    are not (`finish._delayed_strokes`, once the line is done).
    """
    newly = left & ~lines.ending
    if bool(newly.any()):
        record.left_step[lines.rows[newly]] = step
    early = newly & lines.pen_up & (step > 0)
    lines.ending = lines.ending | left
    lines.extra = lines.extra + lines.ending
    cap_hit = lines.ending & ~lines.written & (lines.extra > END_STEPS)
    now_written = lines.ending & ~lines.written & (pen_up | early | cap_hit)
    lines.written_at = torch.where(now_written, step + 1 - early.long(), lines.written_at)
    looking = lines.written | (now_written & early)
    lines.look = lines.look + looking
    lines.tail = lines.tail + (looking & pen_up)
    lines.written = lines.written | now_written
    done = cap_hit | (lines.written & ((lines.look >= LOOKAHEAD) | (lines.tail >= TAIL_STROKES)))
    if not judge_tails:
        done = done | now_written          # no units to judge delayed strokes in: end here
    stop = done | (lines.caps <= step + 1)
    lines.pen_up = pen_up
    return done, stop
