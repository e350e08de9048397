"""Pen-plotter output: the single-stroke SVG page, G-code, and their CLI."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from handwrite.plotter import ORIGINS, GcodeProfile, page_size_mm

SVG = "{http://www.w3.org/2000/svg}"
INKSCAPE = "{http://www.inkscape.org/namespaces/inkscape}"


@pytest.fixture
def written(tiny_writer):
    return tiny_writer.write("hi there\n\nyou", seed=3)


def path_points(d: str) -> np.ndarray:
    return np.array([[float(a), float(b)] for a, b in re.findall(r"[ML]([-\d.]+),([-\d.]+)", d)])


def expected_mm(written, scale: float, margin: float) -> list[np.ndarray]:
    """The documented placement: writing's top-left corner at the top-left margin."""
    pts = written.points[:, :2].astype(np.float64)
    corner = pts.min(0)
    return [(s - corner) * scale + margin for s in written.strokes]


# ---- the page ----------------------------------------------------------------------------
def test_page_sizes():
    assert page_size_mm("A4") == (210.0, 297.0)
    assert page_size_mm("letter", landscape=True) == (279.4, 215.9)
    assert page_size_mm("200x150") == (200.0, 150.0)
    assert page_size_mm((100, 80)) == (100.0, 80.0)
    with pytest.raises(ValueError, match="unknown page size 'B9'"):
        page_size_mm("B9")
    with pytest.raises(ValueError, match="positive"):
        page_size_mm((0, 10))


# ---- single-stroke SVG -----------------------------------------------------------------------
def test_plotter_svg_is_one_unfilled_path_per_stroke_on_a_page(written):
    root = ET.fromstring(written.to_plotter_svg(page_size="A4", margin=15))
    assert root.get("width") == "210mm" and root.get("height") == "297mm"
    assert root.get("viewBox") == "0 0 210 297"
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == len(written.strokes)
    for el in root.iter():
        assert el.get("fill") in (None, "none")
    assert all(p.get("fill") == "none" for p in paths)
    layers = root.findall(f"{SVG}g")
    assert [g.get(f"{INKSCAPE}groupmode") for g in layers] == ["layer", "layer"]   # blank line: no layer
    assert [g.get(f"{INKSCAPE}label") for g in layers] == ["line 1", "line 2"]
    assert [g.find(f"{SVG}title").text for g in layers] == ["hi there", "you"]
    # fitted: inside the margins, touching them on one axis
    pts = np.concatenate([path_points(p.get("d")) for p in paths])
    assert pts.min() >= 15 - 1e-3 and pts[:, 0].max() <= 195 + 1e-3 and pts[:, 1].max() <= 282 + 1e-3
    assert pts[:, 0].min() == pytest.approx(15, abs=1e-3) and pts[:, 1].min() == pytest.approx(15, abs=1e-3)
    assert pts[:, 0].max() == pytest.approx(195, abs=1e-3) or pts[:, 1].max() == pytest.approx(282, abs=1e-3)


def test_plotter_svg_coordinates_follow_the_strokes(written):
    root = ET.fromstring(written.to_plotter_svg(scale=0.25, margin=10))
    paths = root.findall(f".//{SVG}path")
    for p, want in zip(paths, expected_mm(written, 0.25, 10)):
        got = path_points(p.get("d"))
        np.testing.assert_allclose(got, want, atol=1e-3)


def test_plotter_svg_units_and_landscape(written):
    root = ET.fromstring(written.to_plotter_svg(page_size="A4", landscape=True, units="in", margin=12.7))
    assert root.get("width") == "11.693in" and root.get("height") == "8.268in"
    assert root.get("viewBox") == "0 0 297 210"                  # user units stay millimetres
    pts = np.concatenate([path_points(p.get("d")) for p in root.findall(f".//{SVG}path")])
    assert pts.min() >= 12.7 - 1e-3 and pts[:, 0].max() <= 297 - 12.7 + 1e-3
    assert root.find(f"{SVG}g").get("stroke-width") == "0.5"      # lengths stay millimetres too
    with pytest.raises(ValueError, match="units"):
        written.to_plotter_svg(units="px")


def test_plotter_svg_smooth_curves(written):
    root = ET.fromstring(written.to_plotter_svg(smooth=True))
    assert any("C" in p.get("d") for p in root.findall(f".//{SVG}path"))


