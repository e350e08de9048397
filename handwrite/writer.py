"""`Writer`: text in, `Handwriting` out."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .alphabet import Alphabet
from .capitals import CAPITAL_SCALE, CAPITAL_WIDEN, STEADY_CAPITALS, capital_bias, model_text, stand_in_positions
from .choices import DEFAULT_STYLE, FREE_STYLE
from .handwriting import Handwriting, WrittenLine
from .layout import DEFAULT_WIDTH, LINE_HEIGHT, UNIT, place_lines, split_text
from .letters import drop_marks_after_stop, enlarge_letters, even_word_sizes, join_letters
from .likelihood import capital_margins
from .model import HandwritingModel
from .preprocess import Normalizer, align_baseline, offsets_to_points, points_to_strokes
from .sampling import Step, check_precision, run_to_end, sample_lines, stream_lines
from .style_features import match_hand, style_features

RETRIES = 3         # new seeds for a line that came out wrong
CAPITAL_RETRIES = 5  # ... and for one whose capitals are unclear (docs/capitals.md: 3 read a little worse)
# Only lines of at most this many words have their capitals checked: a word or a name on
# its own, where one letter's shape stands out and the gallery measured it.  Longer lines
# cost too much: each attempt writes and reads back the whole line, and a line passes only
# when all its checked capitals are clear, which E alone is in about 1 of 3 attempts.
# "Every Kettle Hums" took 13x as long checked, "Every Kettle Hums at Home." 17x
# (benchmarks/bench_capitals.py, docs/capitals.md).
CHECKED_WORDS = 1
BATCH_LINES = 64    # lines sampled together: past this, throughput stops growing and memory does not


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

    precision: what the network's large matrix products run in while sampling.  "auto"
    (default) uses int8 or bf16 where a short measurement at first use shows this CPU
    clearly faster at it (int8 only where the weights pass its check; bf16 only for
    batches), fp32 otherwise; "fp32" always uses fp32, so what a seed writes does not
    depend on the CPU; "bf16" always uses bf16; "int8" always uses int8 weights for the
    hidden states' rows (CPU only; faster with VNNI/AMX; as legible as fp32);
    "onnx-int8" is int8 with a single line's step run as one ONNX Runtime call, faster
    again for one line (needs `pip install 'handwrite-synthesis[onnx]'`; batches of lines
    run as "int8").  See docs/speed.md.
    """

    def __init__(self, weights=None, device="cpu", precision: str = "auto"):
        from .weights import load_weights
        check_precision(precision)
        loaded = load_weights(weights, device=device)
        self._setup(loaded.model, loaded.alphabet, loaded.normalizer, loaded.info, device, precision)

    @classmethod
    def from_model(cls, model: HandwritingModel, alphabet: Alphabet, normalizer: Normalizer,
                   info: dict | None = None, device="cpu", precision: str = "auto") -> "Writer":
        check_precision(precision)
        self = cls.__new__(cls)
        self._setup(model, alphabet, normalizer, info or {}, device, precision)
        return self

    # Extra sampling bias while the window is on a capital (handwrite.capitals): the data
    # holds few capitals, and a steadier pen writes them more legibly.  0 switches it off.
    steady_capitals: float = STEADY_CAPITALS
    # Write a one-word line (CHECKED_WORDS) again, up to CAPITAL_RETRIES times, keeping the
    # clearest attempt, while one of its capitals E, H, K is less likely, by the network's
    # own reading, against a rival letter in its place than a capital read right is
    # (handwrite.likelihood; docs/capitals.md).
    check_capitals: bool = True
    # Take most of a line's shrinking from its start to its end out (letters.even_word_sizes).
    even_sizes: bool = True

    def _setup(self, model, alphabet, normalizer, info, device, precision):
        self.model = model.eval()
        self.alphabet = alphabet
        self.normalizer = normalizer
        self.info = info
        self.device = torch.device(device)
        self.precision = precision
        self._primers = {}       # preset index/name -> primer, computed once

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
        steps = self._writing([text], bias, style, seed, width, align, line_spacing, stream=True)
        row = LINE_HEIGHT * line_spacing
        pens: dict[int, np.ndarray] = {}         # line -> pen position in data units, once it draws
        new: dict[int, list] = {}                # line -> page points not yet yielded
        restarted: set[int] = set()

        def flush():
            for line in sorted(set(new) | restarted):
                yield WritingPoints(line, np.asarray(new.get(line, []), np.float32).reshape(-1, 3), line in restarted)
            new.clear()
            restarted.clear()
        try:
            n = 0
            while True:
                try:
                    kind, payload = next(steps)
                except StopIteration as finished:
                    docs = finished.value
                    break
                if kind == "restart":                     # the line came out wrong: written again
                    _, line = payload
                    pens.pop(line, None)
                    new.pop(line, None)
                    restarted.add(line)
                    continue
                jobs, step = payload
                offsets = self.normalizer.denormalize(step.offsets)
                for r, (dx, dy, eos), drawing in zip(step.rows, offsets, step.drawing):
                    if not drawing:
                        continue
                    line = jobs[r][1]
                    pen = pens.get(line)
                    pen = pens[line] = np.zeros(2) if pen is None else pen + (dx, dy)
                    new.setdefault(line, []).append((pen[0] * UNIT, pen[1] * UNIT + line * row, eos))
                n += 1
                if n % every == 0:
                    yield from flush()
            yield from flush()
            yield WritingDone(docs[0])
        finally:
            steps.close()

    def _writing(self, texts, bias, style, seed, width, align, line_spacing, stream: bool):
        """`write_many` as a generator returning its list of Handwriting; with `stream`, it yields
        ("step", (jobs, sampling.Step)) for every sampling step and ("restart", job) when a
        line is written again."""
        check_settings(bias=bias, seed=seed, line_spacing=line_spacing)
        prepared = [self.prepare(t) for t in texts]
        layouts = [split_text(t, width) for t in prepared]
        rng = np.random.default_rng(seed)
        primer = self._primer(style)
        stats = [{"retried": 0, "failed": 0} for _ in layouts]     # per text: lines retried / failed

        # Lines of one page should look like one hand.  With a style every line is primed
        # with it; with "free", each page's first line is written without a primer and then
        # primes the page's other lines.
        # A style of several lines primes the lines with each of them in turn.  Either way
        # every written line is then reshaped to the slant and letter width of its primer
        # (style_features.match_hand): the network copies those only partly.
        written: dict[tuple[int, int], tuple] = {}
        hands: dict[tuple[int, int], dict] = {}
        join = 0.0
        if primer is not None:
            jobs = [(d, i) for d, lines in enumerate(layouts) for i, ln in enumerate(lines) if ln.text]
            for k, one in enumerate(primer.primers):
                yield from self._write_jobs(jobs[k::len(primer.primers)], layouts, one, bias + primer.extra_bias,
                                            rng, written, stats, stream)
            hands = {j: primer.features for j in jobs}
            join = primer.join
        else:
            firsts = [(d, next(i for i, ln in enumerate(lines) if ln.text)) for d, lines in enumerate(layouts)]
            yield from self._write_jobs(firsts, layouts, None, bias, rng, written, stats, stream)
            for d, first in firsts:
                rest = [(d, i) for i, ln in enumerate(layouts[d]) if ln.text and i != first]
                if rest:
                    own = self._own_primer(written[(d, first)][2], layouts[d][first].text)
                    yield from self._write_jobs(rest, layouts, own, bias, rng, written, stats, stream)
                    hand = line_hand(written[(d, first)][0], layouts[d][first].text)
                    hands.update({j: hand for j in rest if hand is not None})
        for (d, i), hand in hands.items():
            pts, phi, offs = written[(d, i)]
            pts = match_hand(pts, layouts[d][i].text, hand)
            if join:
                pts = join_letters(pts, phi, layouts[d][i].text, join)
            written[(d, i)] = (pts, phi, offs)

        docs = []
        for d, lines in enumerate(layouts):
            points = [written[(d, i)][0] if (d, i) in written else None for i in range(len(lines))]
            points = _same_size(points, [ln.text for ln in lines])
            placed = place_lines(points, align=align, line_height=_line_height(points) * line_spacing)
            lines_out = [WrittenLine(ln.text, p if p is not None else np.zeros((0, 3), np.float32),
                                     written[(d, i)][1] if (d, i) in written else None)
                         for i, (ln, p) in enumerate(zip(lines, placed))]
            hw = Handwriting("\n".join(ln.text for ln in lines), lines_out,
                             {"bias": bias, "seed": seed, "style": None if style is None else str(style),
                              "align": align, "line_spacing": line_spacing,
                              "retried_lines": stats[d]["retried"], "failed_lines": stats[d]["failed"]})
            hw.source = self     # lets plots re-run the model over the written strokes
            docs.append(hw)
        return docs

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

    def _own_primer(self, offsets: np.ndarray, text: str):
        """A line this writer just wrote, as the primer for the rest of its page."""
        return offsets, self.alphabet.encode(self._model_text(text) + " ")

    def _write_jobs(self, jobs, layouts, primer, bias, rng, written, stats, stream=False):
        """Sample the lines `jobs` [(doc, line)], retrying failures with new seeds: a line
        that came out wrong up to RETRIES times, one whose checked capitals are unclear up
        to CAPITAL_RETRIES times; the best attempt is kept.

        Stores written[(doc, line)] = (page points (n, 3), phi, normalised offsets) and
        counts, per text, the lines that needed a retry and those still wrong after all.
        """
        texts = {j: layouts[j[0]][j[1]].text for j in jobs}
        best: dict = {}
        todo = list(jobs)
        for attempt in range(max(RETRIES, CAPITAL_RETRIES) + 1):
            if not todo:
                break
            if attempt and stream:
                for j in todo:
                    yield "restart", j
            sampled = yield from self._sample(todo, texts, primer, bias, rng, stream)
            on_page = [self._on_page(s, texts[j]) for j, s in zip(todo, sampled)]
            looks = [line_looks_written(s, pts, len(texts[j])) for j, s, (pts, _) in zip(todo, sampled, on_page)]
            shown = self._capitals_shown([(s, texts[j]) for j, s, ok in zip(todo, sampled, looks) if ok], primer)
            again = []
            for j, s, (pts, phi), ok in zip(todo, sampled, on_page, looks):
                # (looks written, how clearly its capitals show): the best attempt is kept;
                # of attempts that all came out wrong, the last
                quality = (ok, shown.pop(0) if ok else -np.inf)
                if j not in written or quality > best[j] or (not ok and not best[j][0]):
                    written[j], best[j] = (pts, phi, s.offsets), quality
                if not ok and attempt == 0:
                    stats[j[0]]["retried"] += 1       # a line that needed at least one retry
                if (not ok and attempt < RETRIES) or (ok and quality[1] < 0 and attempt < CAPITAL_RETRIES):
                    again.append(j)
            todo = again
        for j in jobs:
            if not best[j][0]:
                stats[j[0]]["failed"] += 1            # still wrong after every retry

    def _sample(self, todo, texts, primer, bias, rng, stream):
        """One attempt at the lines `todo`, in batches of BATCH_LINES: their SampledLines
        (a generator: with `stream`, it yields the sampling steps)."""
        sampled = []
        for start in range(0, len(todo), BATCH_LINES):
            chunk = todo[start:start + BATCH_LINES]
            args = (self.model, [self.alphabet.encode(self._model_text(texts[j])) for j in chunk])
            options = dict(bias=bias, seed=int(rng.integers(0, 2**62)), primer=primer, precision=self.precision,
                           normalizer=self.normalizer,
                           char_bias=[capital_bias(texts[j], self.steady_capitals) for j in chunk])
            if stream:
                sampled += yield from _labelled(stream_lines(*args, **options), chunk)
            else:
                sampled += sample_lines(*args, **options)
        return sampled

    def _capitals_shown(self, lines, primer) -> list[float]:
        """For sampled lines [(SampledLine, text)]: how much clearer, in nats, each line's
        checked capitals are than they need to be (`likelihood.capital_margins`; one batched
        read; below 0: write it again); inf for a line not checked."""
        if not self.check_capitals:
            return [np.inf] * len(lines)
        short = [len(text.split()) <= CHECKED_WORDS for _, text in lines]
        margins = iter(capital_margins(self.model, self.alphabet, [(s.drawn, self._model_text(text), s.drawn_on)
                                                                  for (s, text), ok in zip(lines, short) if ok], primer))
        return [next(margins) if ok else np.inf for ok in short]

    def _on_page(self, line, text: str):
        """A sampled line as (page points, attention): baseline levelled, capital stand-ins
        enlarged, a shrinking of its letters taken out, made-up marks after a final stop
        dropped (handwrite.letters)."""
        pts = self.to_page(line.offsets)
        if self._model_text(text) != text:
            pts = enlarge_letters(pts, line.phi, stand_in_positions(text), CAPITAL_SCALE, CAPITAL_WIDEN)
        if self.even_sizes:
            pts = even_word_sizes(pts, line.phi, text)
        return drop_marks_after_stop(pts, line.phi, text)

    def _model_text(self, text: str) -> str:
        """What the network writes for `text`: capitals it never learned as their small
        letters, enlarged afterwards (handwrite.capitals)."""
        stand_in = model_text(text)
        return stand_in if all(c in self.alphabet for c in stand_in) else text

    def to_page(self, offsets: np.ndarray) -> np.ndarray:
        """Normalised offsets (T, 3) -> (T, 3) points in page units, baseline made horizontal."""
        pts = offsets_to_points(self.normalizer.denormalize(offsets))
        pts[:, :2] *= UNIT
        strokes = align_baseline(points_to_strokes(pts))
        out = pts.copy()
        out[:, :2] = np.concatenate(strokes)
        return out


