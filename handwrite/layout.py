"""Text -> lines to write, and written lines -> positions on a page.

Layout works in page units (px at 96 dpi).  Each written line arrives as strokes in its
own coordinates; `place_lines` moves it onto its baseline and aligns it.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import numpy as np

from .choices import ALIGNMENTS, DEFAULT_WIDTH

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


def page_view(bbox, page_size, margin_mm: float = 20.0, landscape: bool = False):
    """View box (x, y, w, h) in page units and size ("Wmm", "Hmm") that put writing with
    bounding box `bbox` at the top left of a real page, inside the margins.

    Writing at its natural size (1 unit = 1/96 inch) is kept at that size; writing too
    large for the page is scaled down to fit.
    """
    w_mm, h_mm = page_size_mm(page_size, landscape)
    if not (0 <= margin_mm < min(w_mm, h_mm) / 2):
        raise ValueError(f"margin {margin_mm} mm does not fit a {w_mm:g} x {h_mm:g} mm page")
    x0, y0, x1, y1 = bbox
    page_w, page_h, margin = w_mm / MM_PER_UNIT, h_mm / MM_PER_UNIT, margin_mm / MM_PER_UNIT
    shrink = max(1.0, (x1 - x0) / (page_w - 2 * margin), (y1 - y0) / (page_h - 2 * margin))
    view = (x0 - margin * shrink, y0 - margin * shrink, page_w * shrink, page_h * shrink)
    return view, (f"{w_mm:g}mm", f"{h_mm:g}mm")
