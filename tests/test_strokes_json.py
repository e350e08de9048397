"""The strokes JSON codec (docs/api.md) and the three users that share it: Handwriting,
Style and the web server."""
import json

import numpy as np
import pytest

from handwrite import strokes_json
from handwrite.handwriting import Handwriting, WrittenLine
from handwrite.styles import PRESET_DIR, Style


def some_points(n=40, seed=0):
    rng = np.random.default_rng(seed)
    pts = np.c_[np.cumsum(rng.normal(size=(n, 2)) * 5, axis=0), rng.random(n) < 0.15].astype(np.float32)
    pts[-1, 2] = 1
    return pts


def test_round_trip_keeps_lines_text_and_metadata():
    lines = [("first", some_points()), ("", np.zeros((0, 3), np.float32)), ("third", some_points(9, seed=1))]
    s = strokes_json.dumps(lines, "first\n\nthird", meta={"name": "mine", "size": 1.2, "format": "ignored"})
    doc = json.loads(s)
    assert list(doc)[:3] == ["format", "version", "name"] and doc["format"] == "handwrite-strokes"
    back = strokes_json.loads(s)
    assert back.text == "first\n\nthird" and back.meta == {"name": "mine", "size": 1.2}
    assert [t for t, _ in back.lines] == ["first", "", "third"]
    for (_, a), (_, b) in zip(lines, back.lines):
        assert b.dtype == np.float32 and b.shape == a.shape
        np.testing.assert_allclose(b, a, atol=5e-4)             # three decimals by default
    coarse = strokes_json.loads(strokes_json.dumps(lines, "x", decimals=2))
    np.testing.assert_allclose(coarse.lines[0][1], lines[0][1], atol=5e-3)


def test_documents_written_before_the_codec_still_load():
    # Handwriting.to_json used to round float32 points, which left float32 digits on the wire
    old = ('{"format": "handwrite-strokes", "version": 1, "text": "ab", "lines": [{"text": "ab", "points": '
           '[[3.7720000743865967, -3.9630000591278076, 0.0], [4.5, 1.0, 1.0]]}]}')
    hw = Handwriting.from_json(old)
    np.testing.assert_array_equal(hw.points, np.float32([[3.772, -3.963, 0], [4.5, 1, 1]]))
    preset = sorted(PRESET_DIR.glob("*.json"))[0]            # written by Style.to_json
    doc = strokes_json.loads(preset.read_text(encoding="utf-8"))
    assert doc.meta["name"] and doc.lines and all(len(p) for _, p in doc.lines)
    no_text = strokes_json.loads('{"format": "handwrite-strokes", "version": 1, "lines": []}')
    assert no_text.text is None and no_text.lines == []


@pytest.mark.parametrize("doc, words", [
    ({"format": "svg"}, "not a handwrite strokes"),
    ([1, 2], "not a handwrite strokes"),
    ({"format": "handwrite-strokes", "lines": 3}, '"lines"'),
    ({"format": "handwrite-strokes", "lines": ["x"]}, "line 1 must be"),
    ({"format": "handwrite-strokes", "lines": [{"text": "a", "points": [[1, 2]]}]}, "line 1: points"),
    ({"format": "handwrite-strokes", "lines": [{"text": "a", "points": [[1, "b", 0]]}]}, "line 1: points"),
])
def test_bad_documents_raise_value_errors_that_say_what_is_wrong(doc, words):
    with pytest.raises(ValueError, match=words):
        strokes_json.loads(json.dumps(doc))


def test_handwriting_and_style_read_each_others_json(tmp_path):
    hw = Handwriting("the cat sat\nupon a mat", [WrittenLine("the cat sat", some_points(60) * 3),
                                                 WrittenLine("upon a mat", some_points(60, 2) * 3)])
    hw.to_json(tmp_path / "hw.json")
    style = Style.from_file(tmp_path / "hw.json", name="scribe")
    assert [t for _, t in style.lines] == ["the cat sat", "upon a mat"]
    back = Handwriting.from_json(style.to_json())
    assert [ln.text for ln in back.lines] == ["the cat sat", "upon a mat"]
    assert json.loads(style.to_json())["name"] == "scribe"
    np.testing.assert_allclose(back.lines[0].points[:, :2], np.concatenate(style.lines[0][0]), atol=6e-3)


@pytest.fixture
def recorded(monkeypatch):
    """Every call of the codec's line reader and point writer, by the `what` or decimals it got."""
    calls = {"read": [], "write": []}
    read_line, point_rows = strokes_json.read_line, strokes_json.point_rows

    def reading(line, what="line"):
        calls["read"].append(what)
        return read_line(line, what)

    def writing(points, decimals):
        calls["write"].append(decimals)
        return point_rows(points, decimals)
    monkeypatch.setattr(strokes_json, "read_line", reading)
    monkeypatch.setattr(strokes_json, "point_rows", writing)
    return calls


def test_handwriting_and_style_go_through_the_codec(recorded, tmp_path):
    hw = Handwriting("ab", [WrittenLine("ab", some_points())])
    hw.to_json(tmp_path / "a.json")
    assert recorded["write"] == [3]
    Handwriting.from_json(tmp_path / "a.json")
    assert recorded["read"] == ["line 1"]
    style = Style.from_file(tmp_path / "a.json")
    assert recorded["read"] == ["line 1"] * 2
    style.to_json()
    assert recorded["write"] == [3, 2]


def test_the_server_goes_through_the_codec(recorded):
    pytest.importorskip("starlette")
    from handwrite.server import bodies
    hw = Handwriting("ab", [WrittenLine("ab", some_points())])
    answer = bodies.result(hw, {})
    assert recorded["write"] == [2, 2]                        # all points, then the line's
    style = bodies.parse_primer({"lines": answer["lines"]})
    assert recorded["read"] == ["primer line 1"] and style.text == "ab"
    content, ext = bodies.render_download({"lines": answer["lines"]}, "json")
    assert recorded["read"] == ["primer line 1", "line 1"]    # the download's line...
    assert recorded["write"][-1] == 3 and ext == ".json"      # ... saved by Handwriting.to_json
    assert strokes_json.loads(content).lines[0][0] == "ab"
