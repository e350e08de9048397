"""Reading stroke files: handwrite strokes JSON, IAM-OnDB line XML and InkML.

`read_stroke_file` tells the formats apart by extension and content and returns the
lines a file holds as (strokes, text or None): strokes are (n, 2) arrays of absolute
x, y points in the file's own units.  `Style.from_file` builds a hand from them.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from . import strokes_json
from .preprocess import points_to_strokes

FORMAT_NAMES = "handwrite JSON (.json), IAM-OnDB stroke XML (.xml) or InkML (.inkml)"


def read_stroke_file(path, line: int | None = None) -> tuple[list, dict]:
    """([(strokes, text or None), ...], metadata) of a stroke file in any supported format.

    line: which line of a multi-line JSON document to keep (default: all written ones).
    metadata: a JSON document's top-level fields beyond the format's own (a style's name
    and settings); empty for XML.  Raises FileNotFoundError or ValueError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such stroke file")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the stroke file ({e.strerror})") from None
    if not raw.strip():
        raise ValueError(f"{path}: the stroke file is empty")
    kind = _sniff_format(path, raw)
    if kind == "json":
        return _read_json(path, raw, line)
    if kind == "iam":
        return [(_read_iam_xml(path, raw), None)], {}
    return _read_inkml(path, raw), {}


def _local(tag) -> str:
    """Tag name without its XML namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _sniff_format(path: Path, raw: bytes) -> str:
    head = raw.lstrip()[:1]
    ext = path.suffix.lower()
    if ext == ".json" or head in (b"{", b"["):
        return "json"
    if head != b"<":
        raise ValueError(f"{path}: unknown style file format; use {FORMAT_NAMES}")
    try:
        root = ET.fromstring(raw)
    except (ET.ParseError, LookupError, UnicodeError) as e:   # LookupError: a bad encoding="..."
        raise ValueError(f"{path}: unreadable XML ({e})") from None
    tag = _local(root.tag)
    if tag == "ink":
        return "inkml"
    if tag in ("WhiteboardCaptureSession", "StrokeSet"):
        return "iam"
    raise ValueError(f"{path}: unknown style file format (XML root <{tag}>); use {FORMAT_NAMES}")


def _read_json(path: Path, raw: bytes, line: int | None):
    """([(strokes, text), ...], metadata) of a handwrite strokes JSON document."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: unreadable JSON ({e})") from None
    try:
        parsed = strokes_json.from_document(doc)
    except ValueError:
        raise ValueError(f"{path}: not a handwrite strokes JSON document "
                         "(expected the format Handwriting.to_json writes)") from None
    written = [(text, points) for text, points in parsed.lines if len(points)]
    if not written:
        raise ValueError(f"{path}: the document has no pen strokes")
    if line is not None and not 0 <= line < len(written):
        raise ValueError(f"{path}: line {line} does not exist; the document has {len(written)} written lines")
    chosen = written if line is None else [written[line]]
    return [(points_to_strokes(points), text or None) for text, points in chosen], parsed.meta


