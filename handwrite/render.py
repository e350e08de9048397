"""Strokes -> SVG (svgwrite), PNG and PDF (cairosvg); the PNG of a tight box around the
ink drawn straight with cairo (`to_png`: the same pixels, without the SVG between).

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


def format_number(v: float, decimals: int = 2) -> str:
    """A short decimal for SVG and G-code: at most `decimals` places, no trailing zeros, no "-0"."""
    s = f"{v:.{decimals}f}"
    if decimals > 0:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


_fmt = format_number       # the short name the SVG code below reads best with


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
    parts += ["C" + " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in zip(seg[::2], seg[1::2]))
              for seg in bezier_segments(p).tolist()]
    return "".join(parts)


def bezier_segments(p: np.ndarray) -> np.ndarray:
    """(n - 1, 6): the cubic Bezier segments of the Catmull-Rom spline through a stroke's
    n >= 3 points, each its first control point, its second and its end (x, y each)."""
    ext = np.vstack([p[0], p, p[-1]])
    c1 = ext[1:-2] + (ext[2:-1] - ext[:-3]) / 6.0
    c2 = ext[2:-1] - (ext[3:] - ext[1:-2]) / 6.0
    return np.concatenate([c1, c2, ext[2:-1]], axis=1)


def tight_box(strokes, margin: float) -> tuple[float, float, float, float]:
    """(x, y, width, height): the strokes' bounding box with `margin` on every side."""
    x0, y0, x1, y1 = bounding_box(strokes)
    return x0 - margin, y0 - margin, (x1 - x0) + 2 * margin, (y1 - y0) + 2 * margin


def bounding_box(strokes) -> tuple[float, float, float, float]:
    """(min_x, min_y, max_x, max_y) of all points; zeros for no strokes."""
    if not strokes:
        return 0.0, 0.0, 0.0, 0.0
    pts = np.concatenate([np.asarray(s)[:, :2] for s in strokes])
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def to_svg(strokes, options: RenderOptions | None = None, *, view_box=None, page_size=None,
           timings=None, loop: bool = False, rules=(), rule_color: str = "#8fb8de", rule_width: float = 0.75) -> str:
    """An SVG document drawing the strokes.

    view_box: (x, y, w, h) in page units; default a tight box around the strokes plus the
    margin.  page_size: (width, height) with units (e.g. ("210mm", "297mm")); default the
    view box's size times the scale, in px.  timings: one (begin, duration) in seconds per
    stroke (see `stroke_timings`) to draw the strokes in as an animation; loop: replay it
    for ever.  rules: lines (x0, y0, x1, y1) of the paper, drawn under the ink in
    `rule_color`, `rule_width` page units wide.
    """
    import svgwrite

    o = options or RenderOptions()
    vx, vy, vw, vh = tight_box(strokes, o.margin) if view_box is None else view_box
    vw, vh = max(vw, 1.0), max(vh, 1.0)
    size = page_size or (f"{_fmt(vw * o.scale)}px", f"{_fmt(vh * o.scale)}px")
    dwg = svgwrite.Drawing(size=size, viewBox=f"{_fmt(vx)} {_fmt(vy)} {_fmt(vw)} {_fmt(vh)}", debug=False)
    if o.background:
        dwg.add(dwg.rect(insert=(vx, vy), size=(vw, vh), fill=o.background))
    if len(rules):
        paper = dwg.g(stroke=rule_color, stroke_width=_fmt(rule_width, 3), fill="none")
        for x0, y0, x1, y1 in rules:
            paper.add(dwg.line((_fmt(x0), _fmt(y0)), (_fmt(x1), _fmt(y1))))
        dwg.add(paper)
    group = dwg.g(fill="none", stroke=o.color, stroke_width=o.stroke_width,
                  stroke_linecap="round", stroke_linejoin="round")
    cycle = loop_cycle(timings) if timings is not None and loop else None
    for i, s in enumerate(strokes):
        path = dwg.path(d=smooth_path(s))
        if timings is not None:
            _animate_drawing(path, s, *timings[i], o.stroke_width, cycle)
        group.add(path)
    dwg.add(group)
    return dwg.tostring()


