"""Text -> lines to write, and written lines -> positions on a page.

Layout works in page units (px at 96 dpi).  Each written line arrives as strokes in its
own coordinates; `place_lines` moves it onto its baseline and aligns it.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import numpy as np

from .choices import ALIGNMENTS, DEFAULT_SIZE_MM, DEFAULT_WIDTH, PAPERS
from .preprocess import points_to_strokes

MAX_LINE_CHARS = 75           # a hard limit for explicit widths: longer lines fail to write
UNIT = 0.1                    # page units per IAM whiteboard unit: a line of writing ~35 px tall
LINE_HEIGHT = 60.0            # page units between baselines at line_spacing 1
MM_PER_UNIT = 25.4 / 96       # page units are px at 96 dpi
PAGE_SIZES_MM = {
    "a3": (297.0, 420.0), "a4": (210.0, 297.0), "a5": (148.0, 210.0), "a6": (105.0, 148.0),
    "letter": (215.9, 279.4), "legal": (215.9, 355.6), "tabloid": (279.4, 431.8),
}


@dataclass
class TextLine:
    text: str                 # "" for a blank line (paragraph gap)
    paragraph: int


def split_text(text: str, width: int = DEFAULT_WIDTH) -> list[TextLine]:
    """Keep explicit newlines; word-wrap each line to at most `width` characters.

    A word longer than the width is split across lines (the model cannot write
    arbitrarily long lines). Runs of spaces collapse to one, as handwriting has no
    way to show them.
    """
    check_width(width)
    out: list[TextLine] = []
    paragraph = 0
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        words = raw.split()
        if not words:
            out.append(TextLine("", paragraph))
            paragraph += 1
            continue
        for ln in textwrap.wrap(" ".join(words), width=width, break_long_words=True, break_on_hyphens=False):
            out.append(TextLine(ln, paragraph))
    # blank lines at the start and end of the text carry no meaning on a page
    while out and not out[0].text:
        out.pop(0)
    while out and not out[-1].text:
        out.pop()
    return out


def check_width(width: int) -> None:
    if width < 1:
        raise ValueError(f"width must be at least 1 character, got {width}")
    if width > MAX_LINE_CHARS:
        raise ValueError(f"width {width} is too wide: the model writes at most {MAX_LINE_CHARS} characters a line")


def check_align(align: str) -> None:
    if align not in ALIGNMENTS:
        raise ValueError(f"align must be one of {ALIGNMENTS}, got {align!r}")


def baseline_of(points: np.ndarray) -> float:
    """A robust baseline estimate of one written line: where most strokes' lowest points lie."""
    return float(np.percentile(points[:, 1], 75)) if len(points) else 0.0


def place_lines(line_points: list[np.ndarray | None], *, align: str = "left", line_height: float = LINE_HEIGHT,
                width: float | None = None, origin=(0.0, 0.0)) -> list[np.ndarray | None]:
    """Shift each (n, 3) line so baselines are line_height apart and lines are aligned.

    None entries are blank lines (they take vertical space only).  width: the box to
    align center/right within; default the widest line.
    """
    check_align(align)
    widths = [float(p[:, 0].max() - p[:, 0].min()) if p is not None and len(p) else 0.0 for p in line_points]
    box = width if width is not None else max(widths, default=0.0)
    placed = []
    for i, (p, w) in enumerate(zip(line_points, widths)):
        if p is None or not len(p):
            placed.append(None)
            continue
        q = np.array(p, dtype=np.float32, copy=True)
        dx = {"left": 0.0, "center": (box - w) / 2, "right": box - w}[align]
        q[:, 0] += origin[0] + dx - q[:, 0].min()
        q[:, 1] += origin[1] + i * line_height - baseline_of(q)
        placed.append(q)
    return placed


# ---- pages ---------------------------------------------------------------------------------
def page_size_mm(page_size, landscape: bool = False) -> tuple[float, float]:
    """("A4" | "letter" | "210x297" | (w, h) in mm) -> (width, height) in mm."""
    if isinstance(page_size, str):
        key = page_size.strip().lower()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*x\s*(\d+(?:\.\d+)?)(?:\s*mm)?", key)
        if key in PAGE_SIZES_MM:
            w, h = PAGE_SIZES_MM[key]
        elif match:
            w, h = float(match[1]), float(match[2])
        else:
            raise ValueError(f"unknown page size {page_size!r}; use one of {', '.join(PAGE_SIZES_MM)} "
                             "or WIDTHxHEIGHT in mm, e.g. '200x150'")
    else:
        try:
            w, h = (float(v) for v in page_size)
        except (TypeError, ValueError):
            raise ValueError(f"page size must be a name or (width, height) in mm, got {page_size!r}") from None
    if not (w > 0 and h > 0):
        raise ValueError(f"page size must be positive, got {w} x {h} mm")
    return (max(w, h), min(w, h)) if landscape else (w, h)


