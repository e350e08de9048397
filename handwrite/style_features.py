"""Scale-free measurements of how a line of handwriting looks: its "hand".

Every feature is relative to the line's own body height (the height of its small
letters, measured robustly from where the ink lies), so the same hand at any size, on
any device, gives the same numbers.  Strokes are first resampled at an even spacing
along their length and lightly smoothed, so point density and pen jitter do not move
the figures.

    slant            degrees the down-strokes lean from vertical; > 0 leans right
    width_per_char   line width / body height / characters (spaces included)
    ink_per_char     pen travel while touching the paper / body height / characters
    lifts_per_char   pen-down strokes / non-space characters: ~1.2 print, <= 0.7 joined-up
    turning          radians of turning per body height of ink: loops and curls vs straight lines
    height_ratio     total height (1st-99th percentile) / body height: ascenders and descenders

Used by `handwrite eval --styles` (how far the presets spread, how well priming imitates
a writer) and by tools/make_presets.py (choosing preset hands).
"""
from __future__ import annotations

import math

import numpy as np

from .preprocess import align_baseline, points_to_strokes, resample_strokes

FEATURES = ("slant", "width_per_char", "ink_per_char", "lifts_per_char", "turning", "height_ratio")
RESAMPLE_STEP = 0.05        # body heights between resampled points
SMOOTH_POINTS = 5           # moving-average window (resampled points) against pen jitter
# a segment counts as part of a down-stroke when it goes down within this angle of vertical
DOWNSTROKE_MAX_ANGLE = np.radians(50)


def body_height(points: np.ndarray) -> float:
    """The height of the small letters: the spread of where the ink lies vertically.

    The 20th-80th percentile range of y over evenly spaced ink covers the x-height band
    in which most ink lies; ascenders and descenders hold too little of it to move it.
    This is the library's body height of one line's ink (letters.py and the writer's
    line sizes use it too).  Two other heights are kept apart on purpose, each tied to a
    constant measured with it: `layout.body_height` (above the baseline, 90% of points:
    what a page's `size` in mm means, NATURAL_BODY) and the 5th-95th percentile extent
    that scales primers to the training data (`styles.TARGET_BODY_HEIGHT`).
    """
    lo, hi = np.percentile(points[:, 1], [20, 80])
    return float(hi - lo)


def body_height_or_span(points: np.ndarray) -> float:
    """`body_height`, or for ink without a body band (a dash, dots on one level) its
    vertical span, or 1: a unit to measure by that is never 0."""
    return body_height(points) or float(np.ptp(points[:, 1])) or 1.0


def thin(stroke: np.ndarray, min_step: float) -> np.ndarray:
    """Keep a point only once the pen has moved `min_step` from the last one kept (and the
    last point): dense samples wobbling around the path (sensor jitter) add no length."""
    if len(stroke) < 3:
        return stroke
    # one point after another, in Python floats: NumPy's per-element overhead is most of
    # a stroke's time here, and each point depends on the last one kept
    xy = stroke[:, :2].tolist()
    keep, (lx, ly) = [0], xy[0]
    for i in range(1, len(xy) - 1):
        x, y = xy[i]
        if math.hypot(x - lx, y - ly) >= min_step:
            keep.append(i)
            lx, ly = x, y
    keep.append(len(stroke) - 1)
    return stroke[keep]


def _thin_all(strokes: list[np.ndarray], min_step: float) -> list[np.ndarray]:
    """`thin` on each stroke with a step shorter than `min_step`; the others (the model's
    own strokes, mostly) are sparse already and kept as they are."""
    moves = np.hypot(*np.diff(np.concatenate(strokes), axis=0).T)
    ends = np.cumsum([len(s) for s in strokes])
    out = []
    for s, end in zip(strokes, ends):
        dense = len(s) >= 3 and moves[end - len(s):end - 1].min() < min_step
        out.append(thin(s, min_step) if dense else s)
    return out


def resample(strokes: list[np.ndarray], step: float) -> list[np.ndarray]:
    """Each stroke's points every `step` along its length (its ends kept; a stroke without
    length: its first point)."""
    points, counts = resample_strokes(strokes, lambda total: np.where(
        total > 0, np.maximum(2, np.ceil(total / step).astype(np.int64) + 1), 1))
    return np.split(points, np.cumsum(counts)[:-1])


