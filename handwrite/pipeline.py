"""The writing pipeline: what happens to a sampled line between the sampler and the page,
as named steps in order (docs/architecture.md, "The writing pipeline").

    LINE_STEPS    each sampled attempt at a line, before it is judged
    LINE_CHECKS   judge each attempt: write the line again with a new seed, keep the best
    HAND_STEPS    each kept line, once its page's hand is known
    PAGE_STEPS    the lines of one page together, before layout places them

A step is a small named function of a `LineDraft` (or of a page's lines) and the
`WriterOptions`; a setting of the options may switch it off.  A policy that also
changes what the network is asked for (`capitals.CapitalPolicy`) brings its own steps
and check and is one entry in `Pipeline.policies`: `DEFAULT_PIPELINE.without("capitals")`
writes with none of it, and the sampler never knows.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from . import letters, style_features, weak_letters
from .capitals import CapitalPolicy
from .drafts import Check, CheckContext, LineDraft, Step
from .layout import LINE_HEIGHT, baseline_of
from .options import WriterOptions
from .preprocess import align_baseline, points_to_strokes

if TYPE_CHECKING:
    from .sampling import SampledLine

__all__ = ["Check", "LineDraft", "LineShapes", "Pipeline", "CheckContext", "Step", "Verdict", "judge",
           "DEFAULT_PIPELINE", "LINE_STEPS", "LINE_CHECKS", "HAND_STEPS", "PAGE_STEPS"]


# ---- line steps ----------------------------------------------------------------------------
def level_baseline(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """The line's strokes turned so that its baseline is horizontal."""
    return replace(draft, points=level_points(draft.points))


def level_points(points: np.ndarray) -> np.ndarray:
    """(n, 3) page points with their baseline made horizontal (preprocess.align_baseline)."""
    out = points.copy()
    out[:, :2] = np.concatenate(align_baseline(points_to_strokes(points)))
    return out


