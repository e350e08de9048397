"""The result of writing: pen points in page coordinates, and its renderings."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import outputs, render, strokes_json
from .fileio import write_file
from .layout import PAGE_KEYS, Sheet
from .preprocess import points_to_strokes

# to_png's options that a PNG of a tight box around the ink takes (RenderOptions' fields, and size)
TIGHT_PNG = ("color", "stroke_width", "background", "scale", "margin", "size")


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
    """Written text: `.points` (N, 3) float32 x, y, eos with y pointing down.

    sheet: None for writing at the model's natural size; a `layout.Sheet` for one page of
    `pages()`, whose points are then page units from the page's top left corner.
    """
    text: str
    lines: list[WrittenLine]
    info: dict = field(default_factory=dict)
    source: object = field(default=None, repr=False, compare=False)   # the Writer that wrote it, if any
    sheet: Sheet | None = field(default=None, repr=False)

    @property
    def points(self) -> np.ndarray:
        parts = [ln.points for ln in self.lines if len(ln.points)]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 3), np.float32)

    @property
    def strokes(self) -> list[np.ndarray]:
        return [s for ln in self.lines for s in ln.strokes]

    # ---- pages ----
    def pages(self, page="A4", *, page_margin=20.0, size=None, paper="plain", landscape=False,
              align=None, line_spacing=None) -> list["Handwriting"]:
        """The writing on pages of paper: one `Handwriting` per page, in order.

        page: "A4", "A5", "letter", "WxH" or (w, h) in mm; page_margin: mm on every side;
        size: the body height (the height of an x) in mm, default `DEFAULT_SIZE_MM` (2.5);
        paper: "plain", "lined" (the writing sits on the rules) or "grid".  Lines keep
        their shape and flow onto the next page when one is full; a line (so a word) is
        never split, and a paragraph gap takes a line's room.  Baselines are 3.2 body
        heights apart (8 mm by default) times the line spacing the text was written
        with; lines keep their alignment within the margins.  Each page's `.sheet` says
        where it is; its points are page units (1/96 inch) from the top left corner.
        """
        from .layout import DEFAULT_SIZE_MM, flow_pages
        plans = flow_pages([ln.points for ln in self.lines], page, margin_mm=page_margin,
                           size_mm=DEFAULT_SIZE_MM if size is None else size, paper=paper, landscape=landscape,
                           line_spacing=self.info.get("line_spacing", 1.0) if line_spacing is None else line_spacing,
                           align=align or self.info.get("align", "left"))
        out = []
        for plan in plans:
            lines = [WrittenLine(self.lines[i].text, p if p is not None else np.zeros((0, 3), np.float32),
                                 self.lines[i].phi) for i, p in plan.lines]
            info = {**self.info, "page": plan.sheet.number, "pages": plan.sheet.count}
            out.append(Handwriting("\n".join(ln.text for ln in lines), lines, info, self.source, plan.sheet))
        return out

    def resized(self, size) -> "Handwriting":
        """A copy whose body height (the height of an x) is `size` mm, at 96 page units an inch."""
        from .layout import size_scale
        k = np.array([*(2 * [size_scale([ln.points for ln in self.lines], size)]), 1.0])
        lines = [WrittenLine(ln.text, (ln.points * k).astype(np.float32), ln.phi) for ln in self.lines]
        return Handwriting(self.text, lines, dict(self.info), self.source, self.sheet)

    def one_page(self, number=None, **page_args) -> "Handwriting":
        """Page `number` (from 1) of `pages(**page_args)`; None: the only page (ValueError for several)."""
        pages = self.pages(**page_args)
        if number is None:
            if len(pages) > 1:
                raise ValueError(f"the writing fills {len(pages)} pages: choose one with page_number (1 to "
                                 f"{len(pages)}), or save it as .pdf (every page in one file) or as .svg or .png "
                                 "(one file per page)")
            return pages[0]
        if isinstance(number, bool) or not isinstance(number, (int, np.integer)) or not 1 <= number <= len(pages):
            raise ValueError(f"page_number {number!r} does not exist: the writing fills {len(pages)} page(s)")
        return pages[number - 1]

    # ---- renderings ----
    def to_svg(self, path=None, *, color="black", stroke_width=2.0, background="white", scale=1.0,
               margin=20.0, page=None, page_margin=20.0, landscape=False, size=None, paper="plain",
               page_number=None, animate=False, speed=1.0, loop=False) -> str:
        """SVG of the strokes.

        Default: a tight box around the writing plus `margin` page units, at the model's
        natural size (or a body height of `size` mm).  page: one page of paper (see
        `pages` for page, page_margin, size, paper, landscape); page_number: which one,
        needed when the writing fills several.  animate: draw the strokes in pen order
        when opened in a browser (SMIL, no script) at the pace they were written; speed >
        1 plays faster; loop: start again after a pause.
        """
        drawing = dict(color=color, stroke_width=stroke_width, background=background, scale=scale, margin=margin,
                       animate=animate, speed=speed, loop=loop)
        if page is not None:
            one = self.one_page(page_number, page=page, page_margin=page_margin, size=size, paper=paper,
                                 landscape=landscape)
            svg = one.to_svg(**drawing)
        elif size is not None:
            svg = self.resized(size).to_svg(**drawing)
        else:
            timings = render.stroke_timings([ln.strokes for ln in self.lines], speed=speed) if animate else None
            options = render.RenderOptions(color, stroke_width, background, scale, margin)
            sheet = self.sheet
            if sheet is None:
                svg = render.to_svg(self.strokes, options, timings=timings, loop=loop)
            else:
                svg = render.to_svg(self.strokes, options, view_box=(0, 0, sheet.width, sheet.height),
                                    page_size=sheet.size, timings=timings, loop=loop, rules=sheet.rules(),
                                    rule_color=sheet.rule_color, rule_width=sheet.rule_width)
        if path is not None:
            write_file(path, svg.encode("utf-8"))
        return svg

    def _repr_svg_(self) -> str:
        """Jupyter shows a Handwriting as its SVG (a page of `pages()` as that page)."""
        return self.to_svg()

    def to_png(self, path=None, *, dpi=96.0, **options) -> bytes:
        """PNG of `to_svg(**options)` (one page: page_number when the writing fills several)."""
        _no_animation(options, "PNG")
        if options.get("page") is None and set(options) <= set(TIGHT_PNG):
            one = self.resized(options["size"]) if options.get("size") is not None else self
            if one.sheet is None:             # a tight box around the ink: drawn straight, no SVG between
                drawing = render.RenderOptions(**{k: v for k, v in options.items() if k != "size"})
                data = render.to_png(one.strokes, drawing, dpi)
                if path is not None:
                    write_file(path, data)
                return data
        data = render.svg_to_png(self.to_svg(**options), dpi=dpi)
        if path is not None:
            write_file(path, data)
        return data

    def to_pdf(self, path=None, **options) -> bytes:
        """PDF of `to_svg(**options)`; with a page and no page_number, every page of `pages()`."""
        _no_animation(options, "PDF")
        if options.get("page") is not None and options.get("page_number") is None:
            page_args = {k: options.pop(k) for k in PAGE_KEYS if k in options}
            options.pop("page_number", None)
            data = render.svgs_to_pdf([p.to_svg(**options) for p in self.pages(**page_args)])
        else:
            data = render.svg_to_pdf(self.to_svg(**options))
        if path is not None:
            write_file(path, data)
        return data

    def to_inkml(self, path=None, *, stroke_width=2.0) -> str:
        """InkML (W3C): one <trace> per stroke, one <traceGroup> per line with its text,
        X and Y in millimetres (y down; a page's from its top left corner), a pen
        `stroke_width` page units wide.  `Style.from_file` reads it back."""
        from .inkml import to_inkml
        s = to_inkml(self, stroke_width=stroke_width)
        if path is not None:
            write_file(path, s.encode("utf-8"))
        return s

    def to_json(self, path=None) -> str:
        """The strokes as JSON (docs/api.md; `strokes_json` is the codec), to a thousandth of a unit."""
        s = strokes_json.dumps([(ln.text, ln.points) for ln in self.lines], self.text)
        if path is not None:
            write_file(path, s.encode("utf-8"))
        return s

    @classmethod
    def from_json(cls, source) -> "Handwriting":
        """Load from a JSON string or a path written by `to_json`."""
        s = source
        if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
            s = Path(source).read_text(encoding="utf-8")
        doc = strokes_json.loads(s)
        lines = [WrittenLine(text, points) for text, points in doc.lines]
        return cls(doc.text if doc.text is not None else "\n".join(ln.text for ln in lines), lines)

    def save(self, path, **options) -> Path:
        """Write SVG, PNG, PDF, JSON, InkML or G-code, chosen by the file's extension (`handwrite.outputs`).

        With a page (options as `to_svg`), a PDF holds every page; an SVG or PNG of
        several pages is one file per page, `name-1.svg`, `name-2.svg`, ... (or the one
        page_number asks for).  Returns the path written (the first page's, for several;
        `outputs.save_files` returns them all).
        """
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

