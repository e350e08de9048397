"""`handwrite eval`: NLL on tiny data, the CER arithmetic, the CLI's JSON, and Tesseract."""
from __future__ import annotations

import json
import math
import shutil
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_tiny_iam
from hypothesis import given, settings
from hypothesis import strategies as st

from handwrite.training import evaluate as ev
from handwrite.cli import main
from handwrite.model import ModelConfig
from handwrite.training.train import TrainConfig, train
from handwrite.weights import export_checkpoint, export_weights

TINY = ModelConfig(hidden=16, window_mixtures=3, output_mixtures=4)
JSON_KEYS = {"nll_per_line", "nll_per_point", "lines", "human_cer", "generated_cer", "cer_ratio", "failure_rate"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Evaluation caches preprocessed data: keep it inside the test's folder."""
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tiny_weights(tmp_path, tiny_model_parts):
    path = tmp_path / "tiny.safetensors"
    export_weights(path, *tiny_model_parts)
    return path


def tesseract_or_skip():
    try:
        return ev.check_ocr()
    except ev.OCRUnavailableError as e:
        pytest.skip(str(e))


# ---- CER ---------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, distance", [
    ("kitten", "sitting", 3), ("flaw", "lawn", 2), ("", "abc", 3), ("abc", "", 3), ("", "", 0),
    ("same", "same", 0), ("abc", "acb", 2), ("Hello", "hello", 1), ("intention", "execution", 5),
])
def test_edit_distance_of_known_pairs(a, b, distance):
    assert ev.edit_distance(a, b) == distance
    assert ev.edit_distance(b, a) == distance


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc ", max_size=12), st.text(alphabet="abc ", max_size=12),
       st.text(alphabet="abc ", max_size=12))
def test_edit_distance_is_a_metric(a, b, c):
    d = ev.edit_distance
    assert d(a, b) == d(b, a)
    assert abs(len(a) - len(b)) <= d(a, b) <= max(len(a), len(b))
    assert (d(a, b) == 0) == (a == b)
    assert d(a, c) <= d(a, b) + d(b, c)


def test_cer_normalises_whitespace_and_typography_but_keeps_case():
    assert ev.cer("  the \n cat ", "the cat") == 0.0
    assert ev.cer("it\u2019s \u201cfine\u201d \u2014 ok", "it's \"fine\" - ok") == 0.0
    assert ev.cer("The cat", "the cat") == pytest.approx(1 / 7)
    assert ev.cer("", "abcd") == 1.0
    assert ev.cer("abXd", "abcd") == pytest.approx(0.25)
    assert ev.cer("abcdefgh", "ab") == pytest.approx(3.0)   # insertions can take it past 1
    with pytest.raises(ValueError, match="empty"):
        ev.cer("x", "   ")


def test_corpus_cer_weighs_lines_by_their_length():
    # 1 error in 10 characters and 1 error in 2: 2 / 12, not the mean of 0.1 and 0.5
    assert ev.corpus_cer(["abcdefghiX", "aX"], ["abcdefghij", "ab"]) == pytest.approx(2 / 12)
    with pytest.raises(ValueError):
        ev.corpus_cer(["a"], ["a", "b"])


def test_cer_ratio_is_generated_over_human():
    s = ev.legibility_summary(["abXd"], ["XbXd"], ["abcd"])
    assert s["human_cer"] == pytest.approx(0.25) and s["generated_cer"] == pytest.approx(0.5)
    assert s["cer_ratio"] == pytest.approx(2.0)
    assert ev.legibility_summary(["abcd"], ["abXd"], ["abcd"])["cer_ratio"] is None   # human read perfectly


# ---- NLL -----------------------------------------------------------------------------------
def test_nll_of_a_tiny_model_is_finite_and_counts_every_line(tmp_path, tiny_weights):
    data_dir = make_tiny_iam(tmp_path / "iam")
    result = ev.evaluate(data_dir, tiny_weights, legibility=False, progress=False)
    assert result["split"] == "all"       # not the model's training data: every line counts
    assert result["lines"] == 18 and result["points"] > 18
    assert math.isfinite(result["nll_per_line"]) and math.isfinite(result["nll_per_point"])
    assert result["nll_per_line"] == pytest.approx(result["nll_per_point"] * result["points"] / 18)
    assert "downsampled by 2" in result["preprocessing"] and result["nll_units"] == "nats"
    assert result["human_cer"] is None and result["failure_rate"] is None

    limited = ev.evaluate(data_dir, tiny_weights, limit=5, seed=3, legibility=False, progress=False)
    again = ev.evaluate(data_dir, tiny_weights, limit=5, seed=3, legibility=False, progress=False)
    assert limited["lines"] == 5 and limited["per_line"] == again["per_line"]
    fewer = ev.evaluate(data_dir, tiny_weights, limit=3, seed=3, legibility=False, progress=False)
    assert all(row in limited["per_line"] for row in fewer["per_line"])     # a smaller limit: a subset
    with pytest.raises(ValueError, match="limit"):
        ev.evaluate(data_dir, tiny_weights, limit=0, progress=False)