def svg_to_png(svg: str, dpi: float = 96.0) -> bytes:
    import cairosvg
    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), dpi=dpi, scale=dpi / 96.0)


def to_png(strokes, options: RenderOptions | None = None, dpi: float = 96.0) -> bytes:
    """The PNG that `svg_to_png(to_svg(strokes, options), dpi)` gives (a tight view box),
    drawn straight with cairo: the same numbers (the SVG's rounding), the same curves,
    caps and joins, without writing and parsing the SVG (most of the time of a small
    picture: `handwrite dataset` draws one per sample)."""
    import io

    import cairocffi as cairo
    from cairosvg.colors import color

    o = options or RenderOptions()
    x, y, w, h = tight_box(strokes, o.margin)
    box = (x, y, max(w, 1.0), max(h, 1.0))
    vx, vy, vw, vh = (float(_fmt(v)) for v in box)                      # the SVG's viewBox
    width, height = (float(_fmt(v * o.scale)) * dpi / 96.0 for v in box[2:])   # its size, at the dpi
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, int(round(width)), int(round(height)))
    ctx = cairo.Context(surface)
    k = min(width / vw, height / vh)              # the view box fitted and centred (xMidYMid meet),
    ctx.translate(-vx * k, -vy * k)               # in cairosvg's order of steps
    ctx.rectangle(vx * k, vy * k, width, height)  # the viewport clips (its unrounded size)
    ctx.clip()
    ctx.scale(k, k)
    ctx.translate((width / k - vw) / 2, (height / k - vh) / 2)
    if o.background:
        ctx.rectangle(vx, vy, vw, vh)
        ctx.set_source_rgba(*color(o.background))
        ctx.fill()
    ctx.set_line_width(o.stroke_width)
    ctx.set_line_cap(cairo.LINE_CAP_ROUND)
    ctx.set_line_join(cairo.LINE_JOIN_ROUND)
    ctx.set_source_rgba(*color(o.color))
    for stroke in strokes:
        _draw_path(ctx, np.asarray(stroke, dtype=np.float64))
        ctx.stroke()
    out = io.BytesIO()
    surface.write_to_png(out)
    return out.getvalue()


def _draw_path(ctx, p: np.ndarray) -> None:
    """`smooth_path`'s curve of one stroke as cairo path commands, at the SVG's two decimals."""
    if len(p) == 1:
        ctx.move_to(*np.round(p[0], 2).tolist())
        ctx.rel_line_to(0.01, 0)                  # a dot: a tiny segment that the round caps draw
        return
    if len(p) == 2:
        (a, b), (c, d) = np.round(p, 2).tolist()
        ctx.move_to(a, b)
        ctx.line_to(c, d)
        return
    ctx.move_to(*np.round(p[0], 2).tolist())
    for segment in np.round(bezier_segments(p), 2).tolist():
        ctx.curve_to(*segment)


def svg_to_pdf(svg: str) -> bytes:
    import cairosvg
    return cairosvg.svg2pdf(bytestring=svg.encode("utf-8"))


def svgs_to_pdf(svgs: list[str]) -> bytes:
    """One PDF with a page per SVG document, each page the size its SVG declares.

    cairosvg draws one SVG per PDF; here every page is drawn by cairosvg onto one shared
    cairo PDF surface, turning the page between them.
    """
    import io

    import cairocffi
    from cairosvg.parser import Tree
    from cairosvg.surface import PDFSurface

    if len(svgs) == 1:
        return svg_to_pdf(svgs[0])
    out = io.BytesIO()
    shared = []

    class _Page(PDFSurface):
        def _create_surface(self, width, height):
            if shared:
                shared[0].set_size(width, height)
            else:
                shared.append(cairocffi.PDFSurface(out, width, height))
            return shared[0], width, height

    for svg in svgs:
        page = _Page(Tree(bytestring=svg.encode("utf-8")), None, 96)
        page.context.show_page()
    if shared:
        shared[0].finish()
    return out.getvalue()


