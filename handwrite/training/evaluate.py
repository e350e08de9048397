"""Measuring a model on a folder of real handwriting (IAM-OnDB layout).

Three kinds of numbers:

- likelihood: the negative log-likelihood (nats) the network gives each real line,
  in its own preprocessing (every 2nd pen point, offsets normalised by the model's
  mean/std), per line and per predicted point.  Lower is better; it does not depend
  on the sampling bias.
- legibility: the same texts, written by a person and by the model, drawn by one
  renderer and read back by Tesseract OCR.  The character error rate (CER) of the
  human lines is the yardstick (Tesseract is not a handwriting reader); the ratio
  generated / human says how much harder the model's writing is to read.
- failures: lines the writer had to sample again, and lines still wrong after its
  retries.

`evaluate` runs all of it; the pieces (`prepare`, `measure_nll`, `read_human_lines`,
`read_generated_lines`) are public so a sweep over biases can reuse the NLL and
the human reading instead of redoing them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..alphabet import TYPOGRAPHIC
from ..choices import EVAL_SPLITS
# the recognisers live in .ocr; these names are imported from here too
from .ocr import (OCR_CONFIG, OCR_RENDER, OCRUnavailableError, Recogniser, check_ocr, read_line,  # noqa: F401
                  recognisers, render_line)

DEFAULT_DOWNSAMPLE = 2                         # training's default; exported weights do not record it
GENERATE_BATCH = 16
PREPROCESSING = "offsets downsampled by {d}, normalised by the model's per-axis mean/std"


# ---- character error rate ----------------------------------------------------------------
def normalize_text(text: str) -> str:
    """What CER compares: typographic quotes/dashes as ASCII, whitespace runs as one space,
    no leading/trailing space.  Case and punctuation are kept: they are part of the text."""
    text = "".join(TYPOGRAPHIC.get(c, c) for c in text)
    return " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: fewest insertions, deletions and substitutions turning a into b."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))          # distances from a[:0] to each prefix of b
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1,               # delete ca
                               current[j - 1] + 1,            # insert cb
                               previous[j - 1] + (ca != cb)))  # keep or substitute
        previous = current
    return previous[-1]


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate of one line: edit distance / reference length (normalised texts).

    Can exceed 1 when the hypothesis is much longer than the reference."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        raise ValueError("the reference text is empty: CER is undefined")
    return edit_distance(hyp, ref) / len(ref)


def corpus_cer(hypotheses: list[str], references: list[str]) -> float:
    """Total edits / total reference characters: long lines weigh more than short ones."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    refs = [normalize_text(r) for r in references]
    chars = sum(len(r) for r in refs)
    if chars == 0:
        raise ValueError("the references are empty: CER is undefined")
    return sum(edit_distance(normalize_text(h), r) for h, r in zip(hypotheses, refs)) / chars


# ---- what is measured ----------------------------------------------------------------------
@dataclass
class EvalSet:
    """A writer and the real lines it is measured on."""
    writer: object                 # handwrite.writer.Writer
    lines: object                  # handwrite.dataset.LineSet: raw (not normalised) offsets
    split: str                     # "val" or "all": which lines of the folder were eligible
    weights: str                   # what was loaded, for the report
    downsample: int
    skipped: dict = field(default_factory=dict)   # reason -> lines left out


def load_writer(weights=None):
    """(Writer, description, downsample) for a Writer, None (bundled), .safetensors or a .pt checkpoint."""
    from ..writer import Writer
    if isinstance(weights, Writer):
        return weights, "Writer object", DEFAULT_DOWNSAMPLE
    if weights is not None and Path(weights).suffix == ".pt":
        from ..weights import checkpoint_meta, load_checkpoint, model_from_checkpoint
        ckpt = load_checkpoint(weights)
        loaded = model_from_checkpoint(ckpt, weights)
        downsample = checkpoint_meta(ckpt, weights).get("train_config", {}).get("downsample", DEFAULT_DOWNSAMPLE)
        writer = Writer.from_model(loaded.model, loaded.alphabet, loaded.normalizer, loaded.info)
        return writer, str(weights), int(downsample)
    writer = Writer(weights)
    return writer, "bundled model" if weights is None else str(weights), DEFAULT_DOWNSAMPLE