def smooth_strokes(points: np.ndarray, counts: np.ndarray, window: int = SMOOTH_POINTS) -> np.ndarray:
    """A moving average along each stroke of `points` (strokes of `counts` points one after
    the other), all strokes at once: each point the mean of the `window` points around it
    in its stroke, the stroke's ends standing in for points beyond them.  Strokes of
    `window` points or fewer are kept as they are."""
    counts = np.asarray(counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    lasts = starts + np.repeat(counts, counts) - 1
    at = np.arange(len(points))
    total = np.zeros_like(points)
    for shift in range(-(window // 2), window - window // 2):
        total += points[np.clip(at + shift, starts, lasts)]
    return np.where((np.repeat(counts, counts) > window)[:, None], total / window, points)


def even_strokes(strokes: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """Level, resample evenly by arc length and smooth: (strokes, body height)."""
    strokes = [np.asarray(s, np.float64)[:, :2] for s in strokes if len(s)]
    if not strokes:
        raise ValueError("no pen strokes to measure")
    strokes = [s.astype(np.float64) for s in align_baseline(strokes)]
    # a first body height from the raw points sets the spacing; the final one from even ink
    rough = body_height_or_span(np.concatenate(strokes))
    step = RESAMPLE_STEP * rough
    even = resample(_thin_all(strokes, step), step)
    counts = [len(s) for s in even]
    points = smooth_strokes(np.concatenate(even), counts)
    even = np.split(points, np.cumsum(counts)[:-1])
    body = body_height(points)
    if body <= 0:
        raise ValueError("the strokes have no height: is this handwriting?")
    return even, body


def slant_degrees(strokes: list[np.ndarray]) -> float:
    """Length-weighted median lean of the down-going segments, degrees from vertical."""
    d = _segments(strokes)
    down = d[:, 1] > 0                                  # y grows downwards
    lean = np.arctan2(-d[:, 0], d[:, 1])                 # right-leaning down-strokes go left
    keep = down & (np.abs(lean) < DOWNSTROKE_MAX_ANGLE)
    a, w = lean[keep], np.hypot(*d[keep].T)
    if w.sum() <= 0:
        return 0.0
    order = np.argsort(a)
    cum = np.cumsum(w[order])
    return float(np.degrees(a[order][np.searchsorted(cum, cum[-1] / 2)]))


def _segments(strokes: list[np.ndarray]) -> np.ndarray:
    """(n, 2) every stroke's moves from point to point, stroke after stroke (none between
    strokes)."""
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        return np.zeros((0, 2))
    points = np.concatenate(strokes)
    within = np.ones(len(points) - 1, bool)
    within[np.cumsum([len(s) for s in strokes])[:-1] - 1] = False
    return np.diff(points[:, :2], axis=0)[within]


def turning_per_height(strokes: list[np.ndarray], body: float) -> float:
    """Total absolute change of direction (radians) per body height of ink."""
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        return 0.0
    d = _segments(strokes)
    stroke = np.repeat(np.arange(len(strokes)), [len(s) - 1 for s in strokes])   # each segment's stroke
    length = np.hypot(*d.T)
    total_len = float(length.sum())
    moving = length > 0
    d, stroke = d[moving], stroke[moving]
    heading = np.arctan2(d[:, 1], d[:, 0])
    turn = np.angle(np.exp(1j * np.diff(heading)))        # wrapped to (-pi, pi]
    total_turn = float(np.abs(turn[stroke[1:] == stroke[:-1]]).sum())   # within a stroke only
    return total_turn / (total_len / body) if total_len > 0 else 0.0


def style_features(strokes: list[np.ndarray], text: str) -> dict[str, float]:
    """The features of FEATURES for one line: strokes (absolute x, y, y down) and its text."""
    chars = len(" ".join(text.split()))
    letters = sum(1 for c in text if not c.isspace())
    if chars == 0 or letters == 0:
        raise ValueError("the line's text is empty: features are per character")
    even, body = even_strokes(strokes)
    pts = np.concatenate(even)
    ink = sum(float(np.hypot(*np.diff(s, axis=0).T).sum()) for s in even)
    lo, hi = np.percentile(pts[:, 1], [1, 99])
    return {
        "slant": slant_degrees(even),
        "width_per_char": float(np.ptp(pts[:, 0])) / body / chars,
        "ink_per_char": ink / body / chars,
        "lifts_per_char": len(even) / letters,
        "turning": turning_per_height(even, body),
        "height_ratio": float(hi - lo) / body,
    }


def feature_matrix(rows: list[dict]) -> np.ndarray:
    """(n, len(FEATURES)) array of feature dicts, in FEATURES order."""
    return np.array([[r[k] for k in FEATURES] for r in rows], dtype=np.float64).reshape(-1, len(FEATURES))


def rank_of(candidate: np.ndarray, profiles: np.ndarray, scale: np.ndarray, true_index: int) -> int:
    """1-based rank of profiles[true_index] among all profiles by distance to `candidate`.

    Distances are Euclidean in features divided by `scale` (each feature's spread across
    writers), so no feature dominates by its units.
    """
    dist = np.sqrt((((profiles - candidate) / scale) ** 2).sum(axis=1))
    return int((dist < dist[true_index]).sum()) + 1


def mean_features(rows: list[dict]) -> dict[str, float]:
    """Feature by feature mean of several lines' features."""
    if not rows:
        raise ValueError("no lines to average")
    return {k: float(np.mean([r[k] for r in rows])) for k in FEATURES}


# How far `match_hand` reshapes a line: the network copies a primer's hand only partly
# (measured on validation writers at bias 0.75: the written slant leans ~3 degrees further
# right than the primer's, letters come out ~13% wider), and a reshape beyond these
# bounds would mean the measurement failed, not that the hand differs.
MATCH_MAX_SHEAR_DEG = 25.0
MATCH_WIDTH_RANGE = (0.6, 1.6)
MATCH_MIN_LETTERS = 4         # fewer letters say too little about width to stretch a line


def match_hand(points: np.ndarray, text: str, target: dict) -> np.ndarray:
    """One written line (n, 3) points (y down) sheared and stretched to the target's slant
    and width per character: the shape of the writer's hand kept where the network
    drifts back to its own.  A target "size" (default 1) scales the whole line: a hand
    written smaller or larger than the model's own."""
    out = np.array(points, dtype=np.float32, copy=True)
    # a shear also moves the line's ends, so a second, small step takes up what the first missed
    for max_lean, widths in ((MATCH_MAX_SHEAR_DEG, MATCH_WIDTH_RANGE), (3.0, (0.95, 1.05))):
        out = _reshape_towards(out, text, target, max_lean, widths)
    out[:, :2] *= float(target.get("size", 1.0))
    return out


def _reshape_towards(points: np.ndarray, text: str, target: dict, max_lean: float, widths) -> np.ndarray:
    try:
        own_slant, own_width = _slant_and_width(points, text)
    except ValueError:
        return points                       # nothing measurable: leave the line as written
    stretch = 1.0
    if sum(1 for c in text if not c.isspace()) >= MATCH_MIN_LETTERS and own_width > 0:
        stretch = float(np.clip(target["width_per_char"] / own_width, *widths))
    # x' = x * stretch + shear * height: a stroke leaning by angle a ends up at
    # atan(stretch * tan(a) + shear), so the shear is what stretching alone does not do
    lean = np.clip(target["slant"] - own_slant, -max_lean, max_lean)
    shear = np.tan(np.radians(own_slant + lean)) - stretch * np.tan(np.radians(own_slant))
    out = points.copy()
    x0, middle = float(out[:, 0].min()), float(np.median(out[:, 1]))
    out[:, 0] = x0 + (out[:, 0] - x0) * stretch + shear * (middle - out[:, 1])
    return out


def _slant_and_width(points: np.ndarray, text: str) -> tuple[float, float]:
    """`style_features`' slant and width_per_char of one line, alone (the word check
    reshapes every line it reads, so match_hand measures no more than it uses)."""
    chars = len(" ".join(text.split()))
    if chars == 0 or all(c.isspace() for c in text):
        raise ValueError("the line's text is empty: features are per character")
    even, body = even_strokes(points_to_strokes(points))
    return slant_degrees(even), float(np.ptp(np.concatenate(even)[:, 0])) / body / chars
