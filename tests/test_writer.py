import numpy as np
import pytest

from handwrite.alphabet import UnsupportedCharacterError
from handwrite.handwriting import Handwriting
from handwrite.preprocess import points_to_strokes


def test_same_seed_same_strokes(tiny_writer):
    a = tiny_writer.write("hello there", seed=3)
    b = tiny_writer.write("hello there", seed=3)
    c = tiny_writer.write("hello there", seed=4)
    np.testing.assert_array_equal(a.points, b.points)
    assert a.points.shape != c.points.shape or not np.array_equal(a.points, c.points)


def test_points_and_strokes_agree(tiny_writer):
    hw = tiny_writer.write("one two\nthree", seed=1)
    pts = hw.points
    assert pts.dtype == np.float32 and pts.shape[1] == 3
    assert set(np.unique(pts[:, 2])) <= {0.0, 1.0}
    assert pts[-1, 2] == 1.0
    strokes = hw.strokes
    assert sum(len(s) for s in strokes) == len(pts)
    assert len(strokes) == int(pts[:, 2].sum())
    for s, t in zip(strokes, points_to_strokes(pts)):
        np.testing.assert_array_equal(s, t)


def test_lines_keep_text_and_order(tiny_writer):
    hw = tiny_writer.write("first line\n\nsecond", seed=0)
    assert [ln.text for ln in hw.lines] == ["first line", "", "second"]
    assert len(hw.lines[1].points) == 0
    assert hw.lines[2].bbox[1] > hw.lines[0].bbox[1]


def test_wrapping_through_the_api(tiny_writer):
    hw = tiny_writer.write("aa bb cc dd ee ff", width=5, seed=0)
    assert [ln.text for ln in hw.lines] == ["aa bb", "cc dd", "ee ff"]


def test_write_many_matches_texts(tiny_writer):
    docs = tiny_writer.write_many(["one", "two words"], seed=0)
    assert [d.text for d in docs] == ["one", "two words"]
    with pytest.raises(TypeError):
        tiny_writer.write_many("not a list")


def test_typography_is_mapped(tiny_writer):
    hw = tiny_writer.write("it\u2019s\u00a0ok \u2014 fine\u2026", seed=0)
    assert hw.lines[0].text == "it's ok - fine..."



@pytest.mark.parametrize("text,pos", [("hello \u263a", 6), ("\u00e9t\u00e9", 0), ("tab\u0007x", 3), ("\u2026 a\u263a", 3)])
def test_unsupported_characters_are_named(tiny_writer, text, pos):
    with pytest.raises(UnsupportedCharacterError) as e:
        tiny_writer.write(text)
    assert repr(text[pos]) in str(e.value) and f"position {pos}" in str(e.value)
    assert "Supported characters" in str(e.value)


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t"])
def test_empty_text_is_an_error(tiny_writer, text):
    with pytest.raises(ValueError, match="empty"):
        tiny_writer.write(text)


def test_bad_arguments(tiny_writer):
    with pytest.raises(TypeError):
        tiny_writer.write(b"bytes")
    with pytest.raises(ValueError, match="bias"):
        tiny_writer.write("hi", bias=-1)
    with pytest.raises(ValueError, match="align"):
        tiny_writer.write("hi", align="middle")


def test_json_round_trip(tiny_writer, tmp_path):
    hw = tiny_writer.write("round trip", seed=2)
    path = tmp_path / "s.json"
    hw.save(path)
    back = Handwriting.from_json(path)
    assert back.text == hw.text
    np.testing.assert_allclose(back.points, hw.points, atol=1e-3)


def test_failed_lines_are_retried_and_counted(tiny_writer, monkeypatch):
    import handwrite.pipeline as pipeline
    calls = []

    def never_ok(sampled, points, n):
        calls.append(n)
        return False
    monkeypatch.setattr(pipeline, "line_looks_written", never_ok)
    hw = tiny_writer.write("abc", seed=0)
    assert hw.info["failed_lines"] == 1
    assert hw.info["retried_lines"] == 1             # one line, retried several times
    assert len(calls) == tiny_writer.options.retries + 1
    docs = tiny_writer.write_many(["ab", "cd\nef"], seed=0)
    assert [d.info["failed_lines"] for d in docs] == [1, 2]   # counted per text
    assert len(hw.points) > 0      # the last try is still returned, not dropped


def _sampled(n_chars, steps_per_char=10, skip=False, finished=True, tall=False):
    from handwrite.sampling import SampledLine
    steps = n_chars * steps_per_char
    focus = np.minimum(np.arange(steps) // steps_per_char, n_chars - 1)
    if skip:
        focus = np.where(focus >= n_chars // 2, n_chars - 1, focus)   # jumps to the end halfway
    phi = np.zeros((steps, n_chars), np.float32)
    phi[np.arange(steps), focus] = 1.0
    offsets = np.zeros((steps + 1, 3), np.float32)
    offsets[1:, 0] = 1.0
    offsets[-1, 2] = 1.0
    points = np.cumsum(offsets, 0)
    points[:, 2] = offsets[:, 2]
    if tall:
        points[steps // 2, 1] = 500.0
    return SampledLine(offsets, phi, finished), points


@pytest.mark.parametrize("case,ok", [
    ({}, True),
    ({"skip": True}, False),                 # the window jumps over characters
    ({"finished": False}, False),            # the window never reached the end
    ({"steps_per_char": 25}, False),         # runaway: far too many points
    ({"steps_per_char": 2}, False),          # too few points for the letters
    ({"tall": True}, False),                 # strokes wander off the line
])
def test_line_check(case, ok):
    from handwrite.pipeline import line_looks_written
    sampled, points = _sampled(12, **case)
    assert line_looks_written(sampled, points, 12) is ok


def test_lines_are_resized_only_when_height_and_width_agree():
    from handwrite.pipeline import same_size
    rng = np.random.default_rng(0)

    def line(n_chars, height, width_per_char):
        x = rng.uniform(0, n_chars * width_per_char, 200)
        return np.c_[x, rng.uniform(0, height, 200), np.zeros(200)]

    texts = ["abcdefghij"] * 4
    normal = [line(10, 10, 5) for _ in range(3)]
    big = line(10, 20, 10)                      # twice the size both ways: a hand that grew
    out = same_size(normal + [big], texts)
    assert np.ptp(out[3][:, 1]) == pytest.approx(np.ptp(big[:, 1]) / 2, rel=0.1)
    assert all(o is n for o, n in zip(out[:3], normal))
    tall_narrow = line(10, 16, 4)               # tall body, narrow letters: "This is it", same hand
    out = same_size(normal + [tall_narrow], texts)
    assert out[3] is tall_narrow
