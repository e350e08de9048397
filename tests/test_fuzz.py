"""Fuzzing: any text, any bytes.  Only documented errors come out, and nothing runs forever.

Documented errors: ValueError (UnsupportedCharacterError for characters the model cannot
write, plain ValueError for empty text) and TypeError for text that is not a str; the
CLI turns bad input into exit status 2 with a message and writes no file.
"""
from __future__ import annotations

import tempfile
import time
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import make_tiny_iam
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import handwrite.sampling as sampling
import handwrite.writer as writer_module
from handwrite.alphabet import UnsupportedCharacterError
from handwrite.cli import main
from handwrite.handwriting import Handwriting
from handwrite.training.iam import DatasetError, read_iam
from handwrite.layout import DEFAULT_WIDTH, split_text
from handwrite.sampling import sample_lines
from handwrite.weights import WeightsError, export_weights, load_weights

SUPPORTED = " -.,'!?0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"   # the CLI test model's alphabet
AWKWARD = ["\x00", "\x07", "\x1b", "\x7f", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029",
           "\u00a0", "\u3000", "\u200b", "\ufeff", "\u2026", "\u2019", "\u201c", "\u2014", "\ufb01", "\uff21",
           "\u0301", "\u00e9", "\u00df", "\u0130", "\ud800", "\udfff", "\U0001f600", "\U0010ffff", "\ufdfa", " "]

pieces = st.one_of(
    st.sampled_from(SUPPORTED),
    st.sampled_from(AWKWARD),
    st.characters(exclude_categories=()),                 # any code point, controls included
)
texts = st.one_of(
    st.lists(pieces, max_size=40).map("".join),
    st.text(st.sampled_from(SUPPORTED + "\n"), min_size=1, max_size=60),   # mostly writable
    st.text(st.sampled_from(" \t\n\r\u00a0\u3000\u2002"), max_size=10),   # whitespace only
    st.lists(st.sampled_from([c for c in AWKWARD if c.strip()] + ["#", "@", "%", "\u4e2d"]),  # only unsupported
             min_size=1, max_size=10).map("".join),
    st.sampled_from(["", " ", "\n\n", "-", "--", "--help", "write", "train", "-o", "\x00", "\ud800"]),
)

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def short_lines(monkeypatch):
    """Cap sampling at a few steps a character: the fuzzing is about inputs, not drawing."""
    monkeypatch.setattr(sampling, "STEPS_PER_CHAR", 2)
    monkeypatch.setattr(sampling, "MIN_STEPS", 4)


def check_outcome(writer, text, call):
    """Run `call`; it must return Handwriting or raise a documented ValueError."""
    started = time.monotonic()
    try:
        hw = call()
    except UnsupportedCharacterError as e:
        assert e.positions, text
        for i in e.positions:
            assert text[i] not in writer.alphabet, (text, i)
        assert f"U+{ord(text[e.positions[0]]):04X}" in str(e)
        return "unsupported"
    except ValueError as e:
        assert "empty" in str(e), (text, e)
        assert not writer.alphabet.normalize(text).strip(), text
        return "empty"
    finally:
        assert time.monotonic() - started < 20, f"writing {text!r} took too long"
    assert isinstance(hw, Handwriting)
    pts = hw.points
    assert pts.dtype == np.float32 and pts.ndim == 2 and pts.shape[1] == 3 and len(pts)
    assert np.isfinite(pts).all()
    # every character that is not a space ends up written, in order
    assert "".join(hw.text.split()) == "".join(writer.alphabet.normalize(text).split())
    assert all(len(ln.text) <= DEFAULT_WIDTH for ln in hw.lines)
    return "written"


@FUZZ
@given(text=texts)
def test_any_text_through_the_writer(tiny_writer, short_lines, text):
    event(check_outcome(tiny_writer, text, lambda: tiny_writer.write(text, seed=0)))


@pytest.mark.parametrize("value", [None, 5, 3.5, b"bytes", ["a list"], ("a",), {"t": 1}, object()])
def test_text_that_is_not_a_str_is_a_type_error(tiny_writer, value):
    with pytest.raises(TypeError, match="must be a str"):
        tiny_writer.write(value)
    with pytest.raises(TypeError):
        tiny_writer.write_many([value])