def test_lines_the_alphabet_cannot_write_are_skipped(tmp_path, tiny_weights):
    from conftest import write_form
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    write_form(data_dir, "a09-999x", ["the caf\u00e9", "the cat"])
    result = ev.evaluate(data_dir, tiny_weights, split="all", legibility=False, progress=False)
    assert result["skipped_lines"]["unsupported_characters"] == 1
    assert result["lines"] == 5


def test_nll_falls_after_a_few_training_steps(tmp_path):
    data_dir = make_tiny_iam(tmp_path / "iam")
    run = tmp_path / "run"
    common = dict(data=str(data_dir), out=str(run), model=TINY, batch_size=4, samples=False, bf16=False,
                  threads=1, device="cpu", epochs=1000, lr=1e-2, lr_decay=1.0)
    train(TrainConfig(max_steps=0, **common), progress=False)            # the untrained weights
    export_checkpoint(run / "checkpoint.pt", tmp_path / "start.safetensors")
    train(TrainConfig(max_steps=60, resume=True, **common), progress=False)
    export_checkpoint(run / "checkpoint.pt", tmp_path / "end.safetensors")

    before = ev.evaluate(data_dir, tmp_path / "start.safetensors", legibility=False, progress=False)
    after = ev.evaluate(data_dir, tmp_path / "end.safetensors", legibility=False, progress=False)
    # the folder is the training data: auto picks training's held-out writers
    assert before["split"] == after["split"] == "val"
    assert 0 < after["lines"] < 18 and after["per_line"] == before["per_line"]
    held_out = json.loads((run / "split.json").read_text())["val_line_ids"]
    assert [row["line_id"] for row in after["per_line"]] == sorted(held_out)
    assert after["nll_per_point"] < before["nll_per_point"] - 1.0, (before, after)

    # a .pt checkpoint evaluates like its fp16 export
    direct = ev.evaluate(data_dir, run / "checkpoint.pt", legibility=False, progress=False)
    assert direct["nll_per_point"] == pytest.approx(after["nll_per_point"], abs=0.05)


def test_val_split_of_a_one_writer_folder_is_what_training_holds_out(tmp_path, tiny_weights):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=12)    # writer 10000 only
    result = ev.evaluate(data_dir, tiny_weights, split="val", legibility=False, progress=False)
    ids = [row["line_id"] for row in result["per_line"]]
    assert result["lines"] == 2 and ids == ["a01-000x-01", "a01-001x-01"]   # every 12th line
    run = tmp_path / "run"
    with pytest.warns(UserWarning, match="one writer"):
        train(TrainConfig(data=str(data_dir), out=str(run), model=TINY, max_steps=0, samples=False, bf16=False,
                          threads=1, device="cpu"), progress=False)
    assert sorted(json.loads((run / "split.json").read_text())["val_line_ids"]) == ids


def test_evaluate_accepts_a_writer_object(tmp_path, tiny_writer):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    result = ev.evaluate(data_dir, tiny_writer, legibility=False, progress=False)
    assert result["weights"] == "Writer object" and result["lines"] == 4


# ---- the CLI and a missing Tesseract -------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(main, ["eval", *map(str, args)])


def test_cli_json_has_the_documented_keys(tmp_path, tiny_weights):
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    result = invoke("--data", data_dir, "--weights", tiny_weights, "--json", "--no-ocr")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert JSON_KEYS <= set(doc)
    assert doc["lines"] == 4 and math.isfinite(doc["nll_per_point"]) and doc["human_cer"] is None

    text = invoke("--data", data_dir, "--weights", tiny_weights, "--no-ocr")
    assert text.exit_code == 0 and "nats per line" in text.stdout


def test_cli_reports_a_missing_folder(tmp_path, tiny_weights):
    result = invoke("--data", tmp_path / "nowhere", "--weights", tiny_weights, "--no-ocr")
    assert result.exit_code == 2 and "nowhere" in result.output


def test_missing_pytesseract_is_a_clear_error_and_the_nll_still_comes(tmp_path, tiny_weights, monkeypatch):
    monkeypatch.setitem(sys.modules, "pytesseract", None)     # import pytesseract now fails
    with pytest.raises(ev.OCRUnavailableError, match="pytesseract package is not installed"):
        ev.check_ocr()
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    result = invoke("--data", data_dir, "--weights", tiny_weights, "--json", "--limit", 2, "--seed", 1)
    assert result.exit_code == 1
    assert "Error: Tesseract OCR is not available" in result.stderr
    doc = json.loads(result.stdout)
    assert math.isfinite(doc["nll_per_line"]) and doc["lines"] == 2
    assert doc["human_cer"] is None and doc["generated_cer"] is None and doc["cer_ratio"] is None
    assert "pytesseract" in doc["ocr_error"]
    assert 0.0 <= doc["failure_rate"] <= 1.0          # writing needs no OCR: still measured


