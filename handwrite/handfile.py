"""Hand files (`.hand`): a learned hand in one safetensors file, never pickled.

Tensors: the adapters in fp16 (`adapter/<name>`), and each primer line's points
(`line/<k>`: (n, 3) x, y, pen lifted after the point; float32).  Metadata: the format,
the base model's digest (`Writer.digest`), the style's name, its lines' texts and its
info (JSON).  A learned hand of rank 4 is about 0.1 MB with three lines.
"""
from __future__ import annotations

import json

import numpy as np

FORMAT = "handwrite-hand"
FORMAT_VERSION = "1"
MAX_BYTES = 2_000_000       # a hand file is small; anything larger is not one of ours
MAGIC_LIMIT = 100_000       # the header (JSON) is at most this long


def looks_like_hand(head: bytes) -> bool:
    """Whether a file's first bytes start a safetensors file (a header length, then a JSON
    object); a JSON or XML stroke file's first 8 bytes read as a far larger length."""
    return len(head) >= 9 and 0 < int.from_bytes(head[:8], "little") <= MAGIC_LIMIT and head[8:9] == b"{"


def hand_bytes(style) -> bytes:
    """The hand file of a Style (learned or not)."""
    import torch
    from safetensors.torch import save

    from .preprocess import strokes_to_points
    tensors = {}
    if style.adapters is not None:
        tensors.update({f"adapter/{k}": v.detach().to(torch.float16).contiguous()
                        for k, v in style.adapters.tensors.items()})
    for k, (strokes, _) in enumerate(style.lines):
        tensors[f"line/{k}"] = torch.from_numpy(np.ascontiguousarray(strokes_to_points(strokes), np.float32))
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": style.name,
            "texts": json.dumps([t for _, t in style.lines]), "info": json.dumps(style.info),
            "base_digest": style.base_digest or "", "scale": repr(style.adapters.scale if style.adapters else 1.0)}
    data = save(tensors, metadata=meta)
    if len(data) > MAX_BYTES:
        raise ValueError(f"style {style.name!r}: its hand file would take {len(data)} bytes, more than {MAX_BYTES}")
    return data


def read_hand(path, raw: bytes) -> dict:
    """What a hand file's bytes hold, as `Style.from_lines` and the style's `adapters` and
    `base_digest` take it: {lines, name, info, adapters, base_digest}.  ValueError naming
    the file when it is not a hand file."""
    meta, tensors = _load(path, raw)
    try:
        texts = json.loads(meta["texts"])
        info = json.loads(meta.get("info", "{}"))
        scale = float(meta.get("scale", "1.0"))
        lines = [(_strokes(tensors[f"line/{k}"].numpy()), str(t)) for k, t in enumerate(texts)]
    except (KeyError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: damaged hand file ({type(e).__name__}: {e})") from None
    if not isinstance(info, dict):
        raise ValueError(f"{path}: damaged hand file (its info is not a JSON object)")
    info["source"] = getattr(path, "name", str(path))
    adapters = {k.split("/", 1)[1]: v for k, v in tensors.items() if k.startswith("adapter/")}
    if adapters:
        from .adapters import Adapters
        adapters = Adapters(adapters, scale)
    return {"lines": lines, "name": meta.get("name") or getattr(path, "stem", "hand"), "info": info, "adapters": adapters or None,
            "base_digest": (meta.get("base_digest") or None) if adapters else None}


def _load(path, raw: bytes):
    from safetensors import SafetensorError
    from safetensors.torch import load
    if len(raw) > MAX_BYTES:
        raise ValueError(f"{path}: {len(raw)} bytes is too large for a hand file (at most {MAX_BYTES})")
    try:
        tensors = load(raw)
        n = int.from_bytes(raw[:8], "little")
        meta = json.loads(raw[8:8 + n]).get("__metadata__") or {}
    except (SafetensorError, ValueError, AttributeError) as e:
        raise ValueError(f"{path}: not a readable hand file ({e})") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: a safetensors file, but not a handwrite hand file (format={meta.get('format')!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: hand file version {meta.get('format_version')!r}; this handwrite reads "
                         f"version {FORMAT_VERSION}")
    return meta, tensors


def _strokes(points: np.ndarray) -> list[np.ndarray]:
    from .preprocess import points_to_strokes
    if points.ndim != 2 or points.shape[1] != 3 or not np.isfinite(points).all():
        raise ValueError("a line's points are not finite (n, 3) x, y, pen values")
    return points_to_strokes(points.astype(np.float64))
