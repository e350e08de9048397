"""The vpype plugin: `vpype handwrite ... write out.svg`, run as a user would, in a subprocess."""
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("vpype")
VPYPE = shutil.which("vpype") or str(Path(sys.executable).with_name("vpype"))


@pytest.fixture
def weights(tmp_path, tiny_model_parts):
    from handwrite.weights import export_weights
    path = tmp_path / "tiny.safetensors"
    export_weights(path, *tiny_model_parts)
    return str(path)


def vpype(*args, cwd):
    return subprocess.run([VPYPE, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_pages_become_layers_of_a_vpype_document(tmp_path, weights):
    out = tmp_path / "out.svg"
    r = vpype("handwrite", "--weights", weights, "--seed", "1", "--page", "6x4cm", "--margin", "5mm",
              "--size", "4mm", r"one\ntwo\nthree", "linemerge", "write", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    root = ET.fromstring(out.read_text())
    assert (root.get("width"), root.get("height")) == ("6.0cm", "4.0cm")
    layers = [g for g in root.iter("{http://www.w3.org/2000/svg}g")
              if g.get("{http://www.inkscape.org/namespaces/inkscape}groupmode") == "layer"]
    # two lines fit a page: three lines are two pages, each on its own layer
    assert [g.get("{http://www.inkscape.org/namespaces/inkscape}label") for g in layers] == ["page 1", "page 2"]
    assert all(len(list(g.iter("{http://www.w3.org/2000/svg}polyline"))) +
               len(list(g.iter("{http://www.w3.org/2000/svg}path"))) > 0 for g in layers)


def test_without_a_page_the_writing_goes_on_the_target_layer(tmp_path, weights):
    r = vpype("handwrite", "--weights", weights, "--seed", "2", "--size", "0.2in", "-l", "3", "hi there", "stat",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Layer 3" in r.stdout and "Layer count: 1" in r.stdout


def test_bad_input_is_a_usage_error(tmp_path, weights):
    r = vpype("handwrite", "--weights", weights, "--style", "nosuch", "hi", "stat", cwd=tmp_path)
    assert r.returncode != 0 and "no preset style named 'nosuch'" in r.stderr


def test_writer_options_and_their_errors_in_vpype_s_words(tmp_path, weights):
    r = vpype("handwrite", "--weights", weights, "--seed", "1", "--option", "check_capitals=false",
              "--option", "retries=0", "hi", "stat", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = vpype("handwrite", "--weights", weights, "--option", "retries=lots", "hi", "stat", cwd=tmp_path)
    assert r.returncode != 0 and "--option retries=... must be an integer" in r.stderr
    r = vpype("handwrite", "--weights", weights, "--style-text", "x", "hi", "stat", cwd=tmp_path)
    assert r.returncode != 0 and "--style-text needs --style-file" in r.stderr


def test_a_learned_hand_file_writes_in_vpype(tmp_path, weights, tiny_model_parts):
    import numpy as np
    from conftest import synthetic_strokes

    from handwrite import learning
    from handwrite.styles import Style
    from handwrite.writer import Writer
    text = "the cat sat on a mat"
    style = Style(synthetic_strokes(text, np.random.default_rng(0)), text)
    hand = learning.learn_hand(Writer.from_model(*tiny_model_parts), style, settings=learning.LearnSettings(steps=3))
    hand.save(tmp_path / "me.hand")
    r = vpype("handwrite", "--weights", weights, "--seed", "1", "--style-file", "me.hand", "hi there", "stat",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
