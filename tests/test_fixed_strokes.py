"""Strokes for fixed seeds stay bit for bit what they were (tests/data/fixed_strokes.npz).

The fixture was written by tests/data/make_fixed_strokes.py before the refactor of
issue #17; a refactor must not change what a seed writes.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))
from make_fixed_strokes import CASES, write_cases  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def written():
    return write_cases()


def test_every_case_is_in_the_fixture(written):
    with np.load(DATA / "fixed_strokes.npz") as saved:
        assert sorted(saved.files) == sorted(written)
    assert {name.rsplit("_", 1)[0] for name in written} == set(CASES)


def test_fixed_seeds_write_the_same_points_bit_for_bit(written):
    with np.load(DATA / "fixed_strokes.npz") as saved:
        for name, points in written.items():
            assert points.dtype == saved[name].dtype and points.shape == saved[name].shape, name
            assert points.tobytes() == saved[name].tobytes(), name
