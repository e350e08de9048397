"""End-to-end with the real bundled weights (slow: loads the 3x400 network)."""
import hashlib

import numpy as np
import pytest

from handwrite.weights import BUNDLED_CHECKSUM, BUNDLED_WEIGHTS

pytestmark = pytest.mark.slow


def test_bundled_weights_are_installed_and_match_their_checksum():
    assert BUNDLED_WEIGHTS.is_file(), "the package ships without its model"
    expected = BUNDLED_CHECKSUM.read_text().split()[0]
    assert hashlib.sha256(BUNDLED_WEIGHTS.read_bytes()).hexdigest() == expected


def test_bundled_model_writes_a_png(tmp_path):
    from handwrite import Writer
    writer = Writer()
    assert writer.model.config.hidden == 400 and len(writer.alphabet) >= 79
    hw = writer.write("Hello world", seed=1)
    assert hw.info["failed_lines"] == 0
    x0, y0, x1, y1 = hw.lines[0].bbox
    # a plausible line of writing: wider than tall, a sensible size in page units
    assert 100 < x1 - x0 < 900 and 10 < y1 - y0 < 120
    assert 0.5 < np.abs(np.diff(hw.points[:, :2], axis=0)).mean() < 20
    png = hw.save(tmp_path / "hello.png").read_bytes()
    assert png[:4] == b"\x89PNG" and len(png) > 2000


def test_the_writer_keeps_a_primers_slant_and_width():
    """The network copies a hand only partly: every written line is reshaped to its primer's."""
    from test_style_features import shear, upright_line

    from handwrite import Style, Writer
    from handwrite.preprocess import points_to_strokes
    from handwrite.style_features import style_features
    writer = Writer()
    free = writer.write("the cat sat on a mat", seed=1, style="free").lines[0].points
    own = style_features(points_to_strokes(free), "the cat sat on a mat")
    for degrees, stretch in ((15.0, 1.3), (-8.0, 1.6)):
        target = Style([s * [3 * stretch, 3] for s in shear(upright_line(), degrees)], "lll lll lll")
        for text in ("the cat sat on a mat", "a quiz was fun"):
            hw = writer.write(text, seed=1, style=target)
            got = style_features(points_to_strokes(hw.lines[0].points), text)
            assert got["slant"] == pytest.approx(target.hand["slant"], abs=2.0)
            assert got["width_per_char"] == pytest.approx(target.hand["width_per_char"], rel=0.05)
    assert abs(own["slant"] - target.hand["slant"]) > 4        # the reshape did something


def test_presets_span_hands_and_each_writes_its_own():
    """Every preset loads and writes; joined-up ones write joined-up, slanted ones lean."""
    from handwrite import Writer
    from handwrite.preprocess import points_to_strokes
    from handwrite.style_features import FEATURES, style_features
    from handwrite.styles import presets
    writer = Writer(precision="fp32")          # the presets were curated on fp32 sampling
    text = "Quiet rivers run past the old mill"
    found = presets()
    assert len(found) >= 12
    docs = writer.write_many([text] * len(found), seed=0)       # the default preset: a reference
    feats = {}
    for i, style in enumerate(found):
        hw = writer.write(text, seed=0, style=i)
        assert hw.info["failed_lines"] == 0 and not np.array_equal(hw.points, docs[i].points) or i == 3
        feats[style.name] = style_features(points_to_strokes(hw.lines[0].points), text)
    # one line of a joined-up hand varies (0.55-1.25 lifts per letter over seeds): judge
    # the three on this line and on a second text, together
    other = "we walked along the quiet river"
    lifts = [feats[n]["lifts_per_char"] for n in ("cursive", "joined", "flowing")]
    lifts += [style_features(points_to_strokes(writer.write(other, seed=0, style=n).lines[0].points), other)
              ["lifts_per_char"] for n in ("cursive", "joined", "flowing")]
    assert np.mean(lifts) <= 0.8
    assert np.mean(lifts) < np.mean([feats[n]["lifts_per_char"] for n in ("plain", "print", "tall", "wide")]) - 0.3
    assert feats["slanted"]["slant"] >= 12 and feats["backhand"]["slant"] <= -4
    assert feats["narrow"]["width_per_char"] < feats["wide"]["width_per_char"] - 0.6
    rows = np.array([[feats[s.name][k] for k in FEATURES] for s in found])
    distance = np.abs(rows[:, None, :] - rows[None, :, :]).sum(-1) + np.eye(len(found)) * 1e9
    assert distance.min() > 0.05                                 # no two presets write alike
