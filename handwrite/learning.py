"""Learning a hand: low-rank adapters (`adapters.py`) fitted to a person's primer lines.

The loss is the model's own training loss, the mixture density NLL of each next point
with the line's text, teacher-forced (`model.mdn_nll`), on the person's lines.  Alone it
makes the network forget letters the person did not write: a full fine-tune on one line
wrote "the one mantis" as "aremmantis".  Three things keep the writing legible:

- anchors: lines the base model wrote (the presets' pangrams, our model's own writing,
  so every letter is there) keep their NLL in the loss, weighted by `anchor_weight`:
  the adapted model must still write them as well as the base model did;
- the adapters are low-rank (`rank`) and their changes decay (`decay`, weight decay);
- few steps, at a learning rate that moves the hand but not the letters.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from .adapters import Adapters
from .model import HandwritingModel, mdn_nll


@dataclass(frozen=True)
class LearnSettings:
    rank: int = 4
    steps: int = 40
    lr: float = 4e-3
    anchor_weight: float = 1.0
    decay: float = 0.0
    seed: int = 0


@dataclass
class Lines:
    """A batch of teacher-forced lines (as `training.dataset.Batch`): the person's lines
    first, then the anchors, read in one pass (the recurrence is sequential in time: a
    second pass would cost as much again)."""
    inputs: torch.Tensor    # (B, T, 3)
    targets: torch.Tensor   # (B, T, 3)
    mask: torch.Tensor      # (B, T)
    chars: torch.Tensor     # (B, U)
    person: int             # rows 0..person-1 are the person's lines, the rest anchors

    @classmethod
    def of(cls, primers, anchors=()) -> "Lines":
        """primers, anchors: [(normalised offsets (T, 3) with a start row, codes)]."""
        rows = list(primers) + list(anchors)
        T = max(len(o) for o, _ in rows) - 1
        U = max(len(c) for _, c in rows)
        B = len(rows)
        inputs, targets = np.zeros((B, T, 3), np.float32), np.zeros((B, T, 3), np.float32)
        mask, chars = np.zeros((B, T), np.float32), np.zeros((B, U), np.int64)
        for b, (o, c) in enumerate(rows):
            n = len(o) - 1
            inputs[b, :n], targets[b, :n], mask[b, :n] = o[:-1], o[1:], 1
            chars[b, :len(c)] = c
        return cls(*(torch.from_numpy(a) for a in (inputs, targets, mask, chars)), person=len(primers))

    def nll(self, model: HandwritingModel, adapters: Adapters | None = None) -> torch.Tensor:
        """(B,) mean NLL per point of each line (nats), with the adapters when given."""
        if adapters is None:
            y = model(self.inputs, self.chars)
        else:
            y = adapters.forward(model, self.inputs, self.chars)
        point = mdn_nll(y, self.targets, self.mask, model.config.output_mixtures)
        return point.sum(1) / self.mask.sum(1)


def fit_adapters(model: HandwritingModel, lines: Lines, settings: LearnSettings, seconds: float | None = None,
                 progress=None) -> tuple[Adapters, dict]:
    """Adapters fitted to the person's lines of `lines`, its anchors kept: (adapters, a summary).

    progress(done, total): called after each step.  seconds: stop early at this time.
    """
    torch.manual_seed(settings.seed)
    adapters = Adapters.fresh(model, settings.rank, settings.seed)
    opt = torch.optim.AdamW(adapters.parameters(), lr=settings.lr, weight_decay=settings.decay)
    p = lines.person
    with torch.no_grad():
        base = lines.nll(model)
    start, step = time.monotonic(), 0
    for step in range(1, settings.steps + 1):
        nll = lines.nll(model, adapters)
        loss = nll[:p].mean()
        if len(nll) > p:
            # only the anchors' loss above the base model's counts: they should not drift
            loss = loss + settings.anchor_weight * torch.relu(nll[p:] - base[p:]).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(adapters.parameters(), 1.0)
        opt.step()
        if progress is not None:
            progress(step, settings.steps)
        if seconds is not None and time.monotonic() - start > seconds:
            break
    frozen = adapters.frozen()
    with torch.no_grad():
        after = lines.nll(model, frozen)
    summary = {"steps": step, "seconds": round(time.monotonic() - start, 2),
               "nll_before": round(float(base[:p].mean()), 4), "nll_after": round(float(after[:p].mean()), 4)}
    if len(after) > p:
        summary.update(anchor_nll_before=round(float(base[p:].mean()), 4),
                       anchor_nll_after=round(float(after[p:].mean()), 4))
    return frozen, summary


MAX_LINES = 10            # primer lines a hand is learned from
ANCHOR_PRESETS = (9,)     # the presets whose lines anchor the letters (a pangram, model-made); each
                          # line more costs as much time per step as a line of the person's
HANDS_KEPT = 8            # merged models a writer keeps (each a full copy of the weights)


def learn_hand(writer, style, *, seconds: float | None = None, progress=None, settings: LearnSettings | None = None):
    """`Writer.learn`: the style with adapters learned from its lines (a new Style)."""
    from .styles import Style, presets, resolve_style
    style = resolve_style(style)
    if not 1 <= len(style.lines) <= MAX_LINES:
        raise ValueError(f"style {style.name!r}: learning a hand takes 1 to {MAX_LINES} lines, not {len(style.lines)}")
    if seconds is not None and not (isinstance(seconds, (int, float)) and seconds > 0):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    primers = style.primers(writer.alphabet, writer.normalizer)     # ValueError for lines it cannot read
    _warn_misread(writer, style)
    anchors = []
    for k in ANCHOR_PRESETS:
        try:
            anchors += presets()[k].primers(writer.alphabet, writer.normalizer)
        except (IndexError, ValueError):      # no presets installed, or a model that cannot read them
            pass
    with torch.enable_grad():
        adapters, summary = fit_adapters(writer.model, Lines.of(primers, anchors), settings or LearnSettings(),
                                         seconds=seconds, progress=progress)
    info = {k: v for k, v in style.info.items() if k != "learned"}
    learned = Style.from_lines(style.lines, name=style.name, info={**info, "learned": summary})
    learned.adapters, learned.base_digest = adapters, writer.digest
    return learned


def _warn_misread(writer, style) -> None:
    """Warn for each line the writer's reader reads as another text: a hand learned from
    strokes with the wrong text learns the wrong letters."""
    reader = writer.reader
    if reader is None:
        return
    import warnings

    from .words import text_agrees
    for k, (strokes, text) in enumerate(style.lines):
        reading = reader.read(strokes)
        if not text_agrees(reading, text):
            warnings.warn(f"style {style.name!r}, line {k + 1}: the strokes read as {reading!r}, not {text!r}; "
                          "check the text given for them", UserWarning, stacklevel=4)


def hand_model(writer, style) -> HandwritingModel:
    """The writer's model with the style's adapters merged in, kept per writer (at most
    HANDS_KEPT, least recently used dropped): several hands, one base model loaded."""
    if style.base_digest != writer.digest:
        raise ValueError(f"style {style.name!r} was learned on another base model (digest "
                         f"{str(style.base_digest)[:12]}, this writer's {writer.digest[:12]}); learn it again "
                         "with this model")
    key = style.adapters.digest()
    hands = writer._hands
    if key in hands:
        hands.move_to_end(key)
        return hands[key]
    style.adapters.check_fits(writer.model)
    hands[key] = style.adapters.merged(writer.model)
    while len(hands) > HANDS_KEPT:
        hands.popitem(last=False)
    return hands[key]
