"""Learning a hand: low-rank adapters (`adapters.py`) fitted to a person's primer lines.

The loss is the model's own training loss, the mixture density NLL of each next point
with the line's text, teacher-forced (`model.mdn_nll`), on the person's lines.  Alone it
makes the network forget letters the person did not write: a full fine-tune on one line
wrote "the one mantis" as "aremmantis".  Three things keep the writing legible:

- anchors: lines the base model wrote (the presets' pangrams, our model's own writing,
  so every letter is there) keep their NLL in the loss, weighted by `anchor_weight`:
  the adapted model must still write them as well as the base model did;
- only the output layer is adapted (see `LearnSettings.targets`): how each next point is
  drawn changes, not where the attention window is or how the letters follow each other;
- the adapters are low-rank (`rank`), with few steps at a learning rate that moves the
  hand but not the letters (`max_gain` can stop earlier).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .adapters import Adapters
from .model import HandwritingModel, mdn_nll


@dataclass(frozen=True)
class LearnSettings:
    rank: int = 8
    steps: int = 60
    lr: float = 4e-3
    anchor_weight: float = 1.0
    decay: float = 0.0
    seed: int = 0
    max_gain: float | None = None     # stop once the person's lines are this much likelier (nats per point)
    # The fitted change is written with at this fraction of its size.  On 8 validation
    # writers, learned from one line: at 1, the learned lines were as real as people's (a
    # classifier told them apart in 0.40 of cases) but both OCRs missed 0.49 of their words
    # (primed only: 0.33); at 0.5, 0.56 and 0.27.
    strength: float = 0.5
    # What is adapted: the output layer only, by default.  Adapting the recurrent layers too
    # (adapters.TARGETS, BIASES) fits the lines far better but breaks the writing of other
    # text: on a model-made stand-in's 98-word paragraph, without the word check, the reader
    # misread 44 words (primed with the same line, unlearned: 1), with the output layer
    # alone 7-9.  The layer's input, the hidden states, then stay the base model's: they
    # are read once, and learning takes seconds.
    targets: tuple = ("output.weight",)
    biases: tuple = ("output.bias",)


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

    def hidden(self, model: HandwritingModel) -> torch.Tensor:
        """(B, T, 3H): what the output layer reads, [h1, h2, h3] of every step, without gradients."""
        with torch.no_grad():
            onehot = model.one_hot(self.chars)
            positions = torch.arange(self.chars.shape[1], dtype=torch.float32)
            return model._sequence(self.inputs, onehot, positions, None, False)[0]

    def nll(self, model: HandwritingModel, adapters: Adapters | None = None, hidden=None) -> torch.Tensor:
        """(B,) mean NLL per point of each line (nats), with the adapters when given.
        hidden: `self.hidden(model)`, when only the output layer is adapted (far faster)."""
        if hidden is not None:
            w = adapters.weights(model) if adapters is not None else dict(model.named_parameters())
            y = F.linear(hidden, w["output.weight"], w["output.bias"])
        elif adapters is None:
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
    adapters = Adapters.fresh(model, settings.rank, settings.seed, settings.targets, settings.biases)
    opt = torch.optim.AdamW(adapters.parameters(), lr=settings.lr, weight_decay=settings.decay)
    p = lines.person
    head_only = all(n.startswith("output.") for n in (*settings.targets, *settings.biases))
    hidden = lines.hidden(model) if head_only else None     # the recurrence is not adapted: read once
    with torch.no_grad():
        base = lines.nll(model, hidden=hidden)
    start, step = time.monotonic(), 0
    for step in range(1, settings.steps + 1):
        nll = lines.nll(model, adapters, hidden)
        loss = nll[:p].mean()
        if settings.max_gain is not None and loss.item() <= float(base[:p].mean()) - settings.max_gain:
            step -= 1
            break
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
    adapters.scale = settings.strength
    frozen = adapters.frozen()
    with torch.no_grad():
        after = lines.nll(model, frozen, hidden)
    summary = {"steps": step, "seconds": round(time.monotonic() - start, 2),
               "nll_before": round(float(base[:p].mean()), 4), "nll_after": round(float(after[:p].mean()), 4)}
    if len(after) > p:
        summary.update(anchor_nll_before=round(float(base[p:].mean()), 4),
                       anchor_nll_after=round(float(after[p:].mean()), 4))
    return frozen, summary


MAX_LINES = 10            # primer lines a hand is learned from
ANCHOR_PRESETS = (9, 1)   # the presets whose lines anchor the letters (pangrams, model-made)
HANDS_KEPT = 8            # merged models a writer keeps (each a full copy of the weights)


def learn_hand(writer, style, *, seconds: float | None = None, progress=None, settings: LearnSettings | None = None):
    """`Writer.learn`: the style with adapters learned from its lines (a new Style)."""
    from .styles import Style, presets, resolve_style
    style = resolve_style(style)
    if not 1 <= len(style.lines) <= MAX_LINES:
        raise ValueError(f"style {style.name!r}: learning a hand takes 1 to {MAX_LINES} lines, not {len(style.lines)}")
    if seconds is not None and not (isinstance(seconds, (int, float)) and seconds > 0):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    # the texts as training read them: without the space that a primer's text gets (for the
    # line that follows it); with it, the window learns to leave a line a character early
    primers = [(o, c[:-1]) for o, c in style.primers(writer.alphabet, writer.normalizer)]
    _warn_misread(writer, style)
    anchors = []
    for k in ANCHOR_PRESETS:
        try:
            anchors += [(o, c[:-1]) for o, c in presets()[k].primers(writer.alphabet, writer.normalizer)]
        except (IndexError, ValueError):      # no presets installed, or a model that cannot read them
            pass
    threads = torch.get_num_threads()
    # small operations (one layer over a few hundred points): on a busy machine several
    # threads wait on each other far longer than one thread computes
    torch.set_num_threads(1)
    try:
        with torch.enable_grad():
            adapters, summary = fit_adapters(writer.model, Lines.of(primers, anchors), settings or LearnSettings(),
                                             seconds=seconds, progress=progress)
    finally:
        torch.set_num_threads(threads)
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
