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