def parse_stroke_xml(path: Path) -> list[np.ndarray]:
    """Strokes of one lineStrokes file as (n, 2) float32 arrays; raises ValueError if unusable."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, LookupError, UnicodeError) as e:   # LookupError: a bad encoding="..."
        raise ValueError(f"malformed XML: {e}") from None
    strokes = []
    for stroke in root.iter("Stroke"):
        pts = []
        for p in stroke.iter("Point"):
            try:
                pts.append((float(p.get("x")), float(p.get("y"))))
            except (TypeError, ValueError):
                raise ValueError("point without numeric x/y") from None
        if pts:
            arr = np.asarray(pts, dtype=np.float64)
            if not np.all(np.isfinite(arr)) or np.abs(arr).max() > 1e7:
                raise ValueError("non-finite or huge coordinates")
            strokes.append(arr.astype(np.float32))
    if not strokes:
        raise ValueError("no points")
    return strokes


def _read_iam_xml(path: Path, raw: bytes):
    try:
        return parse_stroke_xml(path)
    except ValueError as e:
        raise ValueError(f"{path}: unusable IAM-OnDB stroke file ({e})") from None


_INK_VALUE = re.compile(r"""\s*([!'"]?)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[TF*?])""")


def _read_inkml(path: Path, raw: bytes):
    """[(strokes, transcription or None), ...]: the lines of an InkML document.

    <traceGroup>s that each say what they read (an <annotation type="truth"> of their
    own, as `Handwriting.to_inkml` writes) are one line each; otherwise every trace
    is one line, with the document's first transcription.  Channel order comes from
    <traceFormat> (default X, Y); trace values may be explicit, first differences (')
    or second differences (") as the standard allows.
    """
    root = ET.fromstring(raw)
    xml_id = "{http://www.w3.org/XML/1998/namespace}id"
    formats, contexts = {}, {}        # id -> channels: [(name, orientation), ...]
    default_format = None
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "traceFormat":
            channels = [(c.get("name"), c.get("orientation", "+ve")) for c in el.iter() if _local(c.tag) == "channel"]
            if el.get(xml_id) or el.get("id"):
                formats[el.get(xml_id) or el.get("id")] = channels
            if default_format is None and channels:
                default_format = channels
    for el in root.iter():
        if _local(el.tag) == "context" and (el.get(xml_id) or el.get("id")):
            inner = [c for c in el.iter() if _local(c.tag) == "traceFormat"]     # also in an <inkSource>
            channels = formats.get((el.get("traceFormatRef") or "").lstrip("#"))
            if inner:
                channels = [(c.get("name"), c.get("orientation", "+ve")) for c in inner[0].iter() if _local(c.tag) == "channel"]
            if channels:
                contexts[el.get(xml_id) or el.get("id")] = channels
    default_format = default_format or [("X", "+ve"), ("Y", "+ve")]

    def read_traces(parent):
        return [s for s in (read_trace(el) for el in parent.iter() if _local(el.tag) == "trace") if s is not None]

    def read_trace(trace):
        channels = contexts.get((trace.get("contextRef") or "").lstrip("#"), default_format)
        names = [c[0] for c in channels]
        if "X" not in names or "Y" not in names:
            raise ValueError(f"{path}: the InkML trace format has no X and Y channels (channels: {names})")
        ix, iy = names.index("X"), names.index("Y")
        values = _parse_trace(trace.text or "", len(names), path)
        if not len(values):
            return None
        xy = values[:, [ix, iy]]
        if channels[ix][1] == "-ve":
            xy[:, 0] = -xy[:, 0]
        if channels[iy][1] == "-ve":
            xy[:, 1] = -xy[:, 1]
        return xy

    groups = [g for g in root.iter() if _local(g.tag) == "traceGroup" and any(_local(c.tag) == "trace" for c in g)]
    texts = [_transcription(g, own=True) for g in groups]
    if groups and all(texts):
        lines = [(read_traces(g), t) for g, t in zip(groups, texts)]
        lines = [(strokes, t) for strokes, t in lines if strokes]
    else:
        lines = [(read_traces(root), _transcription(root))]
    if not lines or not lines[0][0]:
        raise ValueError(f"{path}: the InkML document has no <trace> points")
    return lines


def _transcription(el, own: bool = False) -> str | None:
    """The first text annotation in an InkML element (own: among its children only)."""
    for a in (el if own else el.iter()):
        if _local(a.tag) == "annotation" and a.get("type") in ("truth", "transcription") and (a.text or "").strip():
            return a.text.strip()
    return None


def _parse_trace(body: str, n_channels: int, path: Path) -> np.ndarray:
    """Decode one <trace>'s points: (n, n_channels) floats."""
    rows = []
    mode = ["!"] * n_channels          # per channel: explicit, first or second difference
    prev = [0.0] * n_channels
    velocity = [0.0] * n_channels
    for chunk in body.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        values, pos = [], 0
        while pos < len(chunk) and len(values) < n_channels:
            m = _INK_VALUE.match(chunk, pos)
            if m is None:
                raise ValueError(f"{path}: cannot read the InkML trace point {chunk[:40]!r}")
            prefix, token = m.groups()
            pos = m.end()
            c = len(values)
            if prefix:
                mode[c] = prefix
            if token in ("T", "F", "?"):
                values.append(np.nan if token == "?" else float(token == "T"))
                continue
            if token == "*":
                value = prev[c] + (velocity[c] if mode[c] != "!" else 0.0)
            else:
                v = float(token)
                if mode[c] == "'":
                    velocity[c] = v
                    value = prev[c] + v
                elif mode[c] == '"':
                    velocity[c] += v
                    value = prev[c] + velocity[c]
                else:
                    velocity[c] = v - prev[c]
                    value = v
            values.append(value)
        if len(values) < 2:
            raise ValueError(f"{path}: InkML trace point {chunk[:40]!r} has fewer than 2 values")
        values += [np.nan] * (n_channels - len(values))
        prev = [v if np.isfinite(v) else p for v, p in zip(values, prev)]
        rows.append(values)
    return np.asarray(rows, dtype=np.float64).reshape(-1, n_channels)