def test_write_many_refuses_a_bare_string(tiny_writer):
    with pytest.raises(TypeError, match="list of texts"):
        tiny_writer.write_many("hello")


@pytest.fixture(scope="module")
def cli_weights(tmp_path_factory):
    from handwrite.alphabet import Alphabet
    from handwrite.model import HandwritingModel, ModelConfig
    from handwrite.preprocess import Normalizer
    alphabet = Alphabet(SUPPORTED)
    torch.manual_seed(0)
    model = HandwritingModel(ModelConfig(alphabet_size=alphabet.size, hidden=16, window_mixtures=3,
                                         output_mixtures=4))
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    export_weights(path, model, alphabet, Normalizer([15.0, 0.5], [60.0, 56.0]))
    return path


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=texts)
def test_any_text_through_the_cli(cli_weights, short_lines, text):
    writer = writer_module.Writer(cli_weights)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.svg"
        started = time.monotonic()
        result = CliRunner().invoke(main, ["-o", str(out), "--weights", str(cli_weights), "--seed", "1", "--", text])
        assert time.monotonic() - started < 20
        as_read = "" if text == "-" else text          # "-" means: read the text from stdin (empty here)
        expected = check_outcome(writer, as_read, lambda: writer.write(as_read, seed=1))
        event(expected)
        if expected == "written":
            assert result.exit_code == 0, (text, result.output)
            assert out.stat().st_size > 0
        else:
            assert result.exit_code == 2, (text, result.exit_code, result.output, result.exception)
            assert "Error:" in result.output and "Traceback" not in result.output
            assert not out.exists()
        assert sorted(p.name for p in Path(folder).iterdir()) == (["out.svg"] if expected == "written" else [])


# ---- long texts: linear work, bounded sampling -----------------------------------------------
def test_a_10000_character_text_is_prepared_and_laid_out_quickly(tiny_writer):
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list(SUPPORTED.strip()), size=rng.integers(1, 12))) for _ in range(2000)]
    text = " ".join(words)[:10_000]
    assert len(text) == 10_000
    started = time.monotonic()
    prepared = tiny_writer.prepare(text)
    lines = split_text(prepared)
    assert time.monotonic() - started < 2
    assert all(0 < len(ln.text) <= DEFAULT_WIDTH for ln in lines)
    assert "".join(ln.text.replace(" ", "") for ln in lines) == text.replace(" ", "")
    assert len(lines) >= 10_000 // DEFAULT_WIDTH


def test_a_10000_character_unsupported_text_fails_fast_with_a_short_message(tiny_writer):
    text = "\u4e2d" * 10_000
    started = time.monotonic()
    with pytest.raises(UnsupportedCharacterError) as info:
        tiny_writer.write(text)
    assert time.monotonic() - started < 2
    assert len(info.value.positions) == 10_000
    assert "U+4E2D" in str(info.value) and "9995 more" in str(info.value) and len(str(info.value)) < 1000


def _record_sampling(monkeypatch) -> list:
    """Wrap the writer's sampler; each call records the network steps it ran."""
    runs = []
    real = writer_module.sample_lines

    def recorded(model, codes, **kwargs):
        lines = real(model, codes, **kwargs)
        primer = kwargs.get("primer")
        primer_steps = len(primer[0]) - 1 if primer is not None else 0
        runs.append({"chars": [len(c) for c in codes], "primer_steps": primer_steps,
                     "steps": max(len(ln.offsets) - 1 for ln in lines)})
        return lines
    monkeypatch.setattr(writer_module, "sample_lines", recorded)
    return runs


def _cap(n_chars: int) -> int:
    return max(sampling.STEPS_PER_CHAR * n_chars, sampling.MIN_STEPS)


@pytest.mark.parametrize("text", ["a", "hello", "the quick brown fox", "x" * 40])
def test_sampling_stops_at_the_step_cap(tiny_model_parts, text):
    model, alphabet, _ = tiny_model_parts
    model.config.kappa_step = 0.0        # the window never moves: no line ever finishes by itself
    (line,) = sample_lines(model, [alphabet.encode(text)], seed=0)
    assert not line.finished
    assert len(line.offsets) - 1 == _cap(len(text))
    (short,) = sample_lines(model, [alphabet.encode(text)], seed=0, max_steps=7)
    assert len(short.offsets) - 1 == min(7, _cap(len(text)))