def test_missing_tesseract_program_is_a_clear_error(monkeypatch):
    pytesseract = pytest.importorskip("pytesseract")
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(ev.OCRUnavailableError, match="tesseract program is not installed"):
        ev.check_ocr()


# ---- Tesseract for real (skipped where it is not installed) --------------------------------
# block capitals as polylines in a 20 x 30 box, y down: legible to any OCR
GLYPHS = {
    "H": [[(0, 0), (0, 30)], [(20, 0), (20, 30)], [(0, 15), (20, 15)]],
    "E": [[(20, 0), (0, 0), (0, 30), (20, 30)], [(0, 15), (14, 15)]],
    "L": [[(0, 0), (0, 30), (18, 30)]],
    "T": [[(0, 0), (20, 0)], [(10, 0), (10, 30)]],
    "O": [[(10 + 10 * np.sin(a), 15 - 15 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 25)]],
}


def block_capitals(word: str) -> list[np.ndarray]:
    return [np.array(stroke, np.float32) + [32 * k, 0] for k, ch in enumerate(word) for stroke in GLYPHS[ch]]


def test_tesseract_reads_a_rendered_pen_line():
    pytesseract = tesseract_or_skip()
    assert ev.read_line(ev.render_line(block_capitals("HOTEL")), pytesseract) == "HOTEL"


def test_human_strokes_come_from_raw_offsets_in_page_units():
    from handwrite.preprocess import strokes_to_offsets
    from handwrite.writer import UNIT
    strokes = [s * (1 / UNIT) for s in block_capitals("HELLO")]       # as whiteboard units
    back = ev.human_strokes(strokes_to_offsets(strokes, align=False))
    assert len(back) == len(strokes)
    for a, b in zip(back, block_capitals("HELLO")):
        np.testing.assert_allclose(a - back[0][0], b - block_capitals("HELLO")[0][0], atol=1e-3)


def test_evaluate_reads_both_hands_with_tesseract(tmp_path, tiny_weights):
    tesseract_or_skip()
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    result = ev.evaluate(data_dir, tiny_weights, limit=2, progress=False)
    assert result["ocr_error"] is None
    assert result["human_cer"] >= 0 and result["generated_cer"] >= 0
    for row in result["per_line"]:
        assert isinstance(row["human_ocr"], str) and isinstance(row["generated_ocr"], str)
        assert row["generated_cer"] == pytest.approx(ev.cer(row["generated_ocr"], row["text"]))


def test_cli_prints_legibility_when_tesseract_is_there(tmp_path, tiny_weights):
    pytest.importorskip("pytesseract")
    if shutil.which("tesseract") is None:
        pytest.skip("the tesseract program is not installed")
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    result = invoke("--data", data_dir, "--weights", tiny_weights, "--limit", 2)
    assert result.exit_code == 0, result.output
    assert "Tesseract CER: human" in result.stdout and "failures" in result.stdout


def test_words_are_measured_by_every_recogniser_and_the_reader(tmp_path, tiny_writer, monkeypatch):
    """measure_words: each recogniser reads both hands; missed-by-both needs the two OCRs."""
    from handwrite.words import word_accuracy
    data_dir = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=2)
    evalset = ev.prepare(data_dir, tiny_writer, split="all", progress=False, cache_dir=tmp_path / "c")
    texts = evalset.lines.texts
    blind = ev.Recogniser("ppocr", lambda png: "")

    class HalfReader:                      # reads the first word of each line, nothing else
        def read_many(self, inks):
            assert len(inks) == len(texts)
            return [t.split()[0] for t in texts]
    monkeypatch.setattr(ev, "recognisers", lambda: [blind])
    monkeypatch.setattr(ev, "bundled_reader", lambda: HalfReader())
    known = {"tesseract": (list(texts), [""] * len(texts))}
    strokes = [hw.strokes for hw in tiny_writer.write_many(texts, seed=0)]
    words = ev.measure_words(evalset, strokes, known, progress=False)
    assert words["human"]["tesseract"] == 1.0 and words["generated"]["tesseract"] == 0.0
    assert words["human"]["ppocr"] == 0.0
    assert words["human"]["reader"] == pytest.approx(word_accuracy([t.split()[0] for t in texts], texts))
    assert words["human"]["missed_by_both_ocr"] == 0.0      # Tesseract read every word of people's lines
    assert words["generated"]["missed_by_both_ocr"] == 1.0
