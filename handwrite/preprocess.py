"""Pen strokes <-> the offset sequences the network reads and writes.

A line of handwriting becomes an array of shape (T, 3): (dx, dy, eos) per point, where
dx, dy is the move from the previous point (the first row is 0, 0) and eos = 1 on the
last point of each stroke (the pen lifts after it).  y points down, as on a page.
"""
from __future__ import annotations

import numpy as np


def align_baseline(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Rotate a line so that its least-squares fit through all points is horizontal.

    Writers drift up or down across a whiteboard; removing the drift lets the model
    spend its capacity on letter shapes and gives straight lines when sampling.
    """
    pts = np.concatenate(strokes).astype(np.float64)
    x, y = pts[:, 0] - pts[:, 0].mean(), pts[:, 1] - pts[:, 1].mean()
    denom = float((x * x).sum())
    if denom <= 0:
        return strokes
    angle = np.arctan(float((x * y).sum()) / denom)
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.array([[c, -s], [s, c]])
    return [(s_ @ rot.T).astype(np.float32) for s_ in strokes]


def resample_strokes(strokes: list[np.ndarray], counts_for) -> tuple[np.ndarray, np.ndarray]:
    """(points, points per stroke): each (n, 2) stroke's points at even steps along its
    ink, all strokes at once (a line has dozens, and is measured and read many times).
    counts_for(ink lengths) -> points per stroke: 1 keeps its first point, n >= 2 its
    first and last with n - 2 between."""
    counts = np.array([len(s) for s in strokes])
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    lasts = starts + counts - 1
    pts = np.concatenate(strokes).astype(np.float64)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    seg[starts[1:] - 1] = 1.0                 # between strokes: a step no point falls in
    along = np.r_[0.0, np.cumsum(seg)]
    total = along[lasts] - along[starts]
    n = np.asarray(counts_for(total), dtype=np.int64)
    stroke = np.repeat(np.arange(len(strokes)), n)
    k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)            # index within its stroke
    at = k * (total / np.maximum(n - 1, 1))[stroke]
    at = np.where(k == n[stroke] - 1, total[stroke], at) + along[starts][stroke]   # the last on the last point
    return np.stack([np.interp(at, along, pts[:, 0]), np.interp(at, along, pts[:, 1])], axis=1), n


def downsample_stroke(stroke: np.ndarray, factor: int) -> np.ndarray:
    """Keep every `factor`-th point of a stroke, always keeping its first and last point."""
    if factor <= 1 or len(stroke) <= 2:
        return stroke
    idx = np.arange(0, len(stroke), factor)
    if idx[-1] != len(stroke) - 1:
        idx = np.append(idx, len(stroke) - 1)
    return stroke[idx]


def strokes_to_offsets(strokes: list[np.ndarray], downsample: int = 1, align: bool = True) -> np.ndarray:
    """(T, 3) float32 array of (dx, dy, eos) for a list of (n_i, 2) absolute strokes."""
    strokes = [np.asarray(s, dtype=np.float32).reshape(-1, 2) for s in strokes if len(s)]
    if not strokes:
        raise ValueError("no strokes")
    if align:
        strokes = align_baseline(strokes)
    strokes = [downsample_stroke(s, downsample) for s in strokes]
    pts = np.concatenate(strokes)
    eos = np.zeros(len(pts), dtype=np.float32)
    eos[np.cumsum([len(s) for s in strokes]) - 1] = 1.0
    out = np.zeros((len(pts), 3), dtype=np.float32)
    out[1:, :2] = np.diff(pts, axis=0)
    out[:, 2] = eos
    return out


def offsets_to_points(offsets: np.ndarray, start=(0.0, 0.0)) -> np.ndarray:
    """(T, 3) offsets -> (T, 3) absolute x, y, eos."""
    offsets = np.asarray(offsets, dtype=np.float32)
    pts = np.empty_like(offsets)
    pts[:, :2] = np.cumsum(offsets[:, :2], axis=0) + np.asarray(start, dtype=np.float32)
    pts[:, 2] = offsets[:, 2]
    return pts


def strokes_to_points(strokes: list[np.ndarray]) -> np.ndarray:
    """List of (n_i, 2) strokes -> (N, 3) absolute x, y, eos (eos = 1 on each stroke's last point)."""
    points = [np.c_[np.asarray(s, np.float64)[:, :2], np.zeros(len(s))] for s in strokes if len(s)]
    for p in points:
        p[-1, 2] = 1.0
    return np.concatenate(points) if points else np.zeros((0, 3))


def points_to_strokes(points: np.ndarray) -> list[np.ndarray]:
    """(N, 3) absolute x, y, eos -> list of (n_i, 2) strokes split after each eos."""
    points = np.asarray(points)
    if len(points) == 0:
        return []
    ends = np.flatnonzero(points[:, 2] > 0.5) + 1
    bounds = np.r_[0, ends, len(points)]
    return [points[a:b, :2].copy() for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


class Normalizer:
    """Per-axis mean/std of the offsets; stored with the weights."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(2)
        self.std = np.asarray(std, dtype=np.float32).reshape(2)
        if not np.all(self.std > 0):
            raise ValueError("normalizer std must be positive")

    @classmethod
    def fit(cls, offset_arrays) -> "Normalizer":
        # skip each line's first row: it is the fixed (0, 0) start, not a pen move
        d = np.concatenate([o[1:, :2] for o in offset_arrays]).astype(np.float64)
        return cls(d.mean(axis=0), d.std(axis=0))

    def normalize(self, offsets: np.ndarray) -> np.ndarray:
        """Scale a (T, 3) line; its first row stays (0, 0): the network's start input."""
        out = np.array(offsets, dtype=np.float32, copy=True)
        out[:, :2] = (out[:, :2] - self.mean) / self.std
        out[0, :2] = 0.0
        return out

    def denormalize(self, offsets: np.ndarray) -> np.ndarray:
        out = np.array(offsets, dtype=np.float32, copy=True)
        out[..., :2] = out[..., :2] * self.std + self.mean
        return out

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}
