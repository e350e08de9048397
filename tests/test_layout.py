import numpy as np
import pytest

from handwrite.layout import MAX_LINE_CHARS, place_lines, split_text


def test_newlines_and_paragraphs_are_kept():
    lines = split_text("one\ntwo\n\nthree")
    assert [ln.text for ln in lines] == ["one", "two", "", "three"]
    assert lines[3].paragraph > lines[0].paragraph


def test_wrapping_respects_width_and_keeps_every_word():
    text = "the quick brown fox jumps over the lazy dog " * 3
    lines = split_text(text, width=20)
    assert all(len(ln.text) <= 20 for ln in lines)
    assert " ".join(ln.text for ln in lines).split() == text.split()


def test_long_word_is_split_not_dropped():
    lines = split_text("a" * 45, width=20)
    assert "".join(ln.text for ln in lines) == "a" * 45
    assert max(len(ln.text) for ln in lines) == 20


def test_leading_and_trailing_blank_lines_dropped():
    assert [ln.text for ln in split_text("\n\n  hi  \n\n")] == ["hi"]


@pytest.mark.parametrize("width", [0, MAX_LINE_CHARS + 1])
def test_bad_width(width):
    with pytest.raises(ValueError, match="width"):
        split_text("hello", width=width)


def _line(x0, w, base):
    xs = np.linspace(x0, x0 + w, 20)
    return np.stack([xs, np.full(20, base), np.zeros(20)], 1).astype(np.float32)


def test_alignment_and_line_spacing():
    lines = [_line(5, 100, 3), None, _line(50, 40, -7)]
    left = place_lines(lines, align="left", line_height=50)
    assert left[1] is None
    assert left[0][:, 0].min() == pytest.approx(0) and left[2][:, 0].min() == pytest.approx(0)
    assert np.median(left[2][:, 1]) - np.median(left[0][:, 1]) == pytest.approx(100)
    right = place_lines(lines, align="right", line_height=50)
    assert right[0][:, 0].max() == pytest.approx(right[2][:, 0].max())
    center = place_lines(lines, align="center", line_height=50)
    mid = lambda p: (p[:, 0].min() + p[:, 0].max()) / 2  # noqa: E731
    assert mid(center[0]) == pytest.approx(mid(center[2]))
    with pytest.raises(ValueError, match="align"):
        place_lines(lines, align="justify")
