"""Strokes -> SVG (svgwrite), PNG and PDF (cairosvg).

Strokes are drawn as smooth curves: a Catmull-Rom spline through the pen points,
written as cubic Bezier segments, with round caps and joins.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RenderOptions:
    color: str = "black"
    stroke_width: float = 2.0          # in page units (px at scale 1)
    background: str | None = "white"   # None: transparent
    scale: float = 1.0                 # output size multiplier
    margin: float = 20.0               # page units around the writing (tight view box)


def _fmt(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def smooth_path(stroke: np.ndarray) -> str:
    """SVG path data for one stroke: a Catmull-Rom spline through its points."""
    p = np.asarray(stroke, dtype=np.float64)
    if len(p) == 1:
        # a dot: a zero-length segment drawn with round caps
        return f"M{_fmt(p[0, 0])},{_fmt(p[0, 1])}l0.01,0"
    parts = [f"M{_fmt(p[0, 0])},{_fmt(p[0, 1])}"]
    if len(p) == 2:
        parts.append(f"L{_fmt(p[1, 0])},{_fmt(p[1, 1])}")
        return "".join(parts)
    ext = np.vstack([p[0], p, p[-1]])
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        c1 = p1 + (p2 - p0) / 6.0
        c2 = p2 - (p3 - p1) / 6.0
        parts.append("C" + " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in (c1, c2, p2)))
    return "".join(parts)


def bounding_box(strokes) -> tuple[float, float, float, float]:
    """(min_x, min_y, max_x, max_y) of all points; zeros for no strokes."""
    if not strokes:
        return 0.0, 0.0, 0.0, 0.0
    pts = np.concatenate([np.asarray(s)[:, :2] for s in strokes])
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def to_svg(strokes, options: RenderOptions | None = None, *, view_box=None, page_size=None) -> str:
    """An SVG document drawing the strokes.

    view_box: (x, y, w, h) in page units; default a tight box around the strokes plus the
    margin.  page_size: (width, height) with units (e.g. ("210mm", "297mm")); default the
    view box's size times the scale, in px.
    """
    import svgwrite

    o = options or RenderOptions()
    if view_box is None:
        x0, y0, x1, y1 = bounding_box(strokes)
        view_box = (x0 - o.margin, y0 - o.margin, (x1 - x0) + 2 * o.margin, (y1 - y0) + 2 * o.margin)
    vx, vy, vw, vh = view_box
    vw, vh = max(vw, 1.0), max(vh, 1.0)
    size = page_size or (f"{_fmt(vw * o.scale)}px", f"{_fmt(vh * o.scale)}px")
    dwg = svgwrite.Drawing(size=size, viewBox=f"{_fmt(vx)} {_fmt(vy)} {_fmt(vw)} {_fmt(vh)}", debug=False)
    if o.background:
        dwg.add(dwg.rect(insert=(vx, vy), size=(vw, vh), fill=o.background))
    group = dwg.g(fill="none", stroke=o.color, stroke_width=o.stroke_width,
                  stroke_linecap="round", stroke_linejoin="round")
    for s in strokes:
        group.add(dwg.path(d=smooth_path(s)))
    dwg.add(group)
    return dwg.tostring()


def svg_to_png(svg: str, dpi: float = 96.0) -> bytes:
    import cairosvg
    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), dpi=dpi, scale=dpi / 96.0)


def svg_to_pdf(svg: str) -> bytes:
    import cairosvg
    return cairosvg.svg2pdf(bytestring=svg.encode("utf-8"))