def test_each_line_of_a_batch_stops_at_its_own_cap(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    model.config.kappa_step = 0.0
    texts = ["ab", "hello there", "x" * 30]
    lines = sample_lines(model, [alphabet.encode(t) for t in texts], seed=0)
    assert [len(ln.offsets) - 1 for ln in lines] == [_cap(len(t)) for t in texts]
    assert not any(ln.finished for ln in lines)


@pytest.mark.parametrize("style", ["free", None])
@pytest.mark.parametrize("n_words", [1, 4, 12])
def test_a_writer_whose_lines_never_finish_still_returns_in_bounded_steps(tiny_writer, monkeypatch, n_words, style):
    """The worst case: every line runs to its cap and every retry fails too."""
    from handwrite.styles import MAX_POINTS
    tiny_writer.model.config.kappa_step = 0.0
    runs = _record_sampling(monkeypatch)
    text = " ".join(["quiz"] * n_words)
    hw = tiny_writer.write(text, seed=0, style=style)
    n_lines = len([ln for ln in hw.lines if ln.text])
    assert hw.info["failed_lines"] == n_lines
    # the primer is a written (so capped) line of the page, or a preset of bounded length
    primer_cap = _cap(len(text)) if style == "free" else MAX_POINTS
    for run in runs:
        # sampling: each batch runs at most its longest line's cap ...
        assert run["steps"] <= _cap(max(run["chars"]))
        # ... after reading a primer of bounded length
        assert run["primer_steps"] <= primer_cap
    total = sum(r["steps"] + r["primer_steps"] for r in runs)
    # linear in the text: a few capped passes per attempt, a bounded number of attempts
    assert total <= (tiny_writer.options.retries + 1) * 3 * (_cap(len(text)) + primer_cap), runs


# ---- damaged files -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def weights_bytes(tmp_path_factory) -> bytes:
    from handwrite.alphabet import Alphabet
    from handwrite.model import HandwritingModel, ModelConfig
    from handwrite.preprocess import Normalizer
    alphabet = Alphabet("abc ")
    torch.manual_seed(0)
    model = HandwritingModel(ModelConfig(alphabet_size=alphabet.size, hidden=4, window_mixtures=2, output_mixtures=2))
    path = tmp_path_factory.mktemp("w") / "w.safetensors"
    export_weights(path, model, alphabet, Normalizer([0, 0], [1, 1]))
    return path.read_bytes()


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data())
def test_damaged_weights_load_or_raise_weights_error(weights_bytes, data):
    blob = bytearray(weights_bytes)
    n = data.draw(st.integers(1, 6))
    for _ in range(n):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[:data.draw(st.integers(0, len(blob)))]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.safetensors"
        path.write_bytes(bytes(blob))
        try:
            loaded = load_weights(path)
        except WeightsError as e:
            assert str(path) in str(e)
            return
        # what loads is a working model
        for p in loaded.model.parameters():
            assert torch.isfinite(p).all()


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data())
def test_damaged_iam_files_are_skipped_or_one_dataset_error(data):
    with tempfile.TemporaryDirectory() as folder:
        root = make_tiny_iam(Path(folder) / "iam", forms=2, lines_per_form=2)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        for _ in range(data.draw(st.integers(1, 4))):
            victim = data.draw(st.sampled_from(files))
            blob = bytearray(victim.read_bytes())
            how = data.draw(st.sampled_from(["flip", "truncate", "empty", "garbage"]))
            if how == "flip" and blob:
                blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
            elif how == "truncate":
                blob = blob[:data.draw(st.integers(0, len(blob)))]
            elif how == "empty":
                blob = bytearray()
            else:
                blob = bytearray(data.draw(st.binary(max_size=200)))
            victim.write_bytes(bytes(blob))
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                lines, report = read_iam(root)
            except DatasetError as e:
                assert str(root) in str(e)
                return
        assert report.lines == len(lines) > 0
        for ln in lines:
            assert ln.text.strip() and "#" not in ln.text
            assert not any(unicodedata.category(c) == "Cs" for c in ln.text)
            assert all(np.isfinite(s).all() and len(s) for s in ln.strokes)
            assert sum(len(s) for s in ln.strokes) >= 2