def redraw_x(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """An x the network drew without two crossing strokes redrawn as two (weak_letters.py)."""
    return replace(draft, points=weak_letters.redraw_crosses(draft.points, draft.phi, draft.text))


def add_top_arms(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """A capital E drawn as an L with a bar (a t) given its top arm, a 5 its flag (weak_letters.py)."""
    return replace(draft, points=weak_letters.add_top_arms(draft.points, draft.phi, draft.text))


def even_word_sizes(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """Most of a steady shrinking of the letters along the line taken out (letters.py)."""
    return replace(draft, points=letters.even_word_sizes(draft.points, draft.phi, draft.text))


def drop_marks_after_stop(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """The made-up strokes right of a final full stop dropped, with their attention rows."""
    points, phi = letters.drop_marks_after_stop(draft.points, draft.phi, draft.text)
    return replace(draft, points=points, phi=phi)


def drop_marks_between_words(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """Flicks of the pen left in the gap between two words dropped, with their attention rows."""
    points, phi = letters.drop_marks_between_words(draft.points, draft.phi, draft.text)
    return replace(draft, points=points, phi=phi)


def open_word_gaps(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """Each gap between words narrower than the line's median gap opened to it (words run
    together read as one)."""
    return replace(draft, points=letters.open_word_gaps(draft.points, draft.phi, draft.text))


def match_hand(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """The line sheared and stretched to its page's slant and letter width."""
    if draft.hand is None:
        return draft
    return replace(draft, points=style_features.match_hand(draft.points, draft.text, draft.hand))


def join_letters(draft: LineDraft, options: WriterOptions) -> LineDraft:
    """A joined-up style's letters joined within words where the pen lifted briefly."""
    if not draft.join:
        return draft
    return replace(draft, points=letters.join_letters(draft.points, draft.phi, draft.text, draft.join))


# ---- checks --------------------------------------------------------------------------------
def line_looks_written(sampled: "SampledLine", points: np.ndarray, n_chars: int) -> bool:
    """Heuristic check that a sampled line is writing, not a runaway or a scribble."""
    if not sampled.finished:
        return False                      # the window never passed the last character (stuck)
    steps = len(sampled.offsets)
    if steps > 20 * n_chars + 40:
        return False                      # far more points than letters need (runaway)
    if steps < 3 * n_chars:
        return False                      # too few points to have written every letter
    # the window should dwell on every character in turn: a well-written line puts its
    # largest weight on each character (measured: all of them, moving one at a time)
    focus = sampled.phi.argmax(axis=1) if len(sampled.phi) else np.zeros(0, int)
    if len(np.unique(focus)) < 0.8 * n_chars or (len(focus) > 1 and np.diff(focus).max() > 3):
        return False                      # the window skipped characters
    width = float(points[:, 0].max() - points[:, 0].min())
    height = float(points[:, 1].max() - points[:, 1].min())
    if height > 120 or width > 40 * n_chars + 60:
        return False                      # strokes wandering off the line
    return True


def looks_written(drafts: list[LineDraft], context: CheckContext) -> list[float]:
    """1 for a draft that is writing (`line_looks_written`), 0 for a runaway or a scribble."""
    return [float(line_looks_written(d.sampled, d.points, len(d.text))) for d in drafts]


@dataclass(frozen=True)
class Verdict:
    """What the checks say of one attempt at a line."""
    usable: bool          # every hard check passed
    clarity: float        # the lowest soft check's score (inf without any; -inf when unusable)
    retries: int          # attempts after which its line is no longer written again for it (-1: none)

    @property
    def rank(self) -> tuple[bool, float]:
        """Attempts at one line compare by this: usable first, then the clearest."""
        return self.usable, self.clarity


def judge(drafts: list[LineDraft], checks, context: CheckContext, options: WriterOptions) -> list[Verdict]:
    """The checks' verdict on each of a batch of attempts.  Soft checks read only the
    usable drafts, in one batch each.  An unusable line may be retried the hard checks'
    `retries`; a usable one below 0 on a soft check that check's retries (the most, of
    several); any other is done."""
    hard = [c for c in checks if c.hard]
    usable = [all(score > 0 for score in scores) for scores in zip(*[c.judge(drafts, context) for c in hard])] \
        if hard else [True] * len(drafts)
    ok = [d for d, u in zip(drafts, usable) if u]
    soft = [(iter(c.judge(ok, context)), getattr(options, c.retries)) for c in checks if not c.hard]
    hard_retries = max([getattr(options, c.retries) for c in hard], default=-1)
    verdicts = []
    for u in usable:
        if not u:
            verdicts.append(Verdict(False, -np.inf, hard_retries))
            continue
        scores = [(next(scored), retries) for scored, retries in soft]
        verdicts.append(Verdict(True, min([s for s, _ in scores], default=np.inf),
                                max([r for s, r in scores if s < 0], default=-1)))
    return verdicts


# ---- page steps ----------------------------------------------------------------------------
def same_size(lines: list, texts: list[str]) -> list:
    """Scale lines whose hand came out larger or smaller than the page's back to its size.

    A line's size is judged two ways, each against the page's median: the height of its
    body (the middle 60% of its points) and its width per character.  Either alone depends
    on the letters ("This is it" is all ascenders and narrow letters: tall body, small
    width); a line is rescaled only when both agree that it strays.  lines: (n, 3) page
    points, or None for a blank line.
    """
    sizes = {}
    for i, (p, text) in enumerate(zip(lines, texts)):
        if p is not None and len(p) > 2 and text.strip():
            sizes[i] = (style_features.body_height(p), float(np.ptp(p[:, 0])) / len(text))
    if len(sizes) < 2:
        return lines
    target_h = float(np.median([h for h, _ in sizes.values()]))
    target_w = float(np.median([w for _, w in sizes.values()]))
    out = list(lines)
    for i, (h, w) in sizes.items():
        if h <= 0 or w <= 0:
            continue
        rh, rw = h / target_h, w / target_w
        if (rh > 1.15 and rw > 1.15) or (rh < 0.87 and rw < 0.87):
            p = lines[i].copy()
            c = p[:, :2].mean(0)
            p[:, :2] = (p[:, :2] - c) / float(np.sqrt(rh * rw)) + c
            out[i] = p
    return out


def line_height(lines: list) -> float:
    """Baseline-to-baseline distance: LINE_HEIGHT, or more for a large hand, so that
    ascenders and descenders of neighbouring lines do not collide."""
    lines = [p for p in lines if p is not None and len(p) > 2]
    if not lines:
        return LINE_HEIGHT
    ascent = np.median([baseline_of(p) - np.percentile(p[:, 1], 0.5) for p in lines])
    descent = np.median([np.percentile(p[:, 1], 99.5) - baseline_of(p) for p in lines])
    return max(LINE_HEIGHT, 1.15 * float(ascent + descent))


def line_hand(points: np.ndarray, text: str) -> dict | None:
    """The style features of one written line, or None when it has nothing to measure."""
    try:
        return style_features.style_features(points_to_strokes(points), text)
    except ValueError:
        return None


# ---- the pipeline --------------------------------------------------------------------------
CAPITALS = CapitalPolicy()

LINE_STEPS = (
    Step("level_baseline", level_baseline),
    Step("redraw_x", redraw_x, "redraw_x"),
    Step("add_top_arms", add_top_arms, "add_top_arms"),
    *CAPITALS.line_steps,                                   # enlarge_stand_ins
    Step("even_word_sizes", even_word_sizes, "even_sizes"),
    Step("drop_marks_after_stop", drop_marks_after_stop, "drop_marks_after_stop"),
    Step("open_word_gaps", open_word_gaps, "open_gaps"),
    Step("drop_marks_between_words", drop_marks_between_words, "drop_marks_between_words"),
)
LINE_CHECKS = (
    Check("looks_written", looks_written, hard=True),
    *CAPITALS.checks,                                       # capitals_clear
)
HAND_STEPS = (
    Step("match_hand", match_hand, "match_hand"),
    Step("join_letters", join_letters, "join_letters"),
)
PAGE_STEPS = (
    Step("same_size", same_size, "same_size"),
)


@dataclass(frozen=True)
class Pipeline:
    """The steps a `Writer` runs, in order, and the policies that changed them.

    `policies` also prepare what the network is asked for: each in turn rewrites the text
    it writes (`model_text`), and their extra sampling biases per character (`char_bias`)
    add up (today there is one, `capitals.CapitalPolicy`)."""
    line_steps: tuple = LINE_STEPS
    checks: tuple = LINE_CHECKS
    hand_steps: tuple = HAND_STEPS
    page_steps: tuple = PAGE_STEPS
    policies: tuple = field(default=(CAPITALS,))

    def without(self, name: str) -> "Pipeline":
        """This pipeline without the step, check or policy `name` (a policy's steps and
        checks go with it)."""
        gone = {name}
        for policy in self.policies:
            if policy.name == name:
                gone |= {s.name for s in (*policy.line_steps, *policy.checks)}
        known = {s.name for s in (*self.line_steps, *self.checks, *self.hand_steps, *self.page_steps, *self.policies)}
        if name not in known:
            raise ValueError(f"the pipeline has no step or policy {name!r}; it has {', '.join(sorted(known))}")
        keep = lambda steps: tuple(s for s in steps if s.name not in gone)     # noqa: E731
        return Pipeline(keep(self.line_steps), keep(self.checks), keep(self.hand_steps), keep(self.page_steps),
                        keep(self.policies))

    def replacing(self, name: str, new) -> "Pipeline":
        """This pipeline with the step or check called `name` replaced by `new` (a Step or
        a Check), in its place."""
        swap = lambda steps: tuple(new if s.name == name else s for s in steps)     # noqa: E731
        out = Pipeline(swap(self.line_steps), swap(self.checks), swap(self.hand_steps), swap(self.page_steps),
                       self.policies)
        if out == self:
            raise ValueError(f"the pipeline has no step or check {name!r}")
        return out

    def names(self) -> dict[str, list[str]]:
        """The pipeline as names, stage by stage (for docs, tests and a reader)."""
        return {"line": [s.name for s in self.line_steps], "checks": [c.name for c in self.checks],
                "hand": [s.name for s in self.hand_steps], "page": [s.name for s in self.page_steps],
                "policies": [p.name for p in self.policies]}

    # ---- what the network is asked for -------------------------------------------------
    def model_text(self, text: str, alphabet, options: WriterOptions) -> str:
        for policy in self.policies:
            text = policy.model_text(text, alphabet, options)
        return text

    def char_bias(self, text: str, options: WriterOptions):
        """(len(text),) extra sampling bias per character, or None for none."""
        bias = None
        for policy in self.policies:
            bias = policy.char_bias(text, options) if bias is None else bias + policy.char_bias(text, options)
        return bias

    # ---- running the steps -------------------------------------------------------------
    def shape_line(self, draft: LineDraft, options: WriterOptions) -> LineDraft:
        """LINE_STEPS on one sampled attempt."""
        return _run(self.line_steps, draft, options)

    def finish_line(self, draft: LineDraft, options: WriterOptions) -> LineDraft:
        """HAND_STEPS on a kept line whose hand and join are set."""
        return _run(self.hand_steps, draft, options)

    def finish_page(self, lines: list, texts: list[str], options: WriterOptions) -> list:
        """PAGE_STEPS on a page's lines ((n, 3) points or None for a blank line)."""
        for step in self.page_steps:
            if step.applies(options):
                lines = step(lines, texts)
        return lines


def _run(steps, draft: LineDraft, options: WriterOptions) -> LineDraft:
    for step in steps:
        if step.applies(options):
            draft = step(draft, options)
    return draft


DEFAULT_PIPELINE = Pipeline()


class LineShapes:
    """Sampled lines through a pipeline's LINE_STEPS and, given a hand (style features,
    join), its HAND_STEPS, each line once: the word check reads every line as it will be,
    and the writer then keeps the same drafts.  Lines are known by their text and offsets
    (a line's attention comes with its offsets)."""

    def __init__(self, pipeline: Pipeline, options: WriterOptions, alphabet, normalizer, hand: tuple | None):
        self.pipeline, self.options, self.alphabet, self.normalizer, self.hand = \
            pipeline, options, alphabet, normalizer, hand
        self._lines: dict[tuple, LineDraft] = {}
        self._finished: dict[tuple, LineDraft] = {}

    def line(self, sampled: "SampledLine", text: str) -> LineDraft:
        """The line after the LINE_STEPS (its key None: the caller's to set)."""
        known = (text, sampled.offsets.tobytes())
        if known not in self._lines:
            asked = self.pipeline.model_text(text, self.alphabet, self.options)
            draft = LineDraft.from_sample(None, text, asked, sampled, self.normalizer)
            self._lines[known] = self.pipeline.shape_line(draft, self.options)
        return self._lines[known]

    def finished(self, draft: LineDraft) -> LineDraft:
        """A draft after the LINE_STEPS, after the HAND_STEPS too (as it is without a hand)."""
        if self.hand is None:
            return draft
        known = (draft.text, draft.sampled.offsets.tobytes())
        if known not in self._finished:
            hand, join = self.hand
            self._finished[known] = self.pipeline.finish_line(replace(draft, hand=hand, join=join), self.options)
        return replace(self._finished[known], key=draft.key, sampled=draft.sampled)
