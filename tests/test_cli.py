import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from handwrite.cli import main
from handwrite.weights import export_weights


@pytest.fixture
def weights(tmp_path, tiny_model_parts):
    path = tmp_path / "tiny.safetensors"
    export_weights(path, *tiny_model_parts)
    return str(path)


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_write_png(tmp_path, weights):
    out = tmp_path / "hello.png"
    r = run("Hello world", "-o", str(out), "--weights", weights, "--seed", "1", "--bias", "1.0")
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_write_names_the_words_the_reader_still_reads_otherwise(tmp_path, weights):
    # the untrained tiny network scribbles: the bundled reader reads neither word as typed
    out = tmp_path / "hello.png"
    r = run("Hello world", "-o", str(out), "--weights", weights, "--seed", "1")
    assert r.exit_code == 0 and out.exists()
    assert "still reads 2 word(s) otherwise after every rewrite: Hello, world" in r.output
    r = run("Hello world", "-o", str(out), "--weights", weights, "--seed", "1", "--no-check")
    assert r.exit_code == 0 and "reads" not in r.output      # unchecked: nothing judged


@pytest.mark.parametrize("fmt", ["svg", "pdf", "json"])
def test_write_other_formats_and_options(tmp_path, weights, fmt):
    out = tmp_path / f"o.{fmt}"
    r = run("write", "aa bb cc", "-o", str(out), "--weights", weights, "--width", "5", "--align", "right",
            "--color", "blue", "--stroke-width", "3", "--line-spacing", "1.5")
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 0
    if fmt == "json":
        assert [ln["text"] for ln in json.loads(out.read_text())["lines"]] == ["aa bb", "cc"]


def test_stdin(tmp_path, weights):
    out = tmp_path / "s.svg"
    r = run("-", "-o", str(out), "--weights", weights, input="from stdin\n")
    assert r.exit_code == 0, r.output
    assert out.exists()
    out2 = tmp_path / "s2.svg"
    assert run("-o", str(out2), "--weights", weights, input="no text argument").exit_code == 0
    assert out2.exists()


@pytest.mark.parametrize("text,msg", [("caf\u00e9", "U+00E9"), ("   ", "empty"), ("\u263a", "position 0")])
def test_bad_text_exits_2_and_writes_nothing(tmp_path, weights, text, msg):
    out = tmp_path / "bad.png"
    r = run(text, "-o", str(out), "--weights", weights)
    assert r.exit_code == 2
    assert msg in r.output
    assert not out.exists()


def test_bad_output_and_weights(tmp_path, weights):
    r = run("hi", "-o", str(tmp_path / "x.bmp"), "--weights", weights)
    assert r.exit_code == 2 and "unknown output format" in r.output
    r = run("hi", "-o", str(tmp_path / "nope" / "x.png"), "--weights", weights)
    assert r.exit_code == 2 and "does not exist" in r.output
    r = run("hi", "-o", str(tmp_path / "x.png"), "--weights", str(tmp_path / "missing.safetensors"))
    assert r.exit_code == 2 and "missing.safetensors" in r.output


def test_batch_writes_files_and_labels(tmp_path, weights):
    src = tmp_path / "lines.txt"
    src.write_text("first line\n\nsecond one\nthird\n", encoding="utf-8")
    out = tmp_path / "out"
    r = run("batch", str(src), "--out-dir", str(out), "--weights", weights, "--format", "svg", "--seed", "0")
    assert r.exit_code == 0, r.output
    labels = (out / "labels.tsv").read_text().splitlines()
    assert labels == ["0001.svg\tfirst line", "0002.svg\tsecond one", "0003.svg\tthird"]
    assert all((out / ln.split("\t")[0]).exists() for ln in labels)


def test_batch_names_the_files_whose_labels_may_not_match(tmp_path, weights):
    # the untrained tiny network scribbles: the bundled reader reads no line as typed
    src = tmp_path / "lines.txt"
    src.write_text("first line\nsecond one\n", encoding="utf-8")
    r = run("batch", str(src), "--out-dir", str(tmp_path / "out"), "--weights", weights, "--seed", "0")
    assert r.exit_code == 0, r.output
    assert "2 of 2 line(s) hold words the reader still reads otherwise" in r.output
    assert "0001.png, 0002.png" in r.output
    r = run("batch", str(src), "--out-dir", str(tmp_path / "out2"), "--weights", weights, "--no-check")
    assert r.exit_code == 0 and "reads otherwise" not in r.output


def test_batch_rejects_bad_line_before_writing(tmp_path, weights):
    src = tmp_path / "lines.txt"
    src.write_text("fine\nnot fine \u263a\n", encoding="utf-8")
    out = tmp_path / "out"
    r = run("batch", str(src), "--out-dir", str(out), "--weights", weights)
    assert r.exit_code == 2 and "line 2" in r.output
    assert not out.exists()


def test_help_is_fast_and_does_not_import_torch():
    code = "import sys; from handwrite.cli import main; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    r = subprocess.run([sys.executable, "-m", "handwrite", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "Examples" in r.stdout


def test_page_option(tmp_path, weights):
    out = tmp_path / "page.pdf"
    r = run("on a page", "-o", str(out), "--weights", weights, "--page", "A5", "--page-margin", "15")
    assert r.exit_code == 0, r.output
    assert b"/MediaBox" in out.read_bytes()
    r = run("hi", "-o", str(tmp_path / "bad.pdf"), "--weights", weights, "--page", "B12")
    assert r.exit_code == 2 and "page size" in r.output
    assert not (tmp_path / "bad.pdf").exists()


def test_precision_option(tmp_path, weights):
    src = tmp_path / "lines.txt"
    src.write_text("first line\nsecond one\nthird\n", encoding="utf-8")
    for precision in ("fp32", "bf16"):
        out = tmp_path / precision
        r = run("batch", str(src), "--out-dir", str(out), "--weights", weights, "--format", "json",
                "--seed", "0", "--precision", precision)
        assert r.exit_code == 0, r.output
        assert json.loads((out / "0003.json").read_text())["lines"][0]["points"]
    r = run("write", "x", "-o", str(tmp_path / "x.png"), "--weights", weights, "--precision", "half")
    assert r.exit_code == 2 and "half" in r.output
    assert not (tmp_path / "x.png").exists()