@dataclass(frozen=True)
class WritingPoints:
    """Points a line's pen drew since the last event (`Writer.stream`)."""
    line: int                 # the line's index in the text as laid out (blank lines count)
    points: np.ndarray        # (n, 3) x, y, end_of_stroke in page units: a preview, see `Writer.stream`
    restart: bool = False     # the line is being written again (it came out wrong): drop its earlier points


@dataclass(frozen=True)
class WritingDone:
    """The end of `Writer.stream`: the finished handwriting."""
    handwriting: Handwriting


def _labelled(steps, jobs):
    """Yield ("step", (jobs, step)) for each sampling `Step` of `steps`; return what it returns."""
    try:
        while True:
            try:
                step: Step = next(steps)
            except StopIteration as finished:
                return finished.value
            yield "step", (jobs, step)
    finally:
        steps.close()


def check_settings(*, bias: float = 0.75, seed: int | None = None, line_spacing: float = 1.0) -> None:
    """ValueError for a bias, seed or line spacing the writer cannot use."""
    if not (0 <= bias <= 10):  # also False for NaN
        raise ValueError(f"bias must be between 0 and 10, got {bias}")
    if not (0 < line_spacing < 100):
        raise ValueError(f"line_spacing must be a positive number below 100, got {line_spacing}")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")


