"""Request bodies into library objects (`WriteRequest`, `Style`, `Handwriting`), library
errors into HTTP answers (`Refused`), and results into JSON.  Strokes travel as the lines
of the strokes JSON (`handwrite.strokes_json`), rounded to a hundredth of a page unit."""
from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
from functools import lru_cache

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse

from .. import strokes_json
from ..alphabet import UnsupportedCharacterError
from ..choices import DEFAULT_STYLE
from ..handwriting import Handwriting, WrittenLine
from ..outputs import FORMATS, SAVE_FORMATS, options_for
from ..preprocess import points_to_strokes
from ..render import RenderOptions, to_svg
from ..request import WriteRequest
from ..styles import Style, presets
from ..writer import WritingDone

MAX_TEXT = 2000              # characters of text per request (413 beyond)
MAX_BODY = 2_000_000         # bytes of a request body (413 beyond)
MAX_PRIMER_LINES = 8         # lines of a recorded primer
MAX_PRIMER_POINTS = 5000     # points of one recorded primer line, as recorded (413 beyond)
MAX_RENDER_POINTS = 200_000  # points sent back for a download (413 beyond)
STREAM_EVERY = 4             # sampling steps per streamed event
DECIMALS = 2                 # of the points sent to the browser
WRITE_FIELDS = ("text", "bias", "style", "seed", "width", "align", "line_spacing", "primer", "hand", "options")
MAX_HAND_BASE64 = 2_800_000  # a hand file is at most 2 MB (handfile.MAX_BYTES), 4/3 of it in base64
RENDER_OPTIONS = ("color", "stroke_width", "background", "dpi", "page", "page_margin", "margin")


class Refused(Exception):
    """An answer other than 200: status, message, and more fields for the JSON body."""

    def __init__(self, status: int, message: str, headers: dict | None = None, **fields):
        super().__init__(message)
        self.status, self.message, self.headers, self.fields = status, message, headers or {}, fields

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message, **self.fields}, self.status, headers=self.headers)


def bad_input(error: Exception) -> Refused:
    """A library error about the input -> 422, naming unsupported characters and their positions."""
    if isinstance(error, UnsupportedCharacterError):
        chars = [{"char": error.text[i], "position": i} for i in error.positions]
        return Refused(422, str(error), unsupported=chars)
    return Refused(422, str(error))


async def read_json(request: Request) -> dict:
    """The body as a JSON object: 413 when too large, 400 when it does not parse."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise Refused(413, f"the request body is larger than {MAX_BODY} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, f"the request body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused(400, f"the body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise Refused(400, f"the body must be a JSON object, not {type(data).__name__}")
    return data


def parse_primer(primer) -> Style:
    """{"lines": [{"text", "points": [[x, y, end_of_stroke], ...]}, ...]} -> a Style (422/413)."""
    if not isinstance(primer, dict) or not isinstance(primer.get("lines"), list):
        raise Refused(422, 'primer must be {"lines": [{"text": ..., "points": [[x, y, end_of_stroke], ...]}, ...]}')
    lines = primer["lines"]
    if not 1 <= len(lines) <= MAX_PRIMER_LINES:
        raise Refused(422 if not lines else 413, f"primer needs 1 to {MAX_PRIMER_LINES} lines, got {len(lines)}")
    parsed = []
    for n, line in enumerate(lines, 1):
        # counted before the numbers are read: a huge line is refused as such (413)
        if isinstance(line, dict) and isinstance(line.get("points"), list) and len(line["points"]) > MAX_PRIMER_POINTS:
            raise Refused(413, f"primer line {n} has {len(line['points'])} points, at most {MAX_PRIMER_POINTS}")
        text, points = _read_line(line, f"primer line {n}")
        parsed.append((points_to_strokes(points), text))
    try:
        return Style.from_lines(parsed, name="primer")
    except (ValueError, TypeError) as e:
        raise Refused(422, str(e)) from None


def parse_hand(value):
    """A write body's "hand" (a hand file in base64) -> its Style, or 422."""
    if not isinstance(value, str) or len(value) > MAX_HAND_BASE64:
        raise Refused(422, "hand must be a hand file in base64 (from /api/learn/stream), at most 2 MB")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise Refused(422, f"hand is not base64: {e}") from None
    try:
        return Style.from_hand(raw, where="hand")
    except ValueError as e:
        raise Refused(422, str(e)) from None


def _read_line(line, what: str) -> tuple[str, np.ndarray]:
    """A line of the strokes JSON ({"text", "points"}) -> (text, (n, 3) float32), or 422."""
    try:
        return strokes_json.read_line(line, what)
    except ValueError as e:
        raise Refused(422, str(e)) from None


def read_body(data: dict, reader) -> dict:
    """{"points": [[x, y, end_of_stroke], ...], "text"?: what the writer says it is} ->
    {"text": the reader's reading, "agrees": whether the given text fits it (null without one)}."""
    unknown = sorted(set(data) - {"points", "text"})
    if unknown:
        raise Refused(422, f"unknown field(s) {', '.join(map(repr, unknown))}; known: 'points', 'text'")
    if isinstance(data.get("points"), list) and len(data["points"]) > MAX_PRIMER_POINTS:
        raise Refused(413, f"the line has {len(data['points'])} points, at most {MAX_PRIMER_POINTS}")
    typed = data.get("text")
    if typed is not None and not isinstance(typed, str):
        raise Refused(422, "text must be a string")
    try:
        reading = reader.read(strokes_json.read_points(data.get("points"), "the line"))
    except ValueError as e:
        raise Refused(422, str(e)) from None
    from ..words import text_agrees
    return {"text": reading, "agrees": None if typed is None else text_agrees(reading, typed)}


