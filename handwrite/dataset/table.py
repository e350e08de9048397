"""Rows as a Parquet table (pyarrow), readable by pyarrow alone and by Hugging Face
`datasets.load_dataset("parquet", data_dir=DIR)`, which finds in the schema's metadata
that `image` is an image (a struct of PNG bytes and a path, as `datasets.Image` stores it).
"""
from __future__ import annotations

import io
import json

import numpy as np

from ..style_features import FEATURES

STRINGS = ("id", "level", "text", "hand", "ink")
INTS = ("line", "word", "source_line", "seed", "group", "attempt", "paper")
FLOATS = ("bias", "size", "slant", "pen_width", "rotation", "blur", "noise")
COLUMNS = ("id", "level", "line", "word", "text", "image", "strokes", "hand", "bias", "seed", "size", "slant",
           "pen_width", "ink", "rotation", "blur", "noise", "paper", "style", "source_line", "group", "attempt")


def schema():
    import pyarrow as pa
    types = {**{c: pa.string() for c in STRINGS}, **{c: pa.int64() for c in INTS},
             **{c: pa.float32() for c in FLOATS},
             "image": pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
             "strokes": pa.list_(pa.list_(pa.float32())),
             "style": pa.struct([(f, pa.float32()) for f in FEATURES])}
    return pa.schema([(c, types[c]) for c in COLUMNS], metadata={"huggingface": json.dumps(_hf_features())})


def _hf_features() -> dict:
    """The columns as `datasets.Features.to_dict()` writes them, so that `image` loads as an image."""
    def value(dtype):
        return {"dtype": dtype, "_type": "Value"}
    features = {**{c: value("string") for c in STRINGS}, **{c: value("int64") for c in INTS},
                **{c: value("float32") for c in FLOATS},
                "image": {"_type": "Image"},
                "strokes": {"feature": {"feature": value("float32"), "_type": "List"}, "_type": "List"},
                "style": {f: value("float32") for f in FEATURES}}
    return {"info": {"features": {c: features[c] for c in COLUMNS}}}


def rows_to_parquet(rows: list[dict], image_paths: list[str]) -> bytes:
    """The rows as the bytes of one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    data = {c: [r[c] for r in rows] for c in (*STRINGS, *INTS, *FLOATS)}
    data["image"] = [{"bytes": r["image"], "path": p} for r, p in zip(rows, image_paths)]
    data["style"] = [r["style"] for r in rows]
    columns = {c: pa.array(v, type=schema().field(c).type) for c, v in data.items()}
    columns["strokes"] = _strokes_array([r["strokes"] for r in rows])
    table = pa.table([columns[c] for c in COLUMNS], schema=schema())
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def _strokes_array(arrays: list[np.ndarray]):
    """list<list<float32>> of (n, 3) point arrays, built from flat buffers (no Python lists)."""
    import pyarrow as pa
    flat = np.concatenate([np.asarray(a, np.float32).reshape(-1) for a in arrays]) if arrays else np.zeros(0, np.float32)
    points = np.array([len(a) for a in arrays], np.int64)
    inner = pa.ListArray.from_arrays(pa.array(np.arange(0, 3 * points.sum() + 1, 3, dtype=np.int32)),
                                     pa.array(flat))
    outer = pa.array(np.r_[0, np.cumsum(points)].astype(np.int32))
    return pa.ListArray.from_arrays(outer, inner)


def read_rows(path) -> list[dict]:
    """A shard's rows back as dicts (pyarrow only); strokes as (n, 3) arrays."""
    import pyarrow.parquet as pq
    rows = pq.read_table(path).to_pylist()
    for r in rows:
        r["strokes"] = np.asarray(r["strokes"], np.float32).reshape(-1, 3)
    return rows
