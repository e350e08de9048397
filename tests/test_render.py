import xml.etree.ElementTree as ET

import numpy as np
import pytest

from handwrite import render

SVG_NS = "{http://www.w3.org/2000/svg}"


def _strokes():
    t = np.linspace(0, 6, 30)
    return [np.stack([t * 10, np.sin(t) * 5], 1), np.array([[80.0, 0.0]]), np.array([[90.0, 1.0], [95.0, 4.0]])]


def test_svg_parses_and_has_one_smooth_path_per_stroke():
    svg = render.to_svg(_strokes())
    root = ET.fromstring(svg)
    paths = root.findall(f".//{SVG_NS}path")
    assert len(paths) == 3
    assert "C" in paths[0].get("d")          # curves, not a polyline
    group = root.find(f".//{SVG_NS}g")
    assert group.get("stroke-linecap") == "round" and group.get("fill") == "none"


def test_tight_view_box_with_margin():
    svg = render.to_svg(_strokes(), render.RenderOptions(margin=10))
    vb = [float(v) for v in ET.fromstring(svg).get("viewBox").split()]
    x0, y0, x1, y1 = render.bounding_box(_strokes())
    assert vb == pytest.approx([x0 - 10, y0 - 10, x1 - x0 + 20, y1 - y0 + 20], abs=0.01)


def test_smooth_path_passes_through_points():
    s = np.array([[0.0, 0.0], [10.0, 5.0], [20.0, 0.0], [30.0, 8.0]])
    d = render.smooth_path(s)
    for x, y in s[1:]:
        assert f"{render._fmt(x)},{render._fmt(y)}" in d


def test_png_and_pdf_magic_bytes():
    svg = render.to_svg(_strokes())
    png = render.svg_to_png(svg, dpi=192)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w = int.from_bytes(png[16:20], "big")
    vb_w = float(ET.fromstring(svg).get("viewBox").split()[2])
    assert abs(w - vb_w * 2) <= 2                     # 192 dpi = twice the 96-dpi size
    assert render.svg_to_pdf(svg)[:5] == b"%PDF-"


def _pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.int16)


@pytest.mark.parametrize("dpi, options", [
    (96.0, render.RenderOptions()),
    (150.0, render.RenderOptions(color="#1a1a40", stroke_width=1.7, margin=7.3)),
    (300.0, render.RenderOptions(background=None, scale=0.5)),
])
def test_a_tight_png_drawn_straight_is_the_png_of_its_svg(dpi, options):
    """`render.to_png` draws what cairosvg draws from `to_svg` (size, view box, curves, dots,
    two-point strokes, caps): the same pixels, to a level of rounding at most."""
    rng = np.random.default_rng(1)
    strokes = _strokes() + [np.cumsum(rng.normal(size=(40, 2)) * 3, axis=0) + [40.0, 20.0]]
    via_svg = _pixels(render.svg_to_png(render.to_svg(strokes, options), dpi))
    straight = _pixels(render.to_png(strokes, options, dpi))
    assert straight.shape == via_svg.shape
    assert np.abs(straight - via_svg).max() <= 2 and (straight != via_svg).mean() < 0.001
    assert (straight[..., 3] > 0).any() and (straight[..., :3] < 128).any()       # ink was drawn


def test_handwriting_png_takes_the_straight_way_only_for_a_tight_box(tiny_writer, monkeypatch):
    hw = tiny_writer.write("formats", seed=0)
    calls = []
    svg_to_png = render.svg_to_png
    monkeypatch.setattr(render, "svg_to_png", lambda svg, dpi=96.0: calls.append(dpi) or svg_to_png(svg, dpi))
    tight = hw.to_png(dpi=150, color="#123456", stroke_width=2.5, size=3.0)
    assert calls == []
    assert np.array_equal(_pixels(tight), _pixels(svg_to_png(hw.to_svg(color="#123456", stroke_width=2.5, size=3.0), 150)))
    hw.to_png(dpi=100, page="A6")                     # a page: through its SVG (rules, sheet size)
    assert calls == [100]


def test_handwriting_formats(tiny_writer, tmp_path):
    hw = tiny_writer.write("formats", seed=0)
    for ext, magic in [("svg", b"<svg"), ("png", b"\x89PNG"), ("pdf", b"%PDF")]:
        path = hw.save(tmp_path / f"out.{ext}")
        assert magic in path.read_bytes()[:200]
    assert hw.to_png(dpi=300)[:4] == b"\x89PNG"
    svg = hw.to_svg(color="#123456", stroke_width=3, background=None)
    assert "#123456" in svg and "<rect" not in svg
    with pytest.raises(ValueError, match="unknown output format"):
        hw.save(tmp_path / "out.bmp")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        hw.save(tmp_path / "missing" / "out.png")


def test_pdf_on_a_real_page(tiny_writer, tmp_path):
    import re
    hw = tiny_writer.write("on a page", seed=0)
    pdf = hw.to_pdf(page="A4")
    box = [float(v) for v in re.search(rb"/MediaBox \[\s*([\d.\s]+)\]", pdf).group(1).split()]
    assert box[2] == pytest.approx(595.3, abs=1) and box[3] == pytest.approx(841.9, abs=1)  # 210 x 297 mm
    svg = hw.to_svg(page="letter", page_margin=25)
    root = ET.fromstring(svg)
    assert root.get("width") == "215.9mm" and root.get("height") == "279.4mm"
    vx, vy, vw, vh = (float(v) for v in root.get("viewBox").split())
    assert (vx, vy) == (0, 0) and vw == pytest.approx(215.9 * 96 / 25.4, abs=0.05)   # the whole page
    x0, y0, x1, y1 = render.bounding_box(hw.pages("letter", page_margin=25)[0].strokes)
    assert x0 == pytest.approx(25 * 96 / 25.4, abs=0.05)      # the writing starts at the margin
    with pytest.raises(ValueError, match="page size"):
        hw.to_pdf(page="B12")


def test_a_line_too_wide_for_the_page_is_made_to_fit():
    import numpy as np
    from handwrite.layout import MM_PER_UNIT, flow_pages
    xs = np.linspace(0, 5000, 400)
    wide = np.stack([xs, 10 * np.sin(xs), np.zeros_like(xs)], 1).astype(np.float32)
    short = wide[:40].copy()
    (plan,) = flow_pages([wide, short], "A6", margin_mm=10)
    (_, a), (_, b) = plan.lines
    assert np.ptp(a[:, 0]) * MM_PER_UNIT == pytest.approx(85, abs=0.01)      # 105 mm less the margins
    assert np.ptp(b[:, 1]) > np.ptp(a[:, 1]) * 40 / 400 * 2             # the other line keeps its size
