"""The strokes JSON of docs/api.md, read and written in one place.

    {"format": "handwrite-strokes", "version": 1, "text": "Hello",
     "lines": [{"text": "Hello", "points": [[x, y, eos], ...]}]}

`Handwriting.to_json`/`from_json`, `Style.to_json`/`Style.from_file` and the web
server's primers, results and downloads all go through these functions, so the three
cannot drift apart.  A line is `{"text": str, "points": [[x, y, eos], ...]}` with
absolute points (y down) and eos = 1 on the last point of each stroke; a document adds
"format", "version", the whole "text" and, for a style, its name and settings.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

FORMAT, VERSION = "handwrite-strokes", 1
LINE_SHAPE = '{"text": a string, "points": [[x, y, end_of_stroke], ...]}'


@dataclass
class StrokesDocument:
    """A strokes document as read: its lines [(text, (n, 3) float32 points)], the whole
    text (None when the document has none) and its other top-level fields."""
    lines: list[tuple[str, np.ndarray]]
    text: str | None = None
    meta: dict = field(default_factory=dict)


# ---- lines: the unit every user shares ----------------------------------------------------------
def point_rows(points, decimals: int) -> list:
    """(n, 3) points -> [[x, y, eos], ...] rounded to `decimals` places."""
    return np.round(np.asarray(points, np.float64).reshape(-1, 3), decimals).tolist()


def line_rows(lines, decimals: int) -> list[dict]:
    """[(text, points), ...] -> [{"text", "points"}, ...]."""
    return [{"text": text, "points": point_rows(points, decimals)} for text, points in lines]


def read_points(raw, what: str = "line") -> np.ndarray:
    """[[x, y, eos], ...] -> (n, 3) float32 of finite numbers; ValueError naming `what` otherwise."""
    try:
        points = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        points = None
    if points is None or (points.size and (points.ndim != 2 or points.shape[1] != 3)) or not np.all(np.isfinite(points)):
        raise ValueError(f"{what}: points must be a list of [x, y, end_of_stroke] numbers")
    return points.reshape(-1, 3).astype(np.float32)


def read_line(line, what: str = "line") -> tuple[str, np.ndarray]:
    """{"text", "points"} -> (text, (n, 3) float32 points); ValueError naming `what` otherwise."""
    if not isinstance(line, dict) or not isinstance(line.get("text"), str) or not isinstance(line.get("points"), list):
        raise ValueError(f"{what} must be {LINE_SHAPE}")
    return line["text"], read_points(line["points"], what)


# ---- whole documents ------------------------------------------------------------------------------
def to_document(lines, text: str, *, decimals: int = 3, meta: dict | None = None) -> dict:
    """The document of [(text, points), ...]: meta's fields (a style's name and settings)
    come after "format" and "version" and never replace the four the format defines."""
    doc = {"format": FORMAT, "version": VERSION}
    doc.update({k: v for k, v in (meta or {}).items() if k not in ("format", "version", "text", "lines")})
    doc.update({"text": text, "lines": line_rows(lines, decimals)})
    return doc


def dumps(lines, text: str, *, decimals: int = 3, meta: dict | None = None) -> str:
    return json.dumps(to_document(lines, text, decimals=decimals, meta=meta))


def from_document(doc) -> StrokesDocument:
    """A parsed JSON value -> StrokesDocument; ValueError when it is not a strokes document."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("not a handwrite strokes JSON document")
    if not isinstance(doc.get("lines"), list):
        raise ValueError('a handwrite strokes JSON document needs "lines": [{"text", "points"}, ...]')
    lines = [read_line(ln, f"line {n}") for n, ln in enumerate(doc["lines"], 1)]
    text = doc.get("text")
    meta = {k: v for k, v in doc.items() if k not in ("format", "version", "text", "lines")}
    return StrokesDocument(lines, text if isinstance(text, str) else None, meta)


def loads(s: str | bytes) -> StrokesDocument:
    """Read a strokes JSON string; json.JSONDecodeError (a ValueError) when it does not parse."""
    return from_document(json.loads(s))