class Prepared:
    """A checked write request: the WriteRequest, the resolved style, the settings to report."""

    def __init__(self, request: WriteRequest, style, settings: dict):
        self.request, self.style, self.settings = request, style, settings


def prepare(data: dict, writer) -> Prepared:
    """Check a write body against the API's limits and the library: a `Prepared`, or Refused."""
    unknown = sorted(set(data) - set(WRITE_FIELDS))
    if unknown:
        raise Refused(422, f"unknown setting(s) {', '.join(map(repr, unknown))}; known: {', '.join(WRITE_FIELDS)}")
    text = data.get("text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise Refused(413, f"the text has {len(text)} characters; at most {MAX_TEXT} can be written at once")
    fields = {k: v for k, v in data.items() if k not in ("primer", "hand") and v is not None}
    fields.setdefault("text", text)
    if sum(data.get(k) is not None for k in ("style", "primer", "hand")) > 1:
        raise Refused(422, "give one of a style, a primer or a hand")
    if data.get("primer") is not None:
        fields["style"] = parse_primer(data["primer"])
    if data.get("hand") is not None:
        fields["style"] = parse_hand(data["hand"])
    fields.setdefault("seed", secrets.randbelow(2**31))     # reported, so the result can be written again
    try:
        request = WriteRequest.from_dict(fields)
        writer.prepare(request.text)
        style = request.resolved_style(writer)
        if isinstance(style, Style):
            style.primers(writer.alphabet, writer.normalizer)    # every line of it, before writing
    except (ValueError, TypeError) as e:
        raise bad_input(e) from None
    style_name = next((k for k in ("primer", "hand") if data.get(k) is not None), request.style)
    settings = {"bias": request.bias, "seed": request.seed, "width": request.width, "align": request.align,
                "line_spacing": request.line_spacing, "style": style_name}
    return Prepared(request, style, settings)


def result(hw: Handwriting, settings: dict) -> dict:
    """The JSON answer of a finished writing: its lines as the strokes JSON has them."""
    return {"text": hw.text, "svg": hw.to_svg(), "points": strokes_json.point_rows(hw.points, DECIMALS),
            "lines": strokes_json.line_rows([(ln.text, ln.points) for ln in hw.lines], DECIMALS),
            "settings": settings,
            "info": {"retried_lines": hw.info.get("retried_lines", 0), "failed_lines": hw.info.get("failed_lines", 0),
                     "misread_words": list(hw.info.get("misread_words", []))}}


def writing_events(writer, prepared: Prepared):
    """JSON-able events of one writing: {"event": "points", ...} while writing, then {"event": "done", ...}."""
    for event in prepared.request.stream(writer, prepared.style, every=STREAM_EVERY):
        if isinstance(event, WritingDone):
            yield {"event": "done", **result(event.handwriting, prepared.settings)}
        else:
            yield {"event": "points", "line": event.line, "restart": event.restart,
                   "points": strokes_json.point_rows(event.points, DECIMALS)}


def render_download(data: dict, fmt_name: str) -> tuple[bytes, str]:
    """Bytes of a download: the strokes sent back ({"text", "lines": [...]}, drawing options)."""
    if fmt_name not in SAVE_FORMATS:
        raise Refused(404, f"unknown format {fmt_name!r}; use one of {', '.join(SAVE_FORMATS)}")
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Refused(422, 'send the result\'s "lines": [{"text": ..., "points": [[x, y, end_of_stroke], ...]}, ...]')
    written, total = [], 0
    for n, line in enumerate(lines, 1):
        if isinstance(line, dict) and isinstance(line.get("points"), list):
            total += len(line["points"])
            if total > MAX_RENDER_POINTS:
                raise Refused(413, f"more than {MAX_RENDER_POINTS} points to draw")
        written.append(WrittenLine(*_read_line(line, f"line {n}")))
    unknown = sorted(set(data) - {"text", "lines", *RENDER_OPTIONS})
    if unknown:
        raise Refused(422, f"unknown option(s) {', '.join(map(repr, unknown))}; known: {', '.join(RENDER_OPTIONS)}")
    options = {k: data[k] for k in RENDER_OPTIONS if k in data}
    for k in ("stroke_width", "dpi", "page_margin", "margin"):
        if k in options and not (isinstance(options[k], (int, float)) and not isinstance(options[k], bool)
                                 and math.isfinite(options[k]) and 0 <= options[k] <= 1200):
            raise Refused(422, f"{k} must be a number from 0 to 1200, got {options[k]!r}")
    for k in ("color", "background", "page"):
        if k in options and not (isinstance(options[k], str) and len(options[k]) <= 40):
            raise Refused(422, f"{k} must be a short string, got {options[k]!r}")
    fmt = FORMATS[fmt_name]
    text = data.get("text") if isinstance(data.get("text"), str) else "\n".join(ln.text for ln in written)
    try:
        kept = options_for(fmt, f"handwriting{fmt.extensions[0]}", options)
        return fmt.render(Handwriting(text, written), **kept), fmt.extensions[0]
    except ValueError as e:
        raise Refused(422, str(e)) from None


@lru_cache(maxsize=1)
def preset_list() -> list[dict]:
    """The presets with a preview: their own primer strokes, drawn about 40 px tall."""
    out = []
    for i, style in enumerate(presets()):
        strokes = style.strokes
        pts = np.concatenate(strokes)
        lo, hi = np.percentile(pts[:, 1], [5, 95])
        scale = 20.0 / max(float(hi - lo), 1e-6)
        svg = to_svg([(s - pts.min(0)) * scale for s in strokes], RenderOptions(stroke_width=1.5, margin=8.0,
                                                                              background=None))
        out.append({"index": i, "name": style.name, "text": style.text, "svg": svg, "default": i == DEFAULT_STYLE})
    return out