def test_scale_that_does_not_fit_is_refused(written):
    with pytest.raises(ValueError, match="inside its margins"):
        written.to_plotter_svg(page_size="A6", scale=5.0)
    with pytest.raises(ValueError, match="no room"):
        written.to_plotter_svg(page_size="A6", margin=60)


# ---- G-code ------------------------------------------------------------------------------
def parse_gcode(text: str, profile: GcodeProfile):
    """Run the program as a plotter would: (strokes drawn as machine points, every XY visited)."""
    up, down = profile.pen_up_command, profile.pen_down_command
    pen_down, drawn, visited = False, [], []
    pos = None
    for line in text.splitlines():
        line = line.split(";")[0].strip()
        if not line:
            continue
        if line == down:
            assert not pen_down, "pen lowered twice"
            pen_down = True
            drawn.append([pos])
            continue
        if line == up:
            pen_down = False
            continue
        m = re.fullmatch(r"G([01]) X([-\d.]+) Y([-\d.]+)(?: F[\d.]+)?", line)
        if m:
            pos = (float(m[2]), float(m[3]))
            visited.append(pos)
            if pen_down:
                assert m[1] == "1", "rapid move with the pen down"
                drawn[-1].append(pos)
    assert not pen_down, "program ends with the pen down"
    return [np.array(s) for s in drawn], np.array(visited)


def test_gcode_has_one_pen_down_and_up_per_stroke(written):
    profile = GcodeProfile()
    text = written.to_gcode(profile=profile)
    lines = text.splitlines()
    n = len(written.strokes)
    assert lines.count(profile.pen_down_command) == n
    assert lines.count(profile.pen_up_command) == n + 1        # + the lift before the first travel
    drawn, visited = parse_gcode(text, profile)
    assert len(drawn) == n
    assert [len(s) for s in drawn] == [len(s) for s in written.strokes]
    assert "G21" in lines and "G90" in lines and lines[-1] == "M2"


@pytest.mark.parametrize("profile, to_machine", [
    # the default: origin at the bottom-left corner, y up
    (GcodeProfile(margin=10, scale=0.25), lambda x, y: (x, 297 - y)),
    (GcodeProfile(margin=10, scale=0.25, origin="top-left"), lambda x, y: (x, y)),
    (GcodeProfile(margin=10, scale=0.25, origin="top-right", swap_xy=True), lambda x, y: (y, 210 - x)),
    (GcodeProfile(margin=10, scale=0.25, origin="bottom-right", invert_x=True, offset=(5, 7)),
     lambda x, y: (-(210 - x) + 5, (297 - y) + 7)),
    (GcodeProfile(margin=10, scale=0.25, origin="center", invert_y=True, page_size="A5", landscape=True),
     lambda x, y: (x - 105, -(74 - y))),
])
def test_gcode_coordinates_follow_the_strokes(written, profile, to_machine):
    drawn, visited = parse_gcode(written.to_gcode(profile=profile), profile)
    for got, stroke_mm in zip(drawn, expected_mm(written, 0.25, 10)):
        want = np.stack(to_machine(stroke_mm[:, 0], stroke_mm[:, 1]), 1)
        np.testing.assert_allclose(got, want, atol=2e-3)
    lo_x, lo_y, hi_x, hi_y = profile.machine_bounds()
    assert (visited[:, 0] >= lo_x).all() and (visited[:, 0] <= hi_x).all()
    assert (visited[:, 1] >= lo_y).all() and (visited[:, 1] <= hi_y).all()


def test_fitted_gcode_stays_inside_the_margins(written):
    profile = GcodeProfile(page_size="A5", margin=12)
    drawn, _ = parse_gcode(written.to_gcode(profile=profile), profile)
    pts = np.concatenate(drawn)
    assert pts.min() >= 12 - 1e-3
    assert pts[:, 0].max() <= 148 - 12 + 1e-3 and pts[:, 1].max() <= 210 - 12 + 1e-3