# ---- writing that flows over pages --------------------------------------------------------
# The model's own hand at its natural size (1 page unit = 1 px at 96 dpi) has a body height
# (the height of an x, measured by `body_height`) of about 8.5 page units, 2.2 mm; the
# presets range from 7 to 13.  Writing on a page is scaled to the asked body height.
NATURAL_BODY = 8.5
PITCH_PER_BODY = 3.2          # baseline to baseline, in body heights: 8 mm lines for a 2.5 mm body
CHAR_PER_BODY = 1.5           # width of a character, in body heights (the default hand: ~1.4; wider ones shrink)
RULE_COLORS = {"lined": "#8fb8de", "grid": "#c4d8ec"}
RULE_WIDTH_MM = 0.2
PAGE_KEYS = ("page", "page_margin", "size", "paper", "landscape")   # the settings of Handwriting.pages


def check_size(size) -> float:
    """A body height in mm that writing can have."""
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not (0.5 <= size <= 50):
        raise ValueError(f"size (the body height of the writing) must be between 0.5 and 50 mm, got {size!r}")
    return float(size)


def check_paper(paper: str) -> str:
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}, got {paper!r}")
    return paper


def sitting_line(points: np.ndarray) -> float:
    """Where the letters of one written line sit, for ruled paper: the median height of the
    pen's lowest turns (the bottoms of n, u, o, ...), or `baseline_of` with too few turns."""
    bottoms = []
    for s in points_to_strokes(points):
        y = s[:, 1]
        turn = (y[1:-1] >= y[:-2]) & (y[1:-1] > y[2:])
        bottoms.append(y[1:-1][turn])
    bottoms = np.concatenate(bottoms) if bottoms else np.zeros(0)
    return float(np.median(bottoms)) if len(bottoms) >= 3 else baseline_of(points)


def body_height(line_points: list[np.ndarray | None]) -> float | None:
    """The body height (x-height) of written lines in their units: the height above each
    line's baseline that 90% of its points stay under, over all lines.  None without points.

    What a page's `size` (mm) means, and what NATURAL_BODY was measured with; not
    `style_features.body_height` (the ink's 20th-80th percentile band, ~1.1-1.7 times
    smaller depending on the hand), so the two are not interchangeable."""
    heights = [baseline_of(p) - p[:, 1] for p in line_points if p is not None and len(p) > 2]
    return float(np.percentile(np.concatenate(heights), 90)) if heights else None


def size_scale(line_points: list[np.ndarray | None], size_mm: float) -> float:
    """Page units per unit of the lines that give them a body height of `size_mm`.

    The body is measured on the lines themselves (a large or small hand comes out at the
    asked size), within a factor of two of the model's natural body: a few capitals alone
    ("OK") would otherwise read as a very tall body.
    """
    measured = body_height(line_points) or NATURAL_BODY
    measured = min(max(measured, NATURAL_BODY / 2), NATURAL_BODY * 2)
    return check_size(size_mm) / MM_PER_UNIT / measured


def line_chars_for(page_size, margin_mm: float = 20.0, size_mm: float = DEFAULT_SIZE_MM,
                   landscape: bool = False) -> int:
    """How many characters a line can hold between the margins of a page at this body height."""
    w_mm, h_mm = page_size_mm(page_size, landscape)
    check_margin(margin_mm, w_mm, h_mm)
    chars = int((w_mm - 2 * margin_mm) / (check_size(size_mm) * CHAR_PER_BODY))
    return max(1, min(MAX_LINE_CHARS, chars))


def check_margin(margin_mm: float, w_mm: float, h_mm: float) -> None:
    if not (0 <= margin_mm < min(w_mm, h_mm) / 2):
        raise ValueError(f"margin {margin_mm} mm does not fit a {w_mm:g} x {h_mm:g} mm page")