def prepare(data_dir, weights=None, *, split: str = "auto", limit: int | None = None, seed: int = 0,
            downsample: int | None = None, cache_dir=None, progress: bool = True,
            precision: str | None = None, check_words: bool = True) -> EvalSet:
    """Load the writer and choose the lines to measure.

    precision: what the writer's sampling products run in (None: the writer's own; see
    `Writer`).

    split: "val" the writer-disjoint validation lines of training's split, "all" every
    line, "auto" val when the folder is the model's training data (its characters are
    exactly the model's alphabet, which training builds from them), else all.
    limit: measure this many lines, drawn at random (seeded) from the eligible ones.
    """
    from ..layout import MAX_LINE_CHARS
    from .dataset import SPLIT_SEED, VAL_FRACTION, load_lines, writer_split
    if split not in EVAL_SPLITS:
        raise ValueError(f"split must be one of {EVAL_SPLITS}, got {split!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    writer, described, model_downsample = load_writer(weights)
    if precision is not None:
        writer = writer.with_options(precision=precision)
    if not check_words:
        writer = writer.with_options(check_words=False)
    downsample = downsample or model_downsample
    data = load_lines(data_dir, downsample=downsample, cache_dir=cache_dir, progress=progress)
    alphabet = writer.alphabet
    if split == "auto":
        split = "val" if set("".join(data.texts)) == set(alphabet.chars) else "all"
    if split == "val":
        _, eligible, _ = writer_split(data.writers, VAL_FRACTION, seed=SPLIT_SEED)
        if len(eligible) == 0:
            raise ValueError(f"{data_dir}: the validation split is empty (the folder has one line); use split='all'")
    else:
        eligible = np.arange(len(data))
    skipped = {"unsupported_characters": 0, "empty_text": 0, "too_long": 0}
    usable = []
    for i in eligible:
        text = data.texts[i]
        if not text.strip():
            skipped["empty_text"] += 1
        elif len(text) > MAX_LINE_CHARS:
            skipped["too_long"] += 1          # the writer would wrap it onto two lines
        elif alphabet.unsupported(text):
            skipped["unsupported_characters"] += 1
        else:
            usable.append(int(i))
    if not usable:
        raise ValueError(f"{data_dir}: none of the {len(eligible)} {split} lines can be written with the model's alphabet")
    if limit is not None and limit < len(usable):
        # a seeded shuffle cut at `limit`: a smaller limit measures a subset of a larger one
        order = np.random.default_rng(seed).permutation(len(usable))[:limit]
        usable = sorted(usable[i] for i in order)
    return EvalSet(writer, data.subset(usable), split, described, downsample, skipped)


def measure_nll(evalset: EvalSet, progress: bool = True) -> dict:
    """NLL of the real lines in fp32: nll_per_line, nll_per_point, lines, points."""
    from .train import evaluate_nll
    w = evalset.writer
    return evaluate_nll(w.model, evalset.lines, w.alphabet, w.normalizer, batch_size=32, bf16=False,
                        progress=progress)


def human_strokes(raw_offsets: np.ndarray) -> list[np.ndarray]:
    """A dataset line's (T, 3) raw offsets -> strokes in page units, as the writer scales its own."""
    from ..layout import UNIT
    from ..preprocess import offsets_to_points, points_to_strokes
    points = offsets_to_points(raw_offsets)
    points[:, :2] *= UNIT
    return points_to_strokes(points)


def read_human_lines(evalset: EvalSet, pytesseract, progress: bool = True) -> list[str]:
    """Tesseract's readings of the people's lines."""
    from tqdm import tqdm
    lines = evalset.lines
    return [read_line(render_line(human_strokes(lines.line(i))), pytesseract)
            for i in tqdm(range(len(lines)), desc="reading human lines", unit="line", disable=not progress)]


def read_generated_lines(evalset: EvalSet, bias: float, seed: int = 0, pytesseract=None,
                         progress: bool = True, style=None) -> dict:
    """Write every text as one line with the model; read it back when pytesseract is given.

    Returns readings (None without OCR), strokes (each line's), retried_lines (lines that
    needed at least one retry) and failed_lines (lines still wrong after every retry).
    """
    from tqdm import tqdm

    from ..layout import MAX_LINE_CHARS
    writer, texts = evalset.writer, evalset.lines.texts
    readings, strokes, retried, failed = [], [], 0, 0
    desc = f"writing{' and reading' if pytesseract else ''} (bias {bias:g})"
    with tqdm(total=len(texts), desc=desc, unit="line", disable=not progress) as bar:
        for start in range(0, len(texts), GENERATE_BATCH):
            chunk = texts[start:start + GENERATE_BATCH]
            # wide enough that no text is wrapped: each is written as one line, like the person's
            width = min(MAX_LINE_CHARS, max(len(t) for t in chunk))
            docs = writer.write_many(chunk, bias=bias, seed=seed + start, width=width, style=style)
            retried += sum(int(hw.info.get("retried_lines", 0)) for hw in docs)
            failed += sum(int(hw.info.get("failed_lines", 0)) for hw in docs)
            for hw in docs:
                strokes.append(hw.strokes)
                readings.append(read_line(render_line(hw.strokes), pytesseract) if pytesseract else None)
            bar.update(len(chunk))
    return {"readings": readings, "strokes": strokes, "retried_lines": retried, "failed_lines": failed}


def evaluate(data_dir, weights=None, bias: float = 0.75, limit: int | None = None, *, seed: int = 0,
             split: str = "auto", legibility: bool = True, cache_dir=None, progress: bool = True,
             precision: str | None = None, check_words: bool = True, style=None) -> dict:
    """Measure a model on an IAM-OnDB-layout folder; see the module docstring.

    weights: None (bundled model), a .safetensors or .pt path, or a Writer.
    precision: what the writer's sampling products run in (None: the writer's own; see
    `Writer`); the NLL is always computed in fp32.
    legibility=False skips writing and OCR (only the NLL).  When Tesseract is missing,
    the CER fields are None and `ocr_error` says why; NLL and failures are still measured.
    """
    if not bias >= 0:       # also catches NaN; the writer checks the upper limit
        raise ValueError(f"bias must be >= 0, got {bias}")
    evalset = prepare(data_dir, weights, split=split, limit=limit, seed=seed, cache_dir=cache_dir,
                      progress=progress, precision=precision, check_words=check_words)
    nll = measure_nll(evalset, progress=progress)
    result = {
        "nll_per_line": nll["nll_per_line"], "nll_per_point": nll["nll_per_point"],
        "lines": nll["lines"], "points": nll["points"],
        "nll_units": "nats", "preprocessing": PREPROCESSING.format(d=evalset.downsample),
        "human_cer": None, "generated_cer": None, "cer_ratio": None,
        "failure_rate": None, "retry_rate": None, "failed_lines": None, "retried_lines": None,
        "check_words": check_words, "style": None if style is None else str(style),
        "ocr_error": None, "bias": bias, "precision": evalset.writer.precision, "seed": seed, "split": evalset.split, "limit": limit,
        "data": str(data_dir), "weights": evalset.weights, "skipped_lines": evalset.skipped,
        "per_line": [{"line_id": lid, "text": t} for lid, t in zip(evalset.lines.line_ids, evalset.lines.texts)],
    }
    if not legibility:
        return result
    try:
        pytesseract = check_ocr()
    except OCRUnavailableError as e:
        pytesseract, result["ocr_error"] = None, str(e)
    generated = read_generated_lines(evalset, bias, seed, pytesseract, progress=progress, style=style)
    n = len(evalset.lines)
    result.update(failed_lines=generated["failed_lines"], retried_lines=generated["retried_lines"],
                  failure_rate=generated["failed_lines"] / n, retry_rate=generated["retried_lines"] / n)
    if pytesseract is None:
        return result
    human = read_human_lines(evalset, pytesseract, progress=progress)
    texts = evalset.lines.texts
    result.update(legibility_summary(human, generated["readings"], texts))
    for row, h, g, t in zip(result["per_line"], human, generated["readings"], texts):
        row.update(human_ocr=h, generated_ocr=g, human_cer=cer(h, t), generated_cer=cer(g, t))
    result["words"] = measure_words(evalset, generated["strokes"], {"tesseract": (human, generated["readings"])},
                                    progress=progress)
    return result


def measure_words(evalset: EvalSet, generated_strokes: list, known: dict | None = None,
                  progress: bool = True) -> dict:
    """Words read right in the people's and the model's lines, by each recogniser and the reader.

    known: recogniser name -> (human readings, generated readings) already made.  Returns
    {"human"|"generated": {name: word accuracy, ..., "missed_by_both_ocr": share}}, with
    "missed_by_both_ocr" only when Tesseract and PP-OCR both read.
    """
    from tqdm import tqdm

    texts = evalset.lines.texts
    people = [human_strokes(evalset.lines.line(i)) for i in range(len(texts))]
    readings = {"human": {}, "generated": {}}
    for name, (h, g) in (known or {}).items():
        readings["human"][name], readings["generated"][name] = h, g
    for rec in recognisers():
        if rec.name in readings["human"]:
            continue
        for side, inks in (("human", people), ("generated", generated_strokes)):
            readings[side][rec.name] = [rec.read(render_line(s)) for s in
                                        tqdm(inks, desc=f"{rec.name} reading {side} lines", disable=not progress)]
    reader = getattr(evalset.writer, "reader", None) or bundled_reader()    # the writer's, loaded once
    if reader is not None:
        readings["human"]["reader"] = reader.read_many(people)
        readings["generated"]["reader"] = reader.read_many(generated_strokes)
    return {side: word_figures(by, texts) for side, by in readings.items()}


def word_figures(readings: dict, texts: list[str]) -> dict:
    """{name: word accuracy} of each reader's readings {name: [reading per text]}, and
    "missed_by_both_ocr" when Tesseract and PP-OCR both read."""
    from ..words import missed_by_all, word_accuracy
    out = {name: word_accuracy(r, texts) for name, r in readings.items()}
    if {"tesseract", "ppocr"} <= set(readings):
        out["missed_by_both_ocr"] = missed_by_all({k: readings[k] for k in ("tesseract", "ppocr")}, texts)
    return out


def bundled_reader():
    """The bundled Reader, or None where this installation has none."""
    from ..reader import BUNDLED_READER, Reader
    return Reader() if BUNDLED_READER.is_file() else None


def legibility_summary(human: list[str], generated: list[str], texts: list[str]) -> dict:
    """human_cer, generated_cer and cer_ratio (None when people were read perfectly)."""
    human_cer = corpus_cer(human, texts)
    generated_cer = corpus_cer(generated, texts)
    return {"human_cer": human_cer, "generated_cer": generated_cer,
            "cer_ratio": generated_cer / human_cer if human_cer > 0 else None}


def format_report(result: dict) -> str:
    """A few readable lines for the terminal."""
    r = result
    out = [f"{r['lines']} {r['split']} lines of {r['data']}; weights: {r['weights']}",
           f"NLL         {r['nll_per_line']:.1f} nats per line, {r['nll_per_point']:.4f} per point "
           f"({r['points']} points; {r['preprocessing']})"]
    if r["human_cer"] is not None:
        ratio = "n/a (human lines read perfectly)" if r["cer_ratio"] is None else f"{r['cer_ratio']:.2f}"
        out.append(f"legibility  Tesseract CER: human {r['human_cer']:.3f}, generated {r['generated_cer']:.3f} "
                   f"(bias {r['bias']:g}), ratio {ratio}")
    elif r["ocr_error"]:
        out.append(f"legibility  not measured: {r['ocr_error']}")
    if r["failure_rate"] is not None:
        out.append(f"failures    {r['failed_lines']} of {r['lines']} lines still failed after retries "
                   f"({100 * r['failure_rate']:.1f}%); {r['retried_lines']} needed a retry")
    for side, by in (r.get("words") or {}).items():
        shown = ", ".join(f"{k.replace('_', ' ')} {100 * v:.1f}%" for k, v in by.items())
        out.append(f"words       {side}: {shown}")
    skipped = {k: v for k, v in r["skipped_lines"].items() if v}
    if skipped:
        out.append("skipped     " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in skipped.items()))
    return "\n".join(out)