# ---- animation: strokes drawn in pen order -----------------------------------------------
# IAM-OnDB pens report a point about every 15 ms and the model writes every 2nd point,
# so one model step is ~30 ms of writing: replaying steps at that rate looks natural.
SECONDS_PER_POINT = 0.03
PEN_LIFT_SECONDS = 0.12        # pause while the pen travels to the next stroke
LINE_PAUSE_SECONDS = 0.4       # pause while the hand moves to the next line
LOOP_HOLD_SECONDS = 2.0        # a looping animation shows the finished writing this long
LOOP_BLANK_SECONDS = 0.5       # ... then an empty page before it starts again


def stroke_timings(lines, *, speed: float = 1.0) -> list[tuple[float, float]]:
    """(begin, duration) in seconds of each stroke, for strokes grouped by line.

    lines: a list of lists of (n, 2) strokes in pen order.  A stroke lasts as long as the
    pen took to write its points; speed > 1 plays faster.
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    out, t = [], 0.0
    for n_line, strokes in enumerate(lines):
        if n_line and strokes and out:
            t += LINE_PAUSE_SECONDS
        for s in strokes:
            duration = max(len(s) - 1, 1) * SECONDS_PER_POINT
            out.append((t / speed, duration / speed))
            t += duration + PEN_LIFT_SECONDS
    return out


def curve_length(stroke: np.ndarray, samples_per_segment: int = 8) -> float:
    """Length of the curve `smooth_path` draws through the stroke (sampled, slightly short)."""
    p = np.asarray(stroke, dtype=np.float64)[:, :2]
    if len(p) < 3:
        return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())
    ext = np.vstack([p[0], p, p[-1]])
    p0, p1, p2, p3 = ext[:-3], ext[1:-2], ext[2:-1], ext[3:]
    c1, c2 = p1 + (p2 - p0) / 6.0, p2 - (p3 - p1) / 6.0          # as in smooth_path
    t = np.linspace(0.0, 1.0, samples_per_segment + 1)[:, None, None]
    curve = (1 - t) ** 3 * p1 + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t ** 2 * c2 + t ** 3 * p2
    return float(np.linalg.norm(np.diff(curve, axis=0), axis=2).sum())


def loop_cycle(timings) -> tuple[float, float]:
    """(cycle length, when the finished writing vanishes) in seconds, for a looping animation."""
    end = max((b + d for b, d in timings), default=0.0)
    return end + LOOP_HOLD_SECONDS + LOOP_BLANK_SECONDS, end + LOOP_HOLD_SECONDS


def _animate_drawing(path, stroke, begin: float, duration: float, stroke_width: float, cycle=None) -> None:
    """Hide the path behind a dash gap and slide the dash in: the stroke is drawn from its start.

    The dash is longer than the curve (sampling measures it a little short) and the gap
    starts one stroke width past the path's start, so no round cap shows before `begin`.
    cycle: (length, vanish time) from `loop_cycle`: the animation then repeats every
    `length` seconds, each stroke starting at its own `begin` and vanishing with the rest.
    """
    from svgwrite.animate import Animate

    dash = curve_length(stroke) * 1.05 + stroke_width
    hidden = dash + stroke_width
    duration = max(duration, 0.01)
    path.update({"stroke-dasharray": f"{_fmt(dash)} {_fmt(hidden)}", "stroke-dashoffset": _fmt(hidden)})
    anim = Animate(attributeName="stroke-dashoffset", debug=False)
    if cycle is None:
        anim.set_value(None, from_=_fmt(hidden), to="0")
        anim.update({"begin": f"{begin:.3f}s", "dur": f"{duration:.3f}s", "fill": "freeze"})
    else:
        length, vanish = cycle
        # in the stroke's own time: hidden, drawn over `duration`, shown, hidden until the cycle ends
        gone = (vanish - begin) / length
        keys = [0.0, duration / length, gone, min(gone + 1e-4, 1.0), 1.0]
        h = _fmt(hidden)
        anim.update({"values": f"{h};0;0;{h};{h}", "keyTimes": ";".join(f"{k:.5f}" for k in keys),
                     "begin": f"{begin:.3f}s", "dur": f"{length:.3f}s", "repeatCount": "indefinite"})
    path.add(anim)
