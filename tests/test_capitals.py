"""Capitals: the steadier pen on capitals (extra bias under them) and the stand-ins
(capitals the data barely holds, written as their small letter and enlarged)."""
import numpy as np
import pytest
import torch

from handwrite import Writer
from handwrite.capitals import CAPITAL_SCALE, CAPITAL_WIDEN, STAND_INS, capital_bias, model_text, stand_in_positions
from handwrite.letters import enlarge_letters
from handwrite.sampling import sample_lines, sample_point


def test_capital_bias_marks_capitals_only():
    np.testing.assert_array_equal(capital_bias("Ab Cd", 1.5), [1.5, 0, 0, 1.5, 0])
    assert capital_bias("", 1.0).shape == (0,)


def test_model_text_swaps_only_the_stand_in_capitals():
    assert model_text("Xavier met Zoe at XYZ") == "xavier met zoe at xYz"
    assert stand_in_positions("Xavier met Zoe at XYZ") == [0, 11, 18, 20]
    assert set(STAND_INS) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def test_a_bias_per_line_samples_each_line_at_its_own_bias():
    torch.manual_seed(0)
    M, n = 3, 2000
    y = torch.zeros(2 * n, 1 + 6 * M)
    noise = torch.cat([torch.rand(2 * n, 1), torch.randn(2 * n, 2), torch.rand(2 * n, 1)], 1)
    bias = torch.cat([torch.zeros(n), torch.full((n,), 2.0)])
    mixed = sample_point(y, noise, M, bias)
    np.testing.assert_allclose(mixed[:n], sample_point(y[:n], noise[:n], M, 0.0), atol=1e-6)
    np.testing.assert_allclose(mixed[n:], sample_point(y[n:], noise[n:], M, 2.0), atol=1e-6)


def test_char_bias_changes_only_lines_that_have_some(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    codes = [alphabet.encode("the cat"), alphabet.encode("Zoe sat")]
    plain = sample_lines(model, codes, seed=3)
    zero = sample_lines(model, codes, seed=3, char_bias=[np.zeros(7), np.zeros(7)])
    steadied = sample_lines(model, codes, seed=3, char_bias=[None, capital_bias("Zoe sat", 3.0)])
    for a, b in zip(plain, zero):                 # no extra bias: the very same lines
        np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(plain[0].offsets, steadied[0].offsets)    # a line without capitals
    n = min(len(plain[1].offsets), len(steadied[1].offsets))
    assert not np.array_equal(plain[1].offsets[:n], steadied[1].offsets[:n])


def test_char_bias_of_the_wrong_shape_is_refused(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    with pytest.raises(ValueError, match="one number per character"):
        sample_lines(model, [alphabet.encode("abc")], seed=0, char_bias=[np.ones(5)])
    with pytest.raises(ValueError, match="one entry per line"):
        sample_lines(model, [alphabet.encode("abc")], seed=0, char_bias=[np.ones(3), np.ones(3)])


def _two_letter_line():
    """A small 'x' (two strokes, drawn on character 0) and an 'o' after it (character 1),
    y pointing down, the bottom line at y = 10."""
    x1 = [(0, 0, 0), (4, 10, 1)]
    x2 = [(4, 0, 0), (0, 10, 1)]
    o = [(8, 5, 0), (10, 0, 0), (12, 5, 0), (10, 10, 0), (8, 5, 1)]
    points = np.array(x1 + x2 + o, np.float32)
    owner = [0, 0, 0, 0, 1, 1, 1, 1, 1]
    phi = np.eye(2, dtype=np.float32)[owner[1:]]          # point k was drawn under phi[k - 1]
    return points, phi


def test_enlarging_a_stand_in_grows_its_strokes_on_the_same_bottom_line():
    points, phi = _two_letter_line()
    out = enlarge_letters(points, phi, [0], 1.5)
    letter, rest = out[:4], out[4:]
    assert letter[:, 1].max() == pytest.approx(10)                       # stands on the same line
    assert np.ptp(letter[:, 1]) == pytest.approx(1.5 * 10)               # 1.5x as tall
    assert np.ptp(letter[:, 0]) == pytest.approx(1.5 * 4)                # and as wide
    np.testing.assert_allclose(rest[:, 0], points[4:, 0] + 0.5 * 4)     # what follows moves right
    np.testing.assert_allclose(rest[:, 1], points[4:, 1])
    np.testing.assert_array_equal(out[:, 2], points[:, 2])               # the same strokes
    wide = enlarge_letters(points, phi, [0], 1.5, widen=1.6)
    assert np.ptp(wide[:4, 1]) == pytest.approx(1.5 * 10)                # as tall as before,
    assert np.ptp(wide[:4, 0]) == pytest.approx(1.5 * 1.6 * 4)           # wider by widen
    np.testing.assert_allclose(wide[4:, 0], points[4:, 0] + (1.5 * 1.6 - 1) * 4)


def test_enlarging_leaves_letters_joined_to_others_and_bad_input_alone():
    points, phi = _two_letter_line()
    joined = points.copy()
    joined[:-1, 2] = 0                      # one stroke for both letters, most of it drawn on the 'o'
    np.testing.assert_array_equal(enlarge_letters(joined, phi, [0], 1.5), joined)
    np.testing.assert_array_equal(enlarge_letters(points, None, [0], 1.5), points)
    np.testing.assert_array_equal(enlarge_letters(points, phi[:-1], [0], 1.5), points)    # phi of another line
    np.testing.assert_array_equal(enlarge_letters(points, phi, [], 1.5), points)


def test_the_writer_writes_stand_ins_as_larger_small_letters(tiny_model_parts, monkeypatch):
    """The network is asked for 'x'; the line keeps its text 'X' and comes out the same
    seed's 'x' made CAPITAL_SCALE times taller and CAPITAL_SCALE * CAPITAL_WIDEN times wider
    (the capitals' extra bias switched off, so both are drawn alike, and the small x not
    redrawn: a stand-in never is, weak_letters.py)."""
    import handwrite.writer as writer_module
    model, alphabet, normalizer = tiny_model_parts
    writer = Writer.from_model(model, alphabet, normalizer)
    asked = []
    real = writer_module.sample_lines

    def spy(model, codes, **options):
        asked.extend(alphabet.decode(c) for c in codes)
        return real(model, codes, **options)
    monkeypatch.setattr(writer_module, "sample_lines", spy)
    writer = writer.with_options(steady_capitals=0.0, redraw_x=False)
    big = writer.write("X", style="free", seed=4)
    small = writer.write("x", style="free", seed=4)
    assert asked == ["x", "x"] and big.text == "X" and small.text == "x"
    size = lambda hw: np.ptp(hw.points[:, :2], axis=0)          # noqa: E731
    np.testing.assert_allclose(size(big), [CAPITAL_SCALE * CAPITAL_WIDEN, CAPITAL_SCALE] * size(small), rtol=1e-4)
