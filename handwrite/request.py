"""A write request: everything a front end can ask of the writer, checked in one place.

The CLI, a web server, a vpype plugin and a notebook all build `WriteRequest`s (from
options, a JSON body or keyword arguments) and run them on a `Writer`; none of them
holds a rule of its own about how settings combine.

    from handwrite import Writer, WriteRequest
    request = WriteRequest.from_dict({"text": "Hello", "seed": 7, "style": "slanted"})
    request.run(Writer()).save("hello.svg", **request.page_options())
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .choices import FREE_STYLE
from .layout import DEFAULT_WIDTH, check_align, check_paper, check_size, check_width, line_chars_for, page_size_mm
from .options import BATCH_LINES, SettingError, WriterOptions, check_settings
from .styles import Style, resolve_style

STYLE_HELP = "a preset index or name, or 'free'"


@dataclass(frozen=True)
class WriteRequest:
    """What to write and how.  Construction checks every setting that needs no model.

    style: a preset index or name (see `handwrite styles`), "free" (no preset: the model
    picks a hand for each page), a `Style`, or None for the default preset
    (`writer.DEFAULT_STYLE`).  style_file: write in the hand of these strokes instead
    (handwrite .json, IAM-OnDB .xml or .inkml), or of several files of one hand (a list:
    more lines imitate it better); style_text: what they say, if the files do not (one
    text, or one per file in order).

    page: write on pages of paper ("A4", "letter", "WxH" in mm) with page_margin mm
    around the writing, as many as the text needs (`Handwriting.pages`), in the formats
    that have pages; paper: "plain", "lined" or "grid"; page_number: only that page.
    size: the body height (the height of an x) in mm: on a page, default 2.5
    (`layout.DEFAULT_SIZE_MM`); without one, default the model's natural size.
    width: characters a line; default 50 (`DEFAULT_WIDTH`), or on a page what fits
    between its margins at this size (`line_width`).
    options: changes to the writer's `WriterOptions` for this request, as a dict
    ({"check_capitals": False}) or a WriterOptions (all of it); None keeps the writer's.

    Errors about settings are `SettingError`s naming them as here (`style_text`); a
    front end shows its own names for them (`SettingError.shown_with`).
    """
    text: str
    bias: float = 0.75
    seed: int | None = None
    width: int | None = None
    align: str = "left"
    line_spacing: float = 1.0
    style: int | str | Style | None = None
    style_file: str | Path | tuple | None = None
    style_text: str | tuple | None = None
    page: str | None = None
    page_margin: float = 20.0
    size: float | None = None
    paper: str = "plain"
    page_number: int | None = None
    options: dict | WriterOptions | None = None

    def __post_init__(self):
        if not isinstance(self.text, str):
            raise TypeError(f"text must be a str, not {type(self.text).__name__}")
        check_settings(bias=self.bias, seed=self.seed, line_spacing=self.line_spacing)
        if self.width is not None:
            check_width(self.width)
        if self.size is not None:
            check_size(self.size)
        check_paper(self.paper)
        if self.page_number is not None and (isinstance(self.page_number, bool) or
                                             not isinstance(self.page_number, int) or self.page_number < 1):
            raise SettingError(f"`page_number` must be a page's number (1, 2, ...), got {self.page_number!r}")
        if self.page is None and (self.paper != "plain" or self.page_number is not None):
            raise SettingError("`paper` and `page_number` need a `page` (e.g. A4)")
        check_align(self.align)
        object.__setattr__(self, "style_file", _one_or_several(self.style_file))
        object.__setattr__(self, "style_text", _one_or_several(self.style_text))
        if isinstance(self.style_file, tuple) and self.style_text is not None and (
                not isinstance(self.style_text, tuple) or len(self.style_text) != len(self.style_file)):
            given = len(self.style_text) if isinstance(self.style_text, tuple) else 1
            raise SettingError(f"{len(self.style_file)} style files but {given} `style_text`: give one text per "
                               "`style_file`, in order, or none when the files carry their texts")
        if isinstance(self.style_text, tuple) and not isinstance(self.style_file, tuple):
            raise SettingError("several `style_text` need as many `style_file`")
        if self.style is not None and self.style_file is not None:
            raise SettingError("give `style` or `style_file`, not both")
        if self.style_text is not None and self.style_file is None:
            raise SettingError("`style_text` needs `style_file` (it is the text of that file's strokes)")
        if self.options is not None and not isinstance(self.options, WriterOptions):
            WriterOptions.from_dict(self.options)            # names an unknown option or a bad value
            object.__setattr__(self, "options", dict(self.options))
        if self.page is not None:
            page_size_mm(self.page)             # a bad page name is bad input, found before writing
            self.line_width()                   # ... as is a margin that leaves no room

    # ---- from plain data (a JSON body, a form) ------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> "WriteRequest":
        """A request from a dict of plain values (str, int, float, None), as JSON gives them.

        Unknown keys and values of the wrong type are a ValueError naming them.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a write request is a dict of settings, not {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SettingError(f"unknown write request setting(s) {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(known)}")
        if "text" not in data:
            raise SettingError("a write request needs a `text`")
        for name, value in data.items():
            _check_type(name, value)
        return cls(**data)

    def to_dict(self) -> dict:
        """Plain values: what `from_dict` reads back (a Style object is named, not copied)."""
        out = dataclasses.asdict(self)
        if isinstance(self.options, WriterOptions):
            out["options"] = self.options.to_dict()
        for name in ("style", "style_file"):
            if isinstance(out[name], (Style, Path)):
                out[name] = str(out[name])
            elif isinstance(out[name], tuple):
                out[name] = [str(v) for v in out[name]]
        if isinstance(out["style_text"], tuple):
            out["style_text"] = list(out["style_text"])
        return out

    # ---- running it ---------------------------------------------------------------------
    def resolved_style(self, writer):
        """The style to pass to the writer, checked against its model: None (the default
        preset), "free", or a `Style`.  Raises ValueError or OSError for one it cannot use."""
        if isinstance(self.style_file, tuple):
            chosen = Style.from_files(self.style_file, texts=self.style_text)
        elif self.style_file is not None:
            chosen = Style.from_file(self.style_file, text=self.style_text)
        elif self.style is None:
            return None
        elif isinstance(self.style, str) and self.style.strip().lower() == FREE_STYLE:
            return FREE_STYLE
        else:
            chosen = resolve_style(self.style)
        chosen.primer(writer.alphabet, writer.normalizer)    # fails now, not halfway through writing
        return chosen

    def run(self, writer, style=None):
        """Write the text with `writer` (and this request's options): a `Handwriting`.
        style: `resolved_style`, if done already."""
        return self.writer_for(writer).write(self.text, **self._write_options(writer, style))

    def stream(self, writer, style=None, every: int = 8):
        """`Writer.stream` of this request: `WritingPoints` while writing, then `WritingDone`."""
        return self.writer_for(writer).stream(self.text, **self._write_options(writer, style), every=every)

    def writer_for(self, writer):
        """`writer`, or the same model with this request's `options`."""
        return writer if self.options is None else writer.with_options(self.options)

    def page_options(self) -> dict:
        """The drawing options that put the writing on the requested page(s) at the requested size."""
        if self.page is None:
            return {} if self.size is None else {"size": self.size}
        options = {"page": self.page, "page_margin": self.page_margin, "size": self.size, "paper": self.paper,
                   "page_number": self.page_number}
        return {k: v for k, v in options.items() if v is not None and not (k == "paper" and v == "plain")}

    def drawings(self, hw) -> list:
        """What the request draws of `hw` (a Handwriting), for a front end that draws itself:
        its pages (every page, or page_number's), or without a page one drawing at `size`."""
        if self.page is None:
            return [hw if self.size is None else hw.resized(self.size)]
        args = {k: v for k, v in self.page_options().items() if k != "page_number"}
        return hw.pages(**args) if self.page_number is None else [hw.one_page(self.page_number, **args)]

    def line_width(self) -> int:
        """Characters a line: `width`, or what fits on the page at the size, or DEFAULT_WIDTH."""
        if self.width is not None:
            return self.width
        if self.page is None:
            return DEFAULT_WIDTH
        from .layout import DEFAULT_SIZE_MM
        return line_chars_for(self.page, self.page_margin, DEFAULT_SIZE_MM if self.size is None else self.size)

    def _write_options(self, writer, style=None) -> dict:
        return {"bias": self.bias, "seed": self.seed, "width": self.line_width(), "align": self.align,
                "line_spacing": self.line_spacing, "style": style or self.resolved_style(writer)}


def run_batch(writer, requests: list[WriteRequest], batch_size: int = BATCH_LINES):
    """Write requests that differ only in their text, `batch_size` at a time (faster per line).

    Checks everything first (the style, and each text against the model: "line N: ..."
    names the first bad one), then returns an iterator of one list of (request,
    Handwriting) per chunk.  A chunk starting at request `start` is seeded with
    seed + start, so a seeded batch writes the same lines however it is cut.
    """
    if not requests:
        raise ValueError("the input file has no non-empty lines")
    if batch_size < 1:
        raise SettingError(f"`batch_size` must be at least 1, got {batch_size}")
    first = requests[0]
    if any(replace(r, text=first.text) != first for r in requests):
        raise ValueError("a batch's requests must differ only in their text")
    options = first._write_options(writer)
    writer = first.writer_for(writer)
    for n, r in enumerate(requests, 1):
        try:
            writer.prepare(r.text)
        except ValueError as e:
            raise ValueError(f"line {n}: {e}") from None

    def chunks():
        for start in range(0, len(requests), batch_size):
            chunk = requests[start:start + batch_size]
            seed = None if first.seed is None else first.seed + start
            docs = writer.write_many([r.text for r in chunk], **{**options, "seed": seed})
            yield list(zip(chunk, docs))
    return chunks()


def _one_or_several(value):
    """A list of one is that one; an empty list is None; several stay a tuple."""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return None
        return value[0] if len(value) == 1 else tuple(value)
    return value


def _check_type(name: str, value) -> None:
    """ValueError when a from_dict value has a type the setting cannot take."""
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = {
        "text": isinstance(value, str),
        "bias": number, "line_spacing": number, "page_margin": number,
        "seed": value is None or integer,
        "width": value is None or integer,
        "size": value is None or number,
        "paper": isinstance(value, str),
        "page_number": value is None or integer,
        "align": isinstance(value, str),
        "style": value is None or integer or isinstance(value, (str, Style)),
        "style_file": value is None or isinstance(value, (str, Path)) or (
            isinstance(value, (list, tuple)) and all(isinstance(v, (str, Path)) for v in value)),
        "style_text": value is None or isinstance(value, str) or (
            isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)),
        "page": value is None or isinstance(value, str),
        "options": value is None or isinstance(value, (dict, WriterOptions)),
    }[name]
    if not ok:
        expected = {"text": "a string", "bias": "a number", "line_spacing": "a number",
                    "page_margin": "a number", "seed": "a non-negative integer or null",
                    "width": "an integer", "align": "left, center or right", "style": STYLE_HELP,
                    "style_file": "a file path or a list of them", "style_text": "a string or a list of them", "page": "a page name or WxH in mm",
                    "size": "a number (mm)", "paper": "plain, lined or grid",
                    "page_number": "a page's number", "options": "an object of writer options"}[name]
        raise SettingError(f"`{name}` must be {expected}, got {value!r}")