def _same_size(lines: list, texts: list[str]) -> list:
    """Scale lines whose hand came out larger or smaller than the page's back to its size.

    A line's size is judged two ways, each against the page's median: the height of its
    body (the middle 60% of its points) and its width per character.  Either alone depends
    on the letters ("This is it" is all ascenders and narrow letters: tall body, small
    width); a line is rescaled only when both agree that it strays.
    """
    sizes = {}
    for i, (p, text) in enumerate(zip(lines, texts)):
        if p is not None and len(p) > 2 and text.strip():
            sizes[i] = (_body_height(p), float(np.ptp(p[:, 0])) / len(text))
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


def line_hand(points: np.ndarray, text: str) -> dict | None:
    """The style features of one written line, or None when it has nothing to measure."""
    try:
        return style_features(points_to_strokes(points), text)
    except ValueError:
        return None


def _line_height(lines: list) -> float:
    """Baseline-to-baseline distance: LINE_HEIGHT, or more for a large hand, so that
    ascenders and descenders of neighbouring lines do not collide."""
    from .layout import baseline_of
    lines = [p for p in lines if p is not None and len(p) > 2]
    if not lines:
        return LINE_HEIGHT
    ascent = np.median([baseline_of(p) - np.percentile(p[:, 1], 0.5) for p in lines])
    descent = np.median([np.percentile(p[:, 1], 99.5) - baseline_of(p) for p in lines])
    return max(LINE_HEIGHT, 1.15 * float(ascent + descent))


def _body_height(points: np.ndarray) -> float:
    lo, hi = np.percentile(points[:, 1], [20, 80])
    return float(hi - lo)


def line_looks_written(sampled, points: np.ndarray, n_chars: int) -> bool:
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
