"""InkML out: valid W3C ink in millimetres that Style.from_file reads back."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from handwrite import Style, outputs
from handwrite.layout import MM_PER_UNIT

from test_pages import synthetic

NS = "{http://www.w3.org/2003/InkML}"
TEXTS = ["the quick brown fox", "", "jumps over a lazy dog"]


@pytest.fixture
def hw():
    return synthetic(TEXTS)


def test_the_document_declares_its_units_and_groups_lines(hw):
    root = ET.fromstring(hw.to_inkml())
    assert root.tag == NS + "ink"
    channels = root.findall(f".//{NS}traceFormat/{NS}channel")
    assert [(c.get("name"), c.get("units")) for c in channels] == [("X", "mm"), ("Y", "mm")]
    assert root.find(f".//{NS}brush/{NS}brushProperty").get("units") == "mm"
    groups = root.findall(f"{NS}traceGroup")
    assert [g.find(f"{NS}annotation").text for g in groups] == [t for t in TEXTS if t]    # blank lines: no group
    assert [len(g.findall(f"{NS}trace")) for g in groups] == [len(ln.strokes) for ln in hw.lines if ln.text]
    assert all(g.get("contextRef") == "#handwrite" for g in groups)
    ids = {el.get("{http://www.w3.org/XML/1998/namespace}id") for el in root.iter()} - {None}
    assert {"handwrite", "pen"} <= ids


def test_round_trip_through_style_from_file(hw, tmp_path):
    path = outputs.save(hw, tmp_path / "note.inkml")
    assert path.read_bytes().startswith(b"<?xml")
    style = Style.from_file(path)
    written = [ln for ln in hw.lines if ln.text]
    assert [text for _, text in style.lines] == [ln.text for ln in written]
    for (strokes, _), ln in zip(style.lines, written):
        assert len(strokes) == len(ln.strokes)
        for got, want in zip(strokes, ln.strokes):
            np.testing.assert_allclose(got / MM_PER_UNIT, want, atol=0.005 / MM_PER_UNIT)


def test_a_page_is_written_in_page_millimetres(hw):
    (page,) = hw.pages("A5", page_margin=12)
    root = ET.fromstring(page.to_inkml())
    first = root.find(f".//{NS}trace").text.split(",")[0].split()
    x = float(first[0])
    assert 12 <= x < 14           # the first stroke starts at the left margin, in mm


def test_a_style_text_still_overrides_and_foreign_groups_stay_one_line(tmp_path):
    doc = ('<ink xmlns="http://www.w3.org/2003/InkML"><annotation type="truth">all of it</annotation>'
           '<traceGroup><trace>0 0, 10 5, 20 0, 30 5, 40 0, 50 5, 60 0, 70 5, 80 0, 90 5, 100 0</trace></traceGroup>'
           '<traceGroup><trace>0 20, 10 25, 20 20, 30 25, 40 20, 50 25, 60 20, 70 25, 80 20, 90 25</trace>'
           '</traceGroup></ink>')
    path = tmp_path / "other.inkml"
    path.write_text(doc)
    style = Style.from_file(path)
    assert len(style.lines) == 1 and style.text == "all of it" and len(style.strokes) == 2
    assert Style.from_file(path, text="other words").text == "other words"
