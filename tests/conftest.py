"""Shared fixtures: tiny synthetic IAM-OnDB folders and tiny models.

Nothing here comes from IAM-OnDB: strokes are drawn from simple formulas.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)   # tests are small; leave the other core to the machine

try:
    from hypothesis import settings
    # in CI the fuzz tests replay the same examples every run, so a result is reproducible;
    # by hand they explore new random examples each time
    settings.register_profile("ci", derandomize=True, database=None)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:
    pass

WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "it", "was", "fun", "Zoe", "quiz", "X-ray", "7"]


def synthetic_strokes(text: str, rng: np.random.Generator) -> list[np.ndarray]:
    """One stroke per word: a wavy pen path whose length grows with the word."""
    strokes, x = [], 1000.0
    for word in text.split(" "):
        n = 6 * len(word) + 2
        t = np.linspace(0, len(word) * 2 * np.pi, n)
        xs = x + np.linspace(0, 90 * len(word), n) + 15 * np.cos(t)
        ys = 1200 + 60 * np.sin(t) + rng.normal(0, 3, n)
        strokes.append(np.stack([xs, ys], 1).round())
        x = xs[-1] + 80
    return strokes


def stroke_xml(strokes) -> str:
    out = ['<?xml version="1.0" encoding="ISO-8859-1"?>', "<WhiteboardCaptureSession>", "  <StrokeSet>"]
    t = 100.0
    for s in strokes:
        out.append(f'    <Stroke colour="black" start_time="{t:.2f}" end_time="{t + 1:.2f}">')
        for x, y in s:
            out.append(f'      <Point x="{int(x)}" y="{int(y)}" time="{t:.2f}"/>')
            t += 0.01
        out.append("    </Stroke>")
    out += ["  </StrokeSet>", "</WhiteboardCaptureSession>"]
    return "\n".join(out)


def write_form(root: Path, form: str, texts: list[str], *, strokes=None, stroke_files=None,
               rng=None, encoding="latin-1") -> None:
    """Write one IAM-layout form: ascii/<..>/<form>.txt and lineStrokes/<..>/<form>-NN.xml."""
    rng = rng or np.random.default_rng(0)
    prefix, sub = form.split("-")[0], form[:7]
    (root / "ascii" / prefix / sub).mkdir(parents=True, exist_ok=True)
    (root / "lineStrokes" / prefix / sub).mkdir(parents=True, exist_ok=True)
    body = "OCR:\n\n" + "\n".join(texts) + "\n\nCSR:\n\n" + "\n".join(texts) + "\n"
    (root / "ascii" / prefix / sub / f"{form}.txt").write_bytes(body.encode(encoding))
    n_files = stroke_files if stroke_files is not None else len(texts)
    for i in range(n_files):
        text = texts[i] if i < len(texts) else "extra"
        s = strokes[i] if strokes is not None else synthetic_strokes(text, rng)
        (root / "lineStrokes" / prefix / sub / f"{form}-{i + 1:02d}.xml").write_text(stroke_xml(s), encoding="latin-1")


def make_tiny_iam(root: Path, forms: int = 6, lines_per_form: int = 3, seed: int = 0) -> Path:
    """A clean IAM-layout folder with `forms` forms by `forms // 2` writers."""
    rng = np.random.default_rng(seed)
    writers = ["form_id\twriter_id"]
    for f in range(forms):
        form = f"a{f // 3 + 1:02d}-{f:03d}x"
        texts = [" ".join(rng.choice(WORDS, size=rng.integers(1, 4))) for _ in range(lines_per_form)]
        write_form(root, form, texts, rng=rng)
        writers.append(f"{form}\t{10000 + f // 2}")
    (root / "writers.tsv").write_text("\n".join(writers) + "\n")
    return root


@pytest.fixture
def tiny_iam(tmp_path) -> Path:
    return make_tiny_iam(tmp_path / "iam-ondb")


@pytest.fixture
def tiny_model_parts():
    """(model, alphabet, normalizer): an untrained 16-cell network over a small alphabet."""
    return make_tiny_model_parts()


def make_tiny_model_parts():
    """What the `tiny_model_parts` fixture gives, for fixtures of a wider scope."""
    from handwrite.alphabet import Alphabet
    from handwrite.model import HandwritingModel, ModelConfig
    from handwrite.preprocess import Normalizer
    # the bundled model's alphabet: every character of the usable IAM-OnDB lines
    alphabet = Alphabet(" !\"'()*+,-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijklmnopqrstuvwxyz")
    torch.manual_seed(0)
    model = HandwritingModel(ModelConfig(alphabet_size=alphabet.size, hidden=16, window_mixtures=3,
                                         output_mixtures=4)).eval()
    return model, alphabet, Normalizer([15.0, 0.5], [60.0, 56.0])


@pytest.fixture
def tiny_writer(tiny_model_parts):
    from handwrite.writer import Writer
    return Writer.from_model(*tiny_model_parts)
