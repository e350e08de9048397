"""A folder of samples: one file per line of text, and labels.tsv (file<TAB>text).

Made for generating synthetic training data for handwriting recognisers
(`handwrite batch`).
"""
from __future__ import annotations

from pathlib import Path

from .fileio import atomic_write_bytes
from .outputs import SAVE_FORMATS
from .request import WriteRequest, run_batch
from .options import BATCH_LINES

LABELS = "labels.tsv"


def read_lines(text: str) -> list[str]:
    """The non-empty lines of a text file's contents, without their line ends."""
    return [ln.rstrip("\n") for ln in text.splitlines(keepends=True) if ln.strip()]


def file_names(count: int, fmt: str) -> list[str]:
    """0001.png, 0002.png, ...: at least four digits, more when the batch needs them."""
    digits = max(4, len(str(count)))
    return [f"{i:0{digits}d}.{fmt}" for i in range(1, count + 1)]


def write_folder(writer, requests: list[WriteRequest], out_dir, fmt: str = "png", *, options=None,
                 batch_size: int = BATCH_LINES, on_progress=None) -> Path:
    """Write each request to OUT_DIR/NNNN.FMT and the labels to OUT_DIR/labels.tsv.

    options: drawing options for the format (see `outputs.options_for`); on_progress(n)
    is called after each chunk of n lines.  Everything is checked before the folder is
    made.
    """
    if fmt not in SAVE_FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(SAVE_FORMATS)}")
    chunks = run_batch(writer, requests, batch_size)
    return save_chunks(chunks, len(requests), out_dir, fmt, options, on_progress)


def save_chunks(chunks, count: int, out_dir, fmt: str, options=None, on_progress=None) -> Path:
    """The second half of `write_folder`: save the chunks `run_batch` writes, then the labels."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = iter(file_names(count, fmt))
    labels = []
    for chunk in chunks:
        for request, hw in chunk:
            name = next(names)
            hw.save(out_dir / name, **(options or {}))
            labels.append(f"{name}\t{request.text}\n")
        if on_progress is not None:
            on_progress(len(chunk))
    atomic_write_bytes(out_dir / LABELS, "".join(labels).encode("utf-8"))
    return out_dir
