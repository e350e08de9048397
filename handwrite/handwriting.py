"""The result of writing: pen points in page coordinates, and its renderings."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import render
from .preprocess import points_to_strokes

FORMATS = ("svg", "png", "pdf", "json")


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
               margin=20.0) -> str:
        svg = render.to_svg(self.strokes, render.RenderOptions(color, stroke_width, background, scale, margin))
        if path is not None:
            _write(path, svg.encode("utf-8"))
        return svg

    def to_png(self, path=None, *, dpi=96.0, **options) -> bytes:
        data = render.svg_to_png(self.to_svg(**options), dpi=dpi)
        if path is not None:
            _write(path, data)
        return data

    def to_pdf(self, path=None, **options) -> bytes:
        data = render.svg_to_pdf(self.to_svg(**options))
        if path is not None:
            _write(path, data)
        return data

    def to_json(self, path=None) -> str:
        doc = {"format": "handwrite-strokes", "version": 1, "text": self.text,
               "lines": [{"text": ln.text, "points": np.round(ln.points, 3).tolist()} for ln in self.lines]}
        s = json.dumps(doc)
        if path is not None:
            _write(path, s.encode("utf-8"))
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
        """Write SVG, PNG, PDF or JSON, chosen by the file's extension."""
        path = Path(path)
        ext = path.suffix.lower().lstrip(".")
        if ext not in FORMATS:
            raise ValueError(f"{path}: unknown output format {path.suffix!r}; use one of "
                             + ", ".join("." + f for f in FORMATS))
        if ext == "json":
            self.to_json(path)
        else:
            getattr(self, f"to_{ext}")(path, **options)
        return path


def _write(path, data: bytes) -> None:
    from .dataset import atomic_write_bytes
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
    try:
        atomic_write_bytes(path, data)
    except PermissionError:
        raise PermissionError(f"{path}: cannot write here (permission denied)") from None
