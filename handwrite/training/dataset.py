"""The preprocessed training set: cached offset sequences, a writer-disjoint split,
and length-bucketed batches."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..alphabet import Alphabet
from ..fileio import atomic_write_bytes
from ..preprocess import Normalizer, strokes_to_offsets
from .iam import read_iam

CACHE_VERSION = 1
VAL_FRACTION = 0.08           # lines held out for validation ...
SPLIT_SEED = 1234             # ... chosen by writer with this seed: training, evaluation and split.json share it


def default_cache_dir() -> Path:
    base = os.environ.get("HANDWRITE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "handwrite")
    return Path(base)


@dataclass
class LineSet:
    """Variable-length lines stored as one concatenated array."""
    offsets: np.ndarray     # (sum T_i, 3) float32 raw (dx, dy, eos), not yet normalised
    starts: np.ndarray      # (n,) int64 index of each line's first row
    lengths: np.ndarray     # (n,) int64 rows per line
    texts: list
    writers: list
    line_ids: list

    def __len__(self) -> int:
        return len(self.texts)

    def line(self, i: int) -> np.ndarray:
        return self.offsets[self.starts[i]:self.starts[i] + self.lengths[i]]

    def subset(self, idx) -> "LineSet":
        idx = np.asarray(idx, dtype=np.int64)
        parts = [self.line(i) for i in idx]
        lengths = self.lengths[idx]
        return LineSet(
            np.concatenate(parts) if parts else np.zeros((0, 3), np.float32),
            np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64) if len(idx) else np.zeros(0, np.int64),
            lengths.copy(), [self.texts[i] for i in idx], [self.writers[i] for i in idx],
            [self.line_ids[i] for i in idx])


def _fingerprint(root: Path, settings: dict) -> str:
    h = hashlib.sha256(json.dumps({"v": CACHE_VERSION, **settings}, sort_keys=True).encode())
    for sub in ("lineStrokes", "ascii", "original", "writers.tsv"):
        p = root / sub
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else []
        for f in files:
            st = f.stat()
            h.update(f"{f.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def load_lines(root, *, downsample: int = 2, align: bool = True, cache_dir=None,
               progress: bool = True) -> LineSet:
    """Read and preprocess an IAM-OnDB folder, using a cache keyed on the files and settings."""
    root = Path(root)
    settings = {"downsample": downsample, "align": align}
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "data"
    key = _fingerprint(root, settings) if root.is_dir() else None
    cache_file = cache_dir / f"iam-{key}.npz"
    if key and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                return LineSet(z["offsets"], z["starts"], z["lengths"], meta["texts"],
                               meta["writers"], meta["line_ids"])
        except Exception:
            pass  # unreadable or damaged cache (a truncated .npz is a BadZipFile): rebuild it
    lines, _ = read_iam(root, progress=progress)
    seqs = [strokes_to_offsets(ln.strokes, downsample=downsample, align=align) for ln in lines]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    data = LineSet(np.concatenate(seqs), np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64), lengths,
                   [ln.text for ln in lines], [ln.writer_id for ln in lines], [ln.line_id for ln in lines])
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        import io
        buf = io.BytesIO()
        meta = json.dumps({"texts": data.texts, "writers": data.writers, "line_ids": data.line_ids})
        np.savez(buf, offsets=data.offsets, starts=data.starts, lengths=data.lengths, meta=np.array(meta))
        atomic_write_bytes(cache_file, buf.getvalue())
    except OSError:
        pass  # a read-only cache folder only costs time
    return data


def writer_split(writers: list, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray, list]:
    """Writer-disjoint (train_idx, val_idx, val_writers): no writer is in both parts.

    With a single writer no such split exists: every 12th line is held out instead (and
    val_writers is empty), so there is still something to validate on.
    """
    uniq = sorted(set(writers))
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    counts = {w: 0 for w in uniq}
    for w in writers:
        counts[w] += 1
    target = max(1, int(round(val_fraction * len(writers))))
    val_writers, n = [], 0
    for w in uniq:
        if n >= target or len(val_writers) >= len(uniq) - 1:
            break
        val_writers.append(w)
        n += counts[w]
    vw = set(val_writers)
    val = np.array([i for i, w in enumerate(writers) if w in vw], dtype=np.int64)
    train = np.array([i for i, w in enumerate(writers) if w not in vw], dtype=np.int64)
    if len(val) == 0 and len(train) >= 2:
        val, train = train[::12], np.setdiff1d(train, train[::12])
    return train, val, sorted(val_writers)


def bucket_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Batches of lines of similar length, in an order fixed by (seed, epoch).

    Lines are shuffled, sorted by length within windows of 50 batches (so batches vary
    from epoch to epoch but carry little padding), cut into batches, and the batches
    shuffled.  Deterministic, so a resumed run replays the same epoch.
    """
    rng = np.random.default_rng([seed, epoch])
    idx = rng.permutation(len(lengths))
    window = batch_size * 50
    chunks = []
    for a in range(0, len(idx), window):
        part = idx[a:a + window]
        part = part[np.argsort(lengths[part], kind="stable")]
        chunks += [part[b:b + batch_size] for b in range(0, len(part), batch_size)]
    order = rng.permutation(len(chunks))
    return [chunks[i] for i in order]


@dataclass
class Batch:
    inputs: torch.Tensor    # (B, T, 3) normalised offsets, row 0 = start
    targets: torch.Tensor   # (B, T, 3) the next offsets
    mask: torch.Tensor      # (B, T) 1 where a target exists
    chars: torch.Tensor     # (B, U) codes, 0 = padding

    @property
    def points(self) -> int:
        return int(self.mask.sum().item())


def augment(offsets: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """The same line in a slightly different hand: size, width and slant changed at random.

    A linear map of the (dx, dy) offsets (y down): overall scale and horizontal stretch by
    up to +-strength, shear (slant) by up to +-strength.  Pen lifts are kept.
    """
    scale, stretch = 1 + strength * rng.uniform(-1, 1, size=2)
    shear = strength * rng.uniform(-1, 1)
    out = np.array(offsets, dtype=np.float32, copy=True)
    dx, dy = out[:, 0].copy(), out[:, 1].copy()
    out[:, 0] = scale * (stretch * dx - shear * dy)
    out[:, 1] = scale * dy
    return out


def make_batch(data: LineSet, idx, alphabet: Alphabet, normalizer: Normalizer,
               augment_with: tuple[int, float] | None = None) -> Batch:
    """Inputs, targets, mask and characters of lines idx.

    augment_with=(seed, strength) reshapes each line at random (`augment`), drawn from
    (seed, line index) so that a line gets the same shape whichever rank reads it.
    """
    lines = [data.line(i) for i in idx]
    if augment_with is not None:
        seed, strength = augment_with
        lines = [augment(ln, np.random.default_rng([seed, int(i)]), strength) for ln, i in zip(lines, idx)]
    seqs = [normalizer.normalize(ln) for ln in lines]
    codes = [alphabet.encode(data.texts[i]) for i in idx]
    B, T, U = len(seqs), max(len(s) for s in seqs) - 1, max(len(c) for c in codes)
    inputs = np.zeros((B, T, 3), np.float32)
    targets = np.zeros((B, T, 3), np.float32)
    mask = np.zeros((B, T), np.float32)
    chars = np.zeros((B, U), np.int64)
    for b, (s, c) in enumerate(zip(seqs, codes)):
        n = len(s) - 1
        inputs[b, :n] = s[:-1]
        targets[b, :n] = s[1:]
        mask[b, :n] = 1
        chars[b, :len(c)] = c
    return Batch(torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask), torch.from_numpy(chars))
