"""The result of writing: pen points in page coordinates, and its renderings."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import outputs, render
from .fileio import write_file
from .preprocess import points_to_strokes


@dataclass
class WrittenLine:
    text: str
    points: np.ndarray        # (n, 3) x, y, eos in page units; empty for a blank line
    phi: np.ndarray | None = None   # (steps, chars) attention weights, when recorded

    @property
    def strokes(self) -> list[np.ndarray]:
        return points_to_strokes(self.points)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return render.bounding_box(self.strokes)


@dataclass
class Handwriting:
    """Written text: `.points` (N, 3) float32 x, y, eos with y pointing down."""
    text: str
    lines: list[WrittenLine]
    info: dict = field(default_factory=dict)
    source: object = field(default=None, repr=False, compare=False)   # the Writer that wrote it, if any

    @property
    def points(self) -> np.ndarray:
        parts = [ln.points for ln in self.lines if len(ln.points)]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 3), np.float32)

    @property
    def strokes(self) -> list[np.ndarray]:
        return [s for ln in self.lines for s in ln.strokes]

    # ---- renderings ----
    def to_svg(self, path=None, *, color="black", stroke_width=2.0, background="white", scale=1.0,
               margin=20.0, page=None, page_margin=20.0, landscape=False, animate=False, speed=1.0,
               loop=False) -> str:
        """SVG of the strokes.

        Default: a tight box around the writing plus `margin` page units.  page: a real page
        ("A4", "letter", "WxH" or (w, h) in mm) with the writing at the top left inside
        `page_margin` mm (scaled down only if it does not fit).  animate: draw the strokes in
        pen order when opened in a browser (SMIL, no script) at the pace they were written;
        speed > 1 plays faster; loop: start again after a pause.
        """
        timings = render.stroke_timings([ln.strokes for ln in self.lines], speed=speed) if animate else None
        view_box = size = None
        if page is not None:
            from .layout import page_view
            view_box, size = page_view(render.bounding_box(self.strokes), page, page_margin, landscape)
        svg = render.to_svg(self.strokes, render.RenderOptions(color, stroke_width, background, scale, margin),
                            view_box=view_box, page_size=size, timings=timings, loop=loop)
        if path is not None:
            write_file(path, svg.encode("utf-8"))
        return svg

    def to_png(self, path=None, *, dpi=96.0, **options) -> bytes:
        _no_animation(options, "PNG")
        data = render.svg_to_png(self.to_svg(**options), dpi=dpi)
        if path is not None:
            write_file(path, data)
        return data

    def to_pdf(self, path=None, **options) -> bytes:
        _no_animation(options, "PDF")
        data = render.svg_to_pdf(self.to_svg(**options))
        if path is not None:
            write_file(path, data)
        return data

    def to_json(self, path=None) -> str:
        doc = {"format": "handwrite-strokes", "version": 1, "text": self.text,
               "lines": [{"text": ln.text, "points": np.round(ln.points, 3).tolist()} for ln in self.lines]}
        s = json.dumps(doc)
        if path is not None:
            write_file(path, s.encode("utf-8"))
        return s

    @classmethod
    def from_json(cls, source) -> "Handwriting":
        """Load from a JSON string or a path written by `to_json`."""
        s = source
        if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
            s = Path(source).read_text(encoding="utf-8")
        doc = json.loads(s)
        if doc.get("format") != "handwrite-strokes":
            raise ValueError("not a handwrite strokes JSON document")
        lines = [WrittenLine(ln["text"], np.asarray(ln["points"], np.float32).reshape(-1, 3)) for ln in doc["lines"]]
        return cls(doc.get("text", "\n".join(ln.text for ln in lines)), lines)

    def save(self, path, **options) -> Path:
        """Write SVG, PNG, PDF, JSON or G-code, chosen by the file's extension (`handwrite.outputs`)."""
        return outputs.save(self, path, **options)

    # ---- looking inside the model (matplotlib figures; see handwrite.plots) ----
    def plot_attention(self, path=None, **options):
        """Heatmap of the attention window's weights: pen steps across, each line's characters down.

        Returns the matplotlib Figure; with a path, also writes it (.png, .svg or .pdf).
        options: figsize, dpi, cmap.
        """
        from .plots import attention_figure, save_figure
        fig = attention_figure(self, **options)
        if path is not None:
            save_figure(fig, path)
        return fig

    def plot_density(self, path=None, *, writer=None, bias=0.0, **options):
        """The model's predicted densities of the next pen point, summed along the written lines.

        The model re-reads the strokes (teacher forcing); writer: the Writer to use when
        this handwriting has none (`source` is None, e.g. loaded from JSON).  Returns the
        matplotlib Figure; with a path, also writes it.  options: figsize, dpi, cell, cmap,
        show_strokes.
        """
        from .plots import density_figure, save_figure
        fig = density_figure(self, writer, bias=bias, **options)
        if path is not None:
            save_figure(fig, path)
        return fig

    # ---- pen plotters (see handwrite.plotter) ----
    def to_plotter_svg(self, path=None, *, page_size="A4", landscape=False, units="mm", margin=15.0,
                       scale=None, pen_width=0.5, color="black", smooth=False) -> str:
        """Single-stroke SVG on a real page: one unfilled <path> per stroke, one layer per line.

        page_size: "A4", "A5", "letter", ... or (width, height) in mm; margin and pen_width
        in mm; scale: mm per page unit (default: the largest size that fits inside the
        margins).  units ("mm", "cm", "in"): how the page size is declared; path
        coordinates are always page millimetres.
        """
        from .plotter import plotter_svg
        svg = plotter_svg(self, page_size=page_size, landscape=landscape, units=units, margin=margin,
                          scale=scale, pen_width=pen_width, color=color, smooth=smooth)
        if path is not None:
            write_file(path, svg.encode("utf-8"))
        return svg

    def to_gcode(self, path=None, *, profile=None, **changes) -> str:
        """G-code for a pen plotter: one pen-down/pen-up pair per stroke.

        profile: a `handwrite.plotter.GcodeProfile` (machine, page and pen settings);
        keyword changes override its fields, e.g. to_gcode(page_size="A5", draw_feed=800).
        """
        import dataclasses

        from .plotter import GcodeProfile, gcode
        profile = dataclasses.replace(profile or GcodeProfile(), **changes)
        text = gcode(self, profile)
        if path is not None:
            write_file(path, text.encode("utf-8"))
        return text


def _no_animation(options: dict, kind: str) -> None:
    if options.pop("animate", False):
        raise ValueError(f"animation needs SVG output; a {kind} is a still picture")
    options.pop("speed", None)
    options.pop("loop", None)

