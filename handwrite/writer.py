"""`Writer`: text in, `Handwriting` out."""
from __future__ import annotations

import numpy as np
import torch

from .alphabet import Alphabet
from .handwriting import Handwriting, WrittenLine
from .layout import DEFAULT_WIDTH, LINE_HEIGHT, place_lines, split_text
from .model import HandwritingModel
from .preprocess import Normalizer, offsets_to_points
from .sampling import sample_lines

UNIT = 0.1          # page units (px) per IAM whiteboard unit: a line of writing ~35 px tall
RETRIES = 3


class Writer:
    """Writes text with the synthesis network.

    Writer() loads the bundled model; Writer("path/to/weights.safetensors") loads exported
    weights.  Loading takes a fraction of a second: do it once per process.
    """

    def __init__(self, weights=None, device="cpu"):
        from .weights import load_weights
        loaded = load_weights(weights, device=device)
        self._setup(loaded.model, loaded.alphabet, loaded.normalizer, loaded.info, device)

    @classmethod
    def from_model(cls, model: HandwritingModel, alphabet: Alphabet, normalizer: Normalizer,
                   info: dict | None = None, device="cpu") -> "Writer":
        self = cls.__new__(cls)
        self._setup(model, alphabet, normalizer, info or {}, device)
        return self

    def _setup(self, model, alphabet, normalizer, info, device):
        self.model = model.eval()
        self.alphabet = alphabet
        self.normalizer = normalizer
        self.info = info
        self.device = torch.device(device)

    # ---- text checks ----
    def prepare(self, text: str) -> str:
        """Map pasted typography onto the alphabet; raise for anything the model cannot write."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        text = self.alphabet.normalize(text)
        # newlines are layout, not characters
        for i, ch in enumerate(text):
            if ch not in "\n\r" and ch not in self.alphabet:
                self.alphabet.check("".join(" " if c in "\n\r" else c for c in text))
        if not text.strip():
            raise ValueError("text is empty: nothing to write")
        return text

    # ---- writing ----
    def write(self, text: str, *, bias: float = 0.75, style=None, seed: int | None = None,
              width: int = DEFAULT_WIDTH, align: str = "left", line_spacing: float = 1.0) -> Handwriting:
        return self.write_many([text], bias=bias, style=style, seed=seed, width=width, align=align,
                               line_spacing=line_spacing)[0]

    def write_many(self, texts, *, bias: float = 0.75, style=None, seed: int | None = None,
                   width: int = DEFAULT_WIDTH, align: str = "left", line_spacing: float = 1.0) -> list[Handwriting]:
        """Write several texts; all their lines are sampled as one batch."""
        if isinstance(texts, str):
            raise TypeError("write_many takes a list of texts; use write() for one text")
        if bias < 0:
            raise ValueError(f"bias must be >= 0, got {bias}")
        prepared = [self.prepare(t) for t in texts]
        primer = self._primer(style)
        layouts = [split_text(t, width) for t in prepared]
        jobs = [(d, i, ln.text) for d, lines in enumerate(layouts) for i, ln in enumerate(lines) if ln.text]
        rng = np.random.default_rng(seed)
        results = self._write_lines([j[2] for j in jobs], bias, rng, primer)
        docs = []
        for d, lines in enumerate(layouts):
            per_line = [None] * len(lines)
            phis = [None] * len(lines)
            for (dd, i, _), (pts, phi) in zip(jobs, results["lines"]):
                if dd == d:
                    per_line[i], phis[i] = pts, phi
            placed = place_lines(per_line, align=align, line_height=LINE_HEIGHT * line_spacing)
            written = [WrittenLine(ln.text, p if p is not None else np.zeros((0, 3), np.float32), phi)
                       for ln, p, phi in zip(lines, placed, phis)]
            hw = Handwriting("\n".join(ln.text for ln in lines), written,
                             {"bias": bias, "seed": seed, "style": None if style is None else str(style),
                              "retried_lines": results["retried"], "failed_lines": results["failed"]})
            hw.source = self     # lets plots re-run the model over the written strokes
            docs.append(hw)
        return docs

    def _primer(self, style):
        """None, or (normalised primer offsets (T, 3), codes of primer text + " ")."""
        if style is None:
            return None
        from .styles import resolve_style
        return resolve_style(style).primer(self.alphabet, self.normalizer)

    def _write_lines(self, texts: list[str], bias: float, rng: np.random.Generator, primer=None) -> dict:
        """Sample each line, retrying lines that fail with new seeds."""
        codes = [self.alphabet.encode(t) for t in texts]
        out = [None] * len(texts)
        todo = list(range(len(texts)))
        retried, failed = 0, 0
        for attempt in range(RETRIES + 1):
            if not todo:
                break
            sampled = sample_lines(self.model, [codes[i] for i in todo], bias=bias,
                                   seed=int(rng.integers(0, 2**62)), primer=primer)
            again = []
            for i, s in zip(todo, sampled):
                pts = offsets_to_points(self.normalizer.denormalize(s.offsets))
                pts[:, :2] *= UNIT
                ok = line_looks_written(s, pts, len(texts[i]))
                if ok or out[i] is None or attempt == RETRIES:
                    out[i] = (pts, s.phi)
                if not ok:
                    again.append(i)
            if attempt < RETRIES:
                retried += len(again)
            else:
                failed = len(again)
            todo = again
        return {"lines": out, "retried": retried, "failed": failed}


def line_looks_written(sampled, points: np.ndarray, n_chars: int) -> bool:
    """Heuristic check that a sampled line is writing, not a runaway or a scribble."""
    if not sampled.finished:
        return False                      # the window never passed the last character
    steps = len(sampled.offsets)
    if steps > 20 * n_chars + 40:
        return False                      # far more points than letters need
    width = float(points[:, 0].max() - points[:, 0].min())
    height = float(points[:, 1].max() - points[:, 1].min())
    if height > 120 or width > 40 * n_chars + 60:
        return False                      # strokes wandering off the line
    return True