def test_gcode_servo_commands_feeds_and_dwell(written):
    text = written.to_gcode(pen_up="M5", pen_down="M3 S1000", pen_delay=0.25, draw_feed=900,
                            travel_feed=3000, return_home=False)
    lines = text.splitlines()
    n = len(written.strokes)
    assert lines.count("M3 S1000") == n and lines.count("M5") == n + 1
    assert lines.count("G4 P0.25") == 2 * n + 1                  # after every pen move
    assert not any(ln.startswith("G0") for ln in lines)         # travel_feed: G1 travel moves
    assert any(ln.endswith("F3000") for ln in lines) and any(ln.endswith("F900") for ln in lines)
    assert not any("Z" in ln for ln in lines)
    marlin = written.to_gcode(pen_delay=0.25, dwell="G4 P{milliseconds}")
    assert "G4 P250" in marlin.splitlines()


def test_gcode_profile_checks():
    assert set(ORIGINS) == {"bottom-left", "top-left", "bottom-right", "top-right", "center"}
    with pytest.raises(ValueError, match="origin"):
        GcodeProfile(origin="middle")
    with pytest.raises(ValueError, match="draw_feed"):
        GcodeProfile(draw_feed=0)


def test_save_chooses_gcode_by_extension(written, tmp_path):
    path = written.save(tmp_path / "note.gcode")
    assert path.read_text().count(GcodeProfile().pen_down_command) == len(written.strokes)
    with pytest.raises(ValueError, match=r"\.gcode"):
        written.save(tmp_path / "note.hpgl")


# ---- command line -------------------------------------------------------------------------
@pytest.fixture
def tiny_weights(tiny_model_parts, tmp_path):
    from handwrite.weights import export_weights
    path = tmp_path / "tiny.safetensors"
    export_weights(path, *tiny_model_parts)
    return path


def test_cli_write_gcode_and_animated_svg(tiny_weights, tmp_path):
    from handwrite.cli import PLOTTER_ORIGINS, main
    assert tuple(PLOTTER_ORIGINS) == ORIGINS
    runner = CliRunner()
    out = tmp_path / "hi.gcode"
    r = runner.invoke(main, ["write", "hi you", "-o", str(out), "--weights", str(tiny_weights), "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("; handwrite: hi you")
    svg = tmp_path / "hi.svg"
    r = runner.invoke(main, ["hi you", "-o", str(svg), "--animate", "--weights", str(tiny_weights)])
    assert r.exit_code == 0, r.output
    assert ET.fromstring(svg.read_bytes()).findall(f".//{SVG}animate")
    r = runner.invoke(main, ["hi", "-o", str(tmp_path / "hi.png"), "--animate", "--weights", str(tiny_weights)])
    assert r.exit_code == 2 and "--animate needs an .svg" in r.output


def test_cli_plotter(tiny_weights, tmp_path):
    from handwrite.cli import main
    runner = CliRunner()
    out = tmp_path / "hi.gcode"
    r = runner.invoke(main, ["plotter", "hi you", "-o", str(out), "--weights", str(tiny_weights), "--page", "A5",
                             "--landscape", "--pen-up", "M5", "--pen-down", "M3 S90", "--origin", "top-left"])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "origin top-left" in text and "M3 S90" in text
    svg = tmp_path / "hi.svg"
    r = runner.invoke(main, ["plotter", "hi you", "-o", str(svg), "--weights", str(tiny_weights), "--page", "letter"])
    assert r.exit_code == 0, r.output
    assert ET.fromstring(svg.read_bytes()).get("width") == "215.9mm"
    r = runner.invoke(main, ["plotter", "hi", "-o", str(svg), "--page", "B9", "--weights", str(tiny_weights)])
    assert r.exit_code == 2 and "unknown page size" in r.output


def test_cli_plot(tiny_weights, tmp_path):
    from handwrite.cli import main
    runner = CliRunner()
    a, d = tmp_path / "a.png", tmp_path / "d.svg"
    r = runner.invoke(main, ["plot", "hi you", "--attention", str(a), "--density", str(d), "--dpi", "40",
                             "--weights", str(tiny_weights), "--seed", "2"])
    assert r.exit_code == 0, r.output
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ET.fromstring(d.read_bytes())
    r = runner.invoke(main, ["plot", "hi", "--weights", str(tiny_weights)])
    assert r.exit_code == 2 and "nothing to draw" in r.output
    r = runner.invoke(main, ["plot", "hi", "--attention", str(tmp_path / "a.gif"), "--weights", str(tiny_weights)])
    assert r.exit_code == 2 and "unknown figure format" in r.output
