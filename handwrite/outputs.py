"""What handwriting can be saved as: one registry of output formats.

Each format has a name, the file extensions that choose it, and a render function
(handwriting, **options) -> bytes.  `Handwriting.save`, the CLI's `-o` and `--format`,
`handwrite plotter` and the figures of `handwrite.plots` all read this one list, so a
format added here is a format everywhere.  Files are written by `handwrite.fileio`
(atomically, with the folder checked first).

Adding a format: write its render function, add an `OutputFormat` to `FORMATS`, and
name it in the groups below that should offer it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .fileio import check_writable_path, write_file

PAGE_OPTIONS = ("color", "stroke_width", "background", "scale", "margin", "page", "page_margin", "landscape",
                "size", "paper", "page_number")
PAGE_ONLY = ("page_margin", "paper", "page_number", "landscape")     # options that mean nothing without a page


@dataclass(frozen=True)
class OutputFormat:
    name: str
    extensions: tuple[str, ...]             # lower case, with the dot
    render: Callable[..., bytes]            # (handwriting, **options) -> the file's bytes
    options: tuple[str, ...] = ()           # the drawing options it takes (see `options_for`)
    description: str = ""
    file_per_page: bool = False             # with a page: one file per page (`page_path`), not one file


def _svg(hw, **options) -> bytes:
    return hw.to_svg(**options).encode("utf-8")


def _png(hw, **options) -> bytes:
    return hw.to_png(**options)


def _pdf(hw, **options) -> bytes:
    return hw.to_pdf(**options)


def _json(hw, **options) -> bytes:
    return hw.to_json().encode("utf-8")       # strokes have no look: drawing options are ignored


def _gcode(hw, **options) -> bytes:
    return hw.to_gcode(**options).encode("utf-8")


def _inkml(hw, **options) -> bytes:
    return hw.to_inkml(**options).encode("utf-8")


def _plotter_svg(hw, **options) -> bytes:
    return hw.to_plotter_svg(**options).encode("utf-8")


FORMATS = {f.name: f for f in (
    OutputFormat("svg", (".svg",), _svg, PAGE_OPTIONS + ("animate", "speed", "loop"), "vector picture",
                 file_per_page=True),
    OutputFormat("png", (".png",), _png, PAGE_OPTIONS + ("dpi",), "bitmap picture", file_per_page=True),
    OutputFormat("pdf", (".pdf",), _pdf, PAGE_OPTIONS, "vector document, a PDF page per page"),
    OutputFormat("json", (".json",), _json, (), "the strokes (Handwriting.from_json reads them)"),
    OutputFormat("inkml", (".inkml",), _inkml, ("stroke_width",),
                 "W3C ink in millimetres, a trace group per line (Style.from_file reads it)"),
    OutputFormat("gcode", (".gcode", ".nc", ".ngc"), _gcode, ("profile",), "pen plotter program"),
    OutputFormat("plotter-svg", (".svg",), _plotter_svg,
                 ("page_size", "landscape", "units", "margin", "scale", "pen_width", "color", "smooth"),
                 "single-stroke SVG page in millimetres, for plotters"),
)}

# Who offers which formats; a group's first format with an extension wins it.
SAVE_FORMATS = ("svg", "png", "pdf", "json", "inkml", "gcode")     # Handwriting.save, handwrite write / batch
PLOTTER_FORMATS = ("gcode", "plotter-svg")                # handwrite plotter
FIGURE_FORMATS = ("png", "svg", "pdf")                    # matplotlib figures (handwrite.plots)


def extensions(group=SAVE_FORMATS) -> list[str]:
    """Every extension a group of formats accepts, in order, each once."""
    return list(dict.fromkeys(ext for name in group for ext in FORMATS[name].extensions))


def format_for(path, group=SAVE_FORMATS, what: str = "output") -> OutputFormat:
    """The format a file name asks for, or ValueError naming the choices."""
    path = Path(path)
    ext = path.suffix.lower()
    for name in group:
        if ext in FORMATS[name].extensions:
            return FORMATS[name]
    raise ValueError(f"{path}: unknown {what} format {path.suffix!r}; use one of " + ", ".join(extensions(group)))


def check_output(path, group=SAVE_FORMATS, what: str = "output") -> OutputFormat:
    """Check an output path before any work: a known format and a folder to write it in.

    Raises ValueError (format) or an OSError (folder), each naming the path.
    """
    fmt = format_for(path, group, what)
    check_writable_path(path)
    return fmt


def options_for(fmt: OutputFormat, path, options: dict) -> dict:
    """The drawing options (None: not given) that `fmt` takes; ValueError for one it cannot honour.

    Front ends pass every option their user can set; a format without colours (G-code,
    JSON) ignores them, as does a page option on a format without pages.  background
    "none" means transparent.
    """
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    if given.get("animate") and "animate" not in fmt.options:
        from .options import SettingError
        raise SettingError(f"{path}: `animate` needs an .svg output file")
    if given.get("background") == "none":
        given["background"] = None
    if "page" in given and "page" in fmt.options:
        from .layout import page_size_mm
        page_size_mm(given["page"])             # a bad page name is bad input, found before writing
    else:
        for name in PAGE_ONLY:
            given.pop(name, None)
    if given.get("paper") == "plain":
        given.pop("paper")
    return {k: v for k, v in given.items() if k in fmt.options}


def page_path(path, number: int) -> Path:
    """The file of page `number` when a format writes a file per page: out.svg -> out-2.svg."""
    path = Path(path)
    return path.with_name(f"{path.stem}-{number}{path.suffix}")


def save_files(hw, path, group=SAVE_FORMATS, **options) -> list[Path]:
    """Render `hw` in the format its file name asks for and write it atomically: the files written.

    With a page and no page_number, a format that has a file per page (SVG, PNG) writes
    one file per page, named by `page_path` (`out-1.svg`, `out-2.svg`, ...), when the
    writing fills more than one; a single page keeps the name given.
    """
    fmt = format_for(path, group)
    if fmt.file_per_page and options.get("page") is not None and options.get("page_number") is None:
        from .layout import PAGE_KEYS
        pages = hw.pages(**{k: v for k, v in options.items() if k in PAGE_KEYS})
        if len(pages) > 1:
            rest = {k: v for k, v in options.items() if k not in PAGE_KEYS and k != "page_number"}
            return [write_file(page_path(path, p.sheet.number), fmt.render(p, **rest)) for p in pages]
    return [write_file(path, fmt.render(hw, **options))]


def save(hw, path, group=SAVE_FORMATS, **options) -> Path:
    """`save_files`, returning the (first) file written."""
    return save_files(hw, path, group, **options)[0]
