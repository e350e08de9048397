"""`Writer`: text in, `Handwriting` out.

The writer lays the text out in lines, primes the network with a style, samples the
lines (handwrite.sampling), writes again the attempts the pipeline's checks reject and
passes what it keeps through the pipeline's steps (handwrite.pipeline) to the layout.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np
import torch

from .alphabet import Alphabet
from .choices import DEFAULT_STYLE, FREE_STYLE
from .drafts import CheckContext
from .events import LineRestarted, Preview, WritingDone, WritingPoints, labelled  # noqa: F401 (WritingPoints: public here)
from .handwriting import Handwriting, WrittenLine
from .layout import DEFAULT_WIDTH, LINE_HEIGHT, UNIT, place_lines, split_text
from .model import HandwritingModel
from .options import WriterOptions, check_settings
from .pipeline import DEFAULT_PIPELINE, LineShapes, Pipeline, judge, level_points, line_hand, line_height
from .preprocess import Normalizer, offsets_to_points
from .sampling import check_precision, checked_lines, run_to_end, sample_lines, spliced_lines, stream_lines


@dataclass(frozen=True)
class _PrimedStyle:
    """A style as the writer uses it (handwrite.styles.Style has the details)."""
    primers: list            # [(normalised offsets (T, 3), codes of the primer's text + " ")], one per line
    features: dict           # the style features its lines share: written lines are matched to them
    extra_bias: float        # added to the writer's bias
    join: float              # letters of a word joined across pen lifts this short (body heights); 0: never


class Writer:
    """Writes text with the synthesis network.

    Writer() loads the bundled model; Writer("path/to/weights.safetensors") loads exported
    weights.  Loading takes a fraction of a second: do it once per process.

    options: a `WriterOptions` (how lines are sampled, checked and reshaped; docs/api.md);
    `with_options` gives a writer of the same model with other options.
    precision: shorthand for options.precision, what the network's large matrix products
    run in while sampling.  "auto" (default) picks by the CPU's kind and the batch size, a
    fixed rule (so a seed writes the same strokes in every process on one machine): int8 or
    bf16 where the CPU has them, else fp32 (batches: fp16 weights); "fastest" (for long-running
    processes) is auto with onnx-int8 for single lines where installed, int8 batches on AVX2;
    "fp32" always uses fp32, so what a seed writes does not depend on the CPU; "bf16", "fp16", "int8"
    and "onnx-int8" (int8 with a single line's step as one ONNX Runtime call; needs
    `pip install 'handwrite-synthesis[onnx]'`) always use that.  See docs/speed.md.
    pipeline: the steps written lines pass (handwrite.pipeline.DEFAULT_PIPELINE).
    """

    def __init__(self, weights=None, device="cpu", precision: str | None = None, *,
                 options: WriterOptions | None = None, pipeline: Pipeline = DEFAULT_PIPELINE, reader="bundled"):
        from .weights import load_weights
        options = _with_precision(options, precision)
        loaded = load_weights(weights, device=device)
        self._setup(loaded.model, loaded.alphabet, loaded.normalizer, loaded.info, device, options, pipeline)
        self._reader = [reader]     # one slot, shared by `with_options` copies: the reader loads once

    @classmethod
    def from_model(cls, model: HandwritingModel, alphabet: Alphabet, normalizer: Normalizer,
                   info: dict | None = None, device="cpu", precision: str | None = None, *,
                   options: WriterOptions | None = None, pipeline: Pipeline = DEFAULT_PIPELINE,
                   reader=None) -> "Writer":
        """A writer of a model in memory (training, tests).  reader: a `Reader` that checks
        its words (options.check_words), "bundled" for the bundled one; None: no check."""
        self = cls.__new__(cls)
        self._setup(model, alphabet, normalizer, info or {}, device, _with_precision(options, precision), pipeline)
        self._reader = [reader]
        return self

    def _setup(self, model, alphabet, normalizer, info, device, options, pipeline):
        self.model = model.eval()
        self.alphabet = alphabet
        self.normalizer = normalizer
        self.info = info
        self.device = torch.device(device)
        self.options = options
        self.pipeline = pipeline
        self._primers = {}       # preset index/name -> primer, computed once
        self._hands = OrderedDict()   # learned hands: adapters' digest -> merged model (learning.hand_model)
        self._digest = [None]         # the base model's digest, computed at first use

    def with_options(self, options: WriterOptions | dict | None = None, *, pipeline: Pipeline | None = None,
                     **changes) -> "Writer":
        """A writer of the same model (shared, not copied) with other options: these
        `options` (a WriterOptions, or a dict of changes) and then `changes`."""
        if isinstance(options, dict):
            changes = {**options, **changes}
            options = None
        new = self.options if options is None else options
        new = new.replace(**changes) if changes else new
        check_precision(new.precision)
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__, options=new, pipeline=pipeline or self.pipeline)
        return other

    @property
    def precision(self) -> str:
        return self.options.precision

    @property
    def reader(self):
        """The `Reader` that checks each written word (options.check_words), loaded on first
        use; None where there is none (a writer made with reader=None, or an installation
        without the bundled reader)."""
        if isinstance(self._reader[0], str):
            from .reader import BUNDLED_READER, Reader
            self._reader[0] = Reader() if BUNDLED_READER.is_file() else None
        return self._reader[0]

    @property
    def digest(self) -> str:
        """sha256 of the base model's weights: a learned hand fits only the model it was learned on."""
        if self._digest[0] is None:
            from .adapters import model_digest
            self._digest[0] = model_digest(self.model)
        return self._digest[0]

    # ---- learning a hand ----------------------------------------------------------------
    def learn(self, style, *, seconds: float | None = None, progress=None):
        """Adapt the model to a style's 1 to 10 lines: a new `Style` that carries the
        adaptation (low-rank adapters, docs/styles.md) and primes as before; write with it
        (`style=learned`), save it (`learned.save("me.hand")`).

        seconds: stop learning after about this long.  progress(done, total): called after
        each learning step.  Warns for a line the reader reads as another text.
        """
        from .learning import learn_hand
        return learn_hand(self, style, seconds=seconds, progress=progress)

    def _for_style(self, style) -> "Writer":
        """This writer, or for a learned style a writer of the same options on its hand's model."""
        adapters = getattr(style, "adapters", None)
        if adapters is None or self.__dict__.get("_hand") is adapters:
            return self
        from .learning import hand_model
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__, model=hand_model(self, style), _primers={}, _hand=adapters)
        return other

    # ---- text checks ------------------------------------------------------------------
    def prepare(self, text: str) -> str:
        """Map pasted typography onto the alphabet; raise for anything the model cannot write.

        Newlines are layout, not characters, so they are always accepted.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        normalized = self.alphabet.normalize(text)
        if self.alphabet.unsupported(normalized.replace("\n", " ").replace("\r", " ")):
            # report positions in the text as given, not as mapped (an ellipsis grows to 3 chars)
            bad = [i for i, ch in enumerate(text)
                   if ch not in "\n\r" and self.alphabet.unsupported(self.alphabet.normalize(ch))]
            from .alphabet import UnsupportedCharacterError
            raise UnsupportedCharacterError(text, bad, self.alphabet)
        text = normalized
        if not text.strip():
            raise ValueError("text is empty: nothing to write")
        return text

    # ---- writing ------------------------------------------------------------------------
    def write(self, text: str, *, bias: float = 0.75, style=None, seed: int | None = None,
              width: int = DEFAULT_WIDTH, align: str = "left", line_spacing: float = 1.0) -> Handwriting:
        """Write `text` (newlines kept, long lines wrapped at `width` characters).

        bias: 0 samples the model freely, larger is neater (0.5-1.5 is the useful range).
        style: a preset index or name, or a `handwrite.Style` (see `handwrite styles`);
            None is preset 9 "airy" (DEFAULT_STYLE), "free" lets the model choose a hand for each page.
        seed: the same seed and settings give the same strokes.
        """
        return self.write_many([text], bias=bias, style=style, seed=seed, width=width, align=align,
                               line_spacing=line_spacing)[0]

    def write_many(self, texts, *, bias: float = 0.75, style=None, seed: int | None = None,
                   width: int = DEFAULT_WIDTH, align: str = "left", line_spacing: float = 1.0) -> list[Handwriting]:
        """Write several texts; their lines are sampled in batches."""
        if isinstance(texts, str):
            raise TypeError("write_many takes a list of texts; use write() for one text")
        return run_to_end(self._writing(texts, bias, style, seed, width, align, line_spacing, stream=False))

    def stream(self, text: str, *, bias: float = 0.75, style=None, seed: int | None = None,
               width: int = DEFAULT_WIDTH, align: str = "left", line_spacing: float = 1.0, every: int = 8):
        """Write `text` as `write` does, yielding the pen's points while the network draws them.

        A generator: `WritingPoints` events, one per line that drew something, every `every`
        sampling steps (all lines of the text are drawn at once), then one `WritingDone`
        whose `.handwriting` is exactly what `write` returns for the same arguments.
        The streamed points are a preview: each line at the left, on its row, before its
        baseline is levelled and its hand matched; the final handwriting replaces them.
        Closing the generator (or leaving a `for` loop over it and dropping it) stops the
        sampling.  Bad input raises when iteration starts, as `write` would.
        """
        if not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every must be a positive number of steps, got {every!r}")
        events = self._writing([text], bias, style, seed, width, align, line_spacing, stream=True)
        preview = Preview(self.normalizer, LINE_HEIGHT * line_spacing)
        try:
            n = 0
            while True:
                try:
                    event = next(events)
                except StopIteration as finished:
                    docs = finished.value
                    break
                if isinstance(event, LineRestarted):
                    preview.restart(event.key[1])
                    continue
                preview.add(event)
                n += 1
                if n % every == 0:
                    yield from preview.flush()
            yield from preview.flush()
            yield WritingDone(docs[0])
        finally:
            events.close()

    def _writing(self, texts, bias, style, seed, width, align, line_spacing, stream: bool):
        """`write_many` as a generator returning its list of Handwriting; with `stream`, it
        yields a `SamplingProgress` for every sampling step and a `LineRestarted` when a
        line is written again."""
        check_settings(bias=bias, seed=seed, line_spacing=line_spacing)
        hand = self._for_style(style)
        if hand is not self:
            return (yield from hand._writing(texts, bias, style, seed, width, align, line_spacing, stream))
        layouts = [split_text(self.prepare(t), width) for t in texts]
        rng = np.random.default_rng(seed)
        # per text: lines retried / failed, words written again / still misread (the word check)
        stats = [{"retried": 0, "failed": 0, "rewritten": 0, "misread": []} for _ in layouts]
        drafts = yield from self._write_pages(layouts, self._primer(style), bias, rng, stats, stream)
        settings = {"bias": bias, "seed": seed, "style": None if style is None else str(style),
                    "align": align, "line_spacing": line_spacing}
        return [self._handwriting(lines, {i: drafts[(d, i)] for i in range(len(lines)) if (d, i) in drafts},
                                  {**settings, "retried_lines": stats[d]["retried"], "failed_lines": stats[d]["failed"],
                                   "rewritten_words": stats[d]["rewritten"], "misread_words": stats[d]["misread"]})
                for d, lines in enumerate(layouts)]

    def _write_pages(self, layouts, primer, bias, rng, stats, stream):
        """Every line with text, written and in its page's hand: {(text, line): LineDraft}.

        Lines of one page should look like one hand.  With a style every line is primed
        with it (a style of several lines primes the lines with each in turn); with "free",
        each page's first line is written without a primer and then primes the page's
        other lines.  Either way every other line then passes the HAND_STEPS with its
        primer's hand (`_write_lines`): the network copies slant and letter width only partly."""
        drafts = {}
        if primer is not None:
            jobs = [(d, i) for d, lines in enumerate(layouts) for i, ln in enumerate(lines) if ln.text]
            for k, one in enumerate(primer.primers):
                drafts.update((yield from self._write_lines(jobs[k::len(primer.primers)], layouts, one,
                                                            bias + primer.extra_bias, rng, stats, stream,
                                                            hand=(primer.features, primer.join))))
        else:
            firsts = [(d, next(i for i, ln in enumerate(lines) if ln.text)) for d, lines in enumerate(layouts)]
            drafts.update((yield from self._write_lines(firsts, layouts, None, bias, rng, stats, stream)))
            for d, first in firsts:
                rest = [(d, i) for i, ln in enumerate(layouts[d]) if ln.text and i != first]
                if rest:
                    lead = drafts[(d, first)]
                    own = (lead.offsets, self.alphabet.encode(lead.model_text + " "))
                    hand = line_hand(lead.points, lead.text)
                    drafts.update((yield from self._write_lines(rest, layouts, own, bias, rng, stats, stream,
                                                                hand=None if hand is None else (hand, 0.0))))
        return drafts

    def _write_lines(self, jobs, layouts, primer, bias, rng, stats, stream=False, hand=None):
        """Sample the lines `jobs` [(text, line)] and write again those the pipeline's checks
        reject, each as often as its check allows: {job: the best attempt's LineDraft}.
        hand: (style features, join) to pass the kept lines through the HAND_STEPS with,
        or None.

        Counts, per text, the lines that needed a retry and those still unusable after all.
        The best attempts live in this call's own dicts, merged by the caller.  (They were
        once stored straight into the caller's dict, tested with `j not in written` where
        `best` was meant: a line already written by an earlier call would have raised
        KeyError.  No caller wrote a line twice, so it never did.)"""
        texts = {j: layouts[j[0]][j[1]].text for j in jobs}
        checks = [c for c in self.pipeline.checks if c.applies(self.options)]
        context = CheckContext(self, primer)
        shapes = LineShapes(self.pipeline, self.options, self.alphabet, self.normalizer, hand)
        best, quality = {}, {}
        todo = list(jobs)
        for attempt in range(max([getattr(self.options, c.retries) for c in checks], default=0) + 1):
            if not todo:
                break
            if attempt and stream:
                for j in todo:
                    yield LineRestarted(j)
            drafts = yield from self._attempt(todo, texts, primer, bias, rng, stream, shapes)
            again = []
            for draft, verdict in zip(drafts, judge(drafts, checks, context, self.options)):
                j = draft.key
                # the best attempt is kept; of attempts that are all unusable, the last
                if j not in best or verdict.rank > quality[j] or not (verdict.usable or quality[j][0]):
                    best[j], quality[j] = draft, verdict.rank
                if not verdict.usable and attempt == 0:
                    stats[j[0]]["retried"] += 1       # a line that needed at least one retry
                if attempt < verdict.retries:
                    again.append(j)
            todo = again
        for j in jobs:
            if not quality[j][0]:
                stats[j[0]]["failed"] += 1            # still unusable after every retry
            stats[j[0]]["rewritten"] += best[j].sampled.rewritten_words
            stats[j[0]]["misread"] += list(best[j].sampled.misread_words)
        return {j: shapes.finished(draft) for j, draft in best.items()}

    def _attempt(self, todo, texts, primer, bias, rng, stream, shapes: LineShapes):
        """One attempt at the lines `todo`, sampled in batches of options.batch_lines and
        passed through the pipeline's LINE_STEPS: their LineDrafts (a generator: with
        `stream`, it yields the sampling steps)."""
        asked = {j: self.pipeline.model_text(texts[j], self.alphabet, self.options) for j in todo}
        sampled = []
        size = self.options.batch_lines
        for start in range(0, len(todo), size):
            chunk = todo[start:start + size]
            args = (self.model, [self.alphabet.encode(asked[j]) for j in chunk])
            settings = dict(bias=bias, seed=int(rng.integers(0, 2**62)), primer=primer,
                            precision=self.options.precision, normalizer=self.normalizer,
                            char_bias=[self.pipeline.char_bias(texts[j], self.options) for j in chunk])
            judge = self._word_judge(shapes)
            check = dict(candidates=self.options.word_candidates, rounds=self.options.word_rounds)
            if judge is not None and stream:        # word by word: the stream shows only kept words
                run = checked_lines(*args, [texts[j] for j in chunk], judge, stream=True, **check, **settings)
                sampled += yield from labelled(run, chunk)
            elif judge is not None:                 # whole lines, then their misread words again
                sampled += spliced_lines(*args, [texts[j] for j in chunk], judge, **check, **settings)
            elif stream:
                sampled += yield from labelled(stream_lines(*args, **settings), chunk)
            else:
                sampled += sample_lines(*args, **settings)
        return [replace(shapes.line(s, texts[j]), key=j, sampled=s) for j, s in zip(todo, sampled)]

    def _word_judge(self, shapes: LineShapes):
        """The word check's judge, or None when it is off or there is no reader.  It reads
        each whole line as `shapes` will leave it."""
        if not self.options.check_words or self.reader is None:
            return None
        from .reader import Reader, checking_precision
        from .wordcheck import WordJudge
        reader = self.reader
        if isinstance(reader, Reader):          # int8 where the sampler runs int8 (docs/reading.md)
            reader = reader.at_precision(checking_precision(self.precision))
        return WordJudge(reader, self.normalizer, lambda sampled, text: shapes.finished(shapes.line(sampled, text)).points)

    def _handwriting(self, lines, drafts: dict, info: dict) -> Handwriting:
        """One text's lines (layout.Line) and drafts {line: LineDraft} through the
        PAGE_STEPS and onto the page."""
        points = self.pipeline.finish_page([drafts[i].points if i in drafts else None for i in range(len(lines))],
                                           [ln.text for ln in lines], self.options)
        placed = place_lines(points, align=info["align"], line_height=line_height(points) * info["line_spacing"])
        written = [WrittenLine(ln.text, p if p is not None else np.zeros((0, 3), np.float32),
                               drafts[i].phi if i in drafts else None)
                   for i, (ln, p) in enumerate(zip(lines, placed))]
        hw = Handwriting("\n".join(ln.text for ln in lines), written, info)
        hw.source = self     # lets plots re-run the model over the written strokes
        return hw

    # ---- internals ----------------------------------------------------------------------
    def _primer(self, style):
        """None, or the chosen style as a `_PrimedStyle`.

        None means the default preset: the model writes far more legibly when primed with
        a clean line of its own than when it starts from nothing.  "free" means no primer.
        """
        if isinstance(style, str) and style.strip().lower() == FREE_STYLE:
            return None
        from .styles import Style, resolve_style
        key = DEFAULT_STYLE if style is None else style
        if not isinstance(key, Style) and key in self._primers:
            return self._primers[key]
        try:
            chosen = resolve_style(key)
            primer = _PrimedStyle(chosen.primers(self.alphabet, self.normalizer), chosen.hand, chosen.extra_bias,
                                  chosen.join)
        except ValueError:
            if style is None:        # a model whose alphabet cannot read the preset's text
                return None
            raise
        if not isinstance(key, Style):
            self._primers[key] = primer
        return primer

    def to_page(self, offsets: np.ndarray) -> np.ndarray:
        """Normalised offsets (T, 3) -> (T, 3) points in page units, baseline made horizontal."""
        points = offsets_to_points(self.normalizer.denormalize(offsets))
        points[:, :2] *= UNIT
        return level_points(points)


def _with_precision(options: WriterOptions | None, precision: str | None) -> WriterOptions:
    options = options or WriterOptions()
    if precision is not None:
        options = options.replace(precision=precision)
    check_precision(options.precision)
    return options