@dataclass(frozen=True)
class Sheet:
    """One page of paper: its size, its ruling, and where it is in the document.

    Lengths are page units (px at 96 dpi) from the top left corner, except the `_mm` ones.
    Lined paper has a rule under every line of writing; grid paper has squares of half a
    line's pitch whose lines run along the baselines.
    """
    width_mm: float
    height_mm: float
    number: int = 1
    count: int = 1
    paper: str = "plain"
    margin: float = 0.0                # page units
    pitch: float = 0.0                 # page units between baselines
    first_baseline: float = 0.0        # page units from the top
    lines: int = 0                     # lines of writing the page holds

    @property
    def width(self) -> float:
        return self.width_mm / MM_PER_UNIT

    @property
    def height(self) -> float:
        return self.height_mm / MM_PER_UNIT

    @property
    def size(self) -> tuple[str, str]:
        """The page's size as SVG width and height."""
        return f"{self.width_mm:g}mm", f"{self.height_mm:g}mm"

    @property
    def rule_color(self) -> str:
        return RULE_COLORS.get(self.paper, "none")

    @property
    def rule_width(self) -> float:
        return RULE_WIDTH_MM / MM_PER_UNIT

    def baselines(self) -> list[float]:
        return [self.first_baseline + k * self.pitch for k in range(self.lines)]

    def rules(self) -> list[tuple[float, float, float, float]]:
        """The paper's lines (x0, y0, x1, y1) in page units: none on plain paper."""
        if self.paper == "lined":
            return [(0.0, y, self.width, y) for y in self.baselines()]
        if self.paper == "grid":
            step = self.pitch / 2
            ys = np.arange(self.first_baseline % step, self.height, step)
            xs = np.arange(self.margin % step, self.width, step)
            return [(0.0, float(y), self.width, float(y)) for y in ys] + \
                   [(float(x), 0.0, float(x), self.height) for x in xs]
        return []


@dataclass(frozen=True)
class PagePlan:
    sheet: Sheet
    lines: list[tuple[int, np.ndarray | None]]     # (index of the document's line, its points on the page)


def flow_pages(line_points: list[np.ndarray | None], page_size="A4", *, margin_mm: float = 20.0,
               size_mm: float = DEFAULT_SIZE_MM, paper: str = "plain", landscape: bool = False,
               line_spacing: float = 1.0, align: str = "left") -> list[PagePlan]:
    """Lay written lines out on as many pages as they need, one after the other.

    line_points: the document's lines, (n, 3) points in any units with their baseline
    anywhere (None or empty for a blank line: a paragraph gap, which takes a line's room
    on whatever page it falls).  Every line keeps its shape and is scaled by one factor
    for the whole document: its body height becomes `size_mm` (a line too wide to fit
    between the margins is made smaller, alone).  Letters sit (`sitting_line`) on
    baselines `PITCH_PER_BODY * size_mm * line_spacing` apart, the first one pitch below
    the top margin; a line is never split.
    """
    check_align(align)
    check_paper(paper)
    w_mm, h_mm = page_size_mm(page_size, landscape)
    check_margin(margin_mm, w_mm, h_mm)
    if not (0 < line_spacing < 100):
        raise ValueError(f"line_spacing must be a positive number below 100, got {line_spacing}")
    margin = margin_mm / MM_PER_UNIT
    box_w = w_mm / MM_PER_UNIT - 2 * margin
    scale = size_scale(line_points, size_mm)
    pitch = PITCH_PER_BODY * check_size(size_mm) / MM_PER_UNIT * line_spacing
    per_page = int((h_mm / MM_PER_UNIT - 2 * margin) // pitch)
    if per_page < 1:
        raise ValueError(f"a {w_mm:g} x {h_mm:g} mm page with {margin_mm:g} mm margins has no room for a "
                         f"line of writing {size_mm:g} mm high")
    chunks = [list(range(i, min(i + per_page, len(line_points)))) for i in range(0, len(line_points), per_page)]
    chunks = chunks or [[]]
    plans = []
    for number, chunk in enumerate(chunks, 1):
        sheet = Sheet(w_mm, h_mm, number, len(chunks), paper, margin, pitch, margin + pitch, per_page)
        placed = []
        for slot, i in enumerate(chunk):
            p = line_points[i]
            if p is None or not len(p):
                placed.append((i, None))
                continue
            q = np.array(p, dtype=np.float32, copy=True)
            q[:, 1] -= sitting_line(q)
            width = float(np.ptp(q[:, 0]))
            q[:, :2] *= min(scale, box_w / width) if width > 0 else scale    # a line too wide: that line shrinks
            w = float(np.ptp(q[:, 0]))
            dx = {"left": 0.0, "center": (box_w - w) / 2, "right": box_w - w}[align]
            q[:, 0] += margin + dx - q[:, 0].min()
            q[:, 1] += sheet.first_baseline + slot * pitch
            placed.append((i, q))
        plans.append(PagePlan(sheet, placed))
    return plans
