"""Pen-plotter output: single-stroke SVG on a real page, and G-code.

Both outputs place the writing on the page the same way (`place_on_page`): page units
are scaled by `scale` (millimetres per page unit) and moved so the writing's top-left
corner sits at the top-left margin.  Page coordinates are millimetres from the page's
top-left corner, y pointing down, as in SVG.  Strokes stay polylines through the pen
points (no smoothing) unless asked, so the SVG and the G-code trace the same lines.

G-code then maps page millimetres to machine coordinates (see `GcodeProfile`):

    1. origin:  the machine's (0, 0) is a corner of the page (or its centre) and its
                axes point into the page from there: for "bottom-left", X = x and
                Y = page height - y.
    2. swap_xy: exchange X and Y (machines whose X axis runs along the page's height).
    3. invert_x / invert_y: negate X / Y (machines that count negative from home).
    4. offset:  add (dx, dy): where that origin lies in the machine's coordinates.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from .choices import ORIGINS
from .layout import MM_PER_UNIT, PAGE_SIZES_MM, page_size_mm  # noqa: F401 (re-exported)
from .render import bounding_box, smooth_path
from .render import format_number as _num

MM_PER = {"mm": 1.0, "cm": 10.0, "in": 25.4}
SVG_NS = "http://www.w3.org/2000/svg"
INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"


# ---- the page (sizes live in layout.py) ------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Page units -> page millimetres: xy * scale + (dx, dy)."""
    scale: float
    dx: float
    dy: float

    def apply(self, xy: np.ndarray) -> np.ndarray:
        return np.asarray(xy, dtype=np.float64)[:, :2] * self.scale + (self.dx, self.dy)


def place_on_page(strokes, page_mm: tuple[float, float], margin_mm: float, scale: float | None = None) -> Placement:
    """Scale (mm per page unit; default: fit inside the margins) and move to the top-left margin."""
    if not strokes:
        raise ValueError("nothing to plot: the handwriting has no strokes")
    if margin_mm < 0:
        raise ValueError(f"margin must be >= 0, got {margin_mm}")
    width, height = page_mm
    room_w, room_h = width - 2 * margin_mm, height - 2 * margin_mm
    if room_w <= 0 or room_h <= 0:
        raise ValueError(f"a {margin_mm:g} mm margin leaves no room on a {width:g} x {height:g} mm page")
    x0, y0, x1, y1 = bounding_box(strokes)
    w, h = x1 - x0, y1 - y0
    if scale is None:
        scale = min(room_w / w if w > 0 else math.inf, room_h / h if h > 0 else math.inf)
        scale = MM_PER_UNIT if math.isinf(scale) else scale     # a single dot: natural size
    elif scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    elif w * scale > room_w * (1 + 1e-9) or h * scale > room_h * (1 + 1e-9):
        raise ValueError(f"at this scale the writing is {w * scale:.1f} x {h * scale:.1f} mm but the page has "
                         f"{room_w:.1f} x {room_h:.1f} mm inside its margins; use a smaller scale or larger page")
    return Placement(float(scale), margin_mm - x0 * scale, margin_mm - y0 * scale)


def placed_lines(hw, placement: Placement) -> list[tuple[str, list[np.ndarray]]]:
    """(text, strokes in page mm) of every line that has strokes."""
    return [(ln.text, [placement.apply(s) for s in ln.strokes]) for ln in hw.lines if len(ln.points)]


# ---- single-stroke SVG ------------------------------------------------------------------
def plotter_svg(hw, *, page_size="A4", landscape: bool = False, units: str = "mm", margin: float = 15.0,
                scale: float | None = None, pen_width: float = 0.5, color: str = "black",
                smooth: bool = False) -> str:
    """An SVG for plotting (vpype, Inkscape plugins, AxiDraw): see Handwriting.to_plotter_svg.

    All lengths (margin, pen_width, scale) are millimetres, and so are the path
    coordinates: the view box is the page in mm.  `units` ("mm", "cm" or "in") only says
    how the page's width and height are declared.  Each
    line is an Inkscape layer (`inkscape:groupmode="layer"`, labelled with its number),
    which vpype reads as a layer too.
    """
    if units not in MM_PER:
        raise ValueError(f"units must be one of {', '.join(MM_PER)}, got {units!r}")
    per = MM_PER[units]
    page_w, page_h = page_size_mm(page_size, landscape)
    placement = place_on_page(hw.strokes, (page_w, page_h), margin, scale)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("inkscape", INKSCAPE_NS)
    svg = ET.Element(f"{{{SVG_NS}}}svg", {
        "width": f"{_num(page_w / per, 3)}{units}", "height": f"{_num(page_h / per, 3)}{units}",
        "viewBox": f"0 0 {_num(page_w, 3)} {_num(page_h, 3)}", "version": "1.1"})
    ET.SubElement(svg, f"{{{SVG_NS}}}title").text = hw.text
    for n, (text, strokes) in enumerate(placed_lines(hw, placement), 1):
        layer = ET.SubElement(svg, f"{{{SVG_NS}}}g", {
            "id": f"layer{n}", f"{{{INKSCAPE_NS}}}groupmode": "layer", f"{{{INKSCAPE_NS}}}label": f"line {n}",
            "fill": "none", "stroke": color, "stroke-width": _num(pen_width, 3),
            "stroke-linecap": "round", "stroke-linejoin": "round"})
        ET.SubElement(layer, f"{{{SVG_NS}}}title").text = text
        for s in strokes:
            d = smooth_path(s) if smooth else _polyline(s)
            ET.SubElement(layer, f"{{{SVG_NS}}}path", {"d": d, "fill": "none"})
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(svg, encoding="unicode")


def _polyline(s: np.ndarray) -> str:
    if len(s) == 1:
        return f"M{_num(s[0, 0], 3)},{_num(s[0, 1], 3)}l0.001,0"    # a dot: a tiny segment the pen taps
    return "M" + " L".join(f"{_num(x, 3)},{_num(y, 3)}" for x, y in s)


# ---- G-code ------------------------------------------------------------------------------
@dataclass(frozen=True)
class GcodeProfile:
    """A plotter's page, pen and motion settings.  Lengths in mm, feeds in mm/min.

    The pen moves by Z (z_up / z_down at z_feed) unless pen_up / pen_down give commands
    for it (e.g. a servo: pen_up="M5", pen_down="M3 S1000", pen_delay=0.2).
    """
    page_size: object = "A4"               # a name ("A4", "letter", ...), "WxH" or (w, h) mm
    landscape: bool = False
    margin: float = 15.0
    scale: float | None = None             # mm per page unit; None: fit inside the margins
    draw_feed: float = 1500.0              # pen down
    travel_feed: float | None = None       # pen up; None: rapid moves (G0)
    z_up: float = 5.0
    z_down: float = 0.0
    z_feed: float = 600.0
    pen_up: str | None = None              # command replacing the Z lift
    pen_down: str | None = None            # command replacing the Z drop
    pen_delay: float = 0.0                 # seconds to wait after each pen move (servos settle)
    dwell: str = "G4 P{seconds}"           # Marlin wants milliseconds: "G4 P{milliseconds}"
    origin: str = "bottom-left"            # where the machine's (0, 0) is on the page
    swap_xy: bool = False
    invert_x: bool = False
    invert_y: bool = False
    offset: tuple[float, float] = (0.0, 0.0)
    return_home: bool = True               # end with a travel to the origin
    header: tuple[str, ...] = ("G21", "G90")   # millimetres, absolute coordinates
    footer: tuple[str, ...] = ("M2",)
    decimals: int = 3

    def __post_init__(self):
        if self.origin not in ORIGINS:
            raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, got {self.origin!r}")
        for name in ("draw_feed", "z_feed") + (("travel_feed",) if self.travel_feed is not None else ()):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.pen_delay < 0:
            raise ValueError(f"pen_delay must be >= 0, got {self.pen_delay}")

    @property
    def page_mm(self) -> tuple[float, float]:
        return page_size_mm(self.page_size, self.landscape)

    @property
    def pen_up_command(self) -> str:
        return self.pen_up if self.pen_up is not None else f"G0 Z{_num(self.z_up, self.decimals)}"

    @property
    def pen_down_command(self) -> str:
        if self.pen_down is not None:
            return self.pen_down
        return f"G1 Z{_num(self.z_down, self.decimals)} F{_num(self.z_feed, 1)}"

    def to_machine(self, xy_mm: np.ndarray) -> np.ndarray:
        """(n, 2) page mm (top-left origin, y down) -> (n, 2) machine coordinates."""
        w, h = self.page_mm
        x, y = np.asarray(xy_mm, dtype=np.float64).T
        X, Y = {"bottom-left": (x, h - y), "top-left": (x, y), "bottom-right": (w - x, h - y),
                "top-right": (w - x, y), "center": (x - w / 2, h / 2 - y)}[self.origin]
        if self.swap_xy:
            X, Y = Y, X
        if self.invert_x:
            X = -X
        if self.invert_y:
            Y = -Y
        return np.stack([X + self.offset[0], Y + self.offset[1]], axis=1)

    def machine_bounds(self) -> tuple[float, float, float, float]:
        """(min X, min Y, max X, max Y) of the page in machine coordinates."""
        w, h = self.page_mm
        corners = self.to_machine(np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64))
        return (*corners.min(0), *corners.max(0))


def _comment(text: str) -> str:
    return "; " + " ".join(text.split())     # one line, whatever the text holds


def gcode(hw, profile: GcodeProfile) -> str:
    """The G-code program drawing the handwriting: see Handwriting.to_gcode.

    Layout: header, a pen lift (so the first travel cannot draw), then per stroke a
    travel to its first point, pen down, a G1 move through each further point, pen up;
    then an optional travel home and the footer.
    """
    page_w, page_h = profile.page_mm
    placement = place_on_page(hw.strokes, (page_w, page_h), profile.margin, profile.scale)
    d = profile.decimals
    xy = lambda p: f"X{_num(p[0], d)} Y{_num(p[1], d)}"                      # noqa: E731
    travel = (lambda p: f"G0 {xy(p)}") if profile.travel_feed is None else \
        (lambda p: f"G1 {xy(p)} F{_num(profile.travel_feed, 1)}")           # noqa: E731
    pause = []
    if profile.pen_delay > 0:
        pause = [profile.dwell.format(seconds=_num(profile.pen_delay, 3),
                                      milliseconds=_num(profile.pen_delay * 1000, 0))]
    out = [_comment(f"handwrite: {hw.text}"),
           _comment(f"page {page_w:g} x {page_h:g} mm, origin {profile.origin}, "
                    f"{placement.scale:.4f} mm per page unit"),
           *profile.header, profile.pen_up_command, *pause]
    for n, (text, strokes) in enumerate(placed_lines(hw, placement), 1):
        out.append(_comment(f"line {n}: {text}"))
        for stroke in strokes:
            pts = profile.to_machine(stroke)
            out.append(travel(pts[0]))
            out += [profile.pen_down_command, *pause]
            out += [f"G1 {xy(p)} F{_num(profile.draw_feed, 1)}" if i == 0 else f"G1 {xy(p)}"
                    for i, p in enumerate(pts[1:])]
            out += [profile.pen_up_command, *pause]
    if profile.return_home:
        out.append(travel(profile.offset))
    out += list(profile.footer)
    return "\n".join(out) + "\n"
