"""Letters the network draws badly, redrawn (a line step).

The bundled model writes a small x wrong more often than any other letter: it draws a
stem and then a bar across it, or a stem beside a short stroke, and the x reads as t,
r, v, + or a gap (docs/reading.md).  People's x is two strokes that cross, one leaning
each way, so an x the network drew otherwise is redrawn as two: the points of its two
strokes moved onto the diagonals of the box they filled, leaning with the line's slant
and bent a little as a pen's strokes are.  The number of points and their attention
rows stay as they were (the steps after this one find the x where the network drew
it); an x already drawn as two crossing diagonals is left as it was.

Its capital E is often an L with a bar across it (a t) and its 5 a stem and a belly
without the flag (a 6, a b): `add_top_arms` gives each the top arm it lacks, from the
same points.  Both steps find their letters' strokes from the attention
(`redraw_letters`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .letters import stroke_owners, strokes_of
from .style_features import body_height_or_span, slant_degrees

CROSS_LETTERS = set("x")      # not a capital X's stand-in (handwrite.capitals): enlarged and widened,
                              # the model's own x reads as an X more often than a cross does
MIN_STEM = 0.6                # body heights: the x's main stroke is at least this tall (not a dot)
REACH = 0.1                   # body heights: the other half reaches at least this near the main stroke's middle
STRAIGHT = 0.75               # an x's strokes run nearly straight: their ends this share of their length apart
MIN_POINTS = 4                # fewer points than two strokes of two: nothing to redraw with
# a stroke of a well-drawn x leans this many degrees from the hand's upright, either way
CROSS_LEAN = (15.0, 75.0)
MIDDLE = (0.2, 0.8)           # ... and crosses the other this far along both (an r's arm crosses at an end)
# the redrawn x's height in body heights of the line: at most the upper bound (an x drawn
# as a tall letter keeps the small letters' height), at least the lower (a squashed one grows)
X_HEIGHT = (0.6, 1.0)
X_WIDTH = (0.6, 1.1)          # its width in its heights: an x stretched into its neighbours keeps its shape
BOW = 0.06                    # each stroke bends this share of its length, as a pen's does


def redraw_letters(points: np.ndarray, phi: np.ndarray | None, text: str, letters, redraw) -> np.ndarray:
    """`points` with `redraw(points, out, line, pos)` applied at each character of `text`
    in `letters` (`line`: `Line`; `out`: the copy it changes).  Lines without any of those
    letters, or without attention that fits, come back as they are."""
    positions = [i for i, c in enumerate(text) if c in letters]
    owned = stroke_owners(points, phi) if positions else None
    if owned is None:
        return points
    spans = owned[0]
    line = Line(*owned, body_height_or_span(points[:, :2]),
                slant_degrees([points[s:e + 1, :2] for s, e in spans if e > s]), text)
    out = np.array(points, copy=True)
    for pos in positions:
        redraw(points, out, line, pos)
    return out


class Line(NamedTuple):
    """What the redrawing steps know of a line: `stroke_owners`, its body height and
    slant, and its text."""
    spans: list
    owners: np.ndarray
    shares: np.ndarray
    body: float
    slant: float
    text: str


def _part(points: np.ndarray, spans: list, k: int) -> np.ndarray:
    """Stroke k of `points` (spans: `letters.stroke_owners`)."""
    return points[spans[k][0]:spans[k][1] + 1]


def _length(xy: np.ndarray) -> float:
    """The length of a polyline's path."""
    return float(np.hypot(*np.diff(xy[:, :2], axis=0).T).sum())


def crossing(a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
    """Where polyline a (m, 2) first crosses polyline b (k, 2): how far along each (0 at
    its first point, 1 at its last, by their length), or None where they do not cross."""
    if len(a) < 2 or len(b) < 2:
        return None
    p, r = a[:-1, None, :], (a[1:] - a[:-1])[:, None, :]            # (m-1, 1, 2)
    q, s = b[None, :-1, :], (b[1:] - b[:-1])[None, :, :]            # (1, k-1, 2)
    cross = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[..., 0] * s[..., 1] - qp[..., 1] * s[..., 0]) / cross
        u = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / cross
    hits = np.argwhere((cross != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1))
    if not len(hits):
        return None
    i, j = hits[0]

    def along(line, seg, frac):
        lengths = np.hypot(*np.diff(line, axis=0).T)
        total = lengths.sum()
        return float((lengths[:seg].sum() + frac * lengths[seg]) / total) if total > 0 else 0.5
    return along(a, i, t[i, j]), along(b, j, u[i, j])


def lean(stroke: np.ndarray, slant: float) -> float:
    """Degrees the line from a stroke's first point to its last leans from the hand's
    upright (the line's `slant` taken out), folded to (-90, 90]: > 0 leans like a
    backslash, < 0 like a slash (y grows downwards)."""
    dx, dy = stroke[-1, :2] - stroke[0, :2]
    a = np.degrees(np.arctan2(dx, dy)) + slant
    return float((a + 90) % 180 - 90)


def looks_crossed(a: np.ndarray, b: np.ndarray, slant: float) -> bool:
    """Two strokes that cross each other near their middles, one leaning each way (an x,
    not a +, a t or an r)."""
    la, lb = lean(a, slant), lean(b, slant)
    leaning = all(CROSS_LEAN[0] <= abs(v) <= CROSS_LEAN[1] for v in (la, lb))
    where = crossing(a[:, :2], b[:, :2]) if leaning and la * lb < 0 else None
    return where is not None and all(MIDDLE[0] <= w <= MIDDLE[1] for w in where)


def straight(stroke: np.ndarray) -> bool:
    """Whether a stroke runs nearly straight (an x's half, a bar), not round (an e, an o,
    letters joined in one stroke): its ends at least STRAIGHT of its length apart."""
    length = _length(stroke)
    return length > 0 and float(np.hypot(*(stroke[-1, :2] - stroke[0, :2]))) >= STRAIGHT * length


def x_strokes(points: np.ndarray, line: Line, pos: int) -> list[int]:
    """The strokes of the x at `pos`, in drawing order: the tallest straight stroke drawn
    mostly on it, and the straight stroke drawn just after it (or before it, when drawn on
    the x too) that reaches across its middle: the x's other half, which the attention,
    running a little ahead of the pen, often counts to the next character.  [] when it
    has no such stroke of its own."""
    spans, body = line.spans, line.body

    def part(k):
        return _part(points, spans, k)
    own = strokes_of(line.owners, line.shares, pos)
    height = {k: float(np.ptp(part(k)[:, 1])) for k in own}
    tall = [k for k in own if height[k] >= MIN_STEM * body and straight(part(k))]
    if not tall:
        return []
    main = max(tall, key=height.get)
    middle = float(np.mean(part(main)[:, 0]))

    def across(k):
        """Stroke k reaches across the main stroke's middle (a neighbour's stem stands beside it)."""
        xy = part(k)
        return (xy[:, 0].min() - REACH * body <= middle <= xy[:, 0].max() + REACH * body and straight(xy)
                and np.hypot(*np.ptp(xy[:, :2], axis=0)) >= 0.3 * body)
    if main + 1 < len(spans) and across(main + 1):
        return [main, main + 1]
    if main - 1 in own and across(main - 1):
        return [main - 1, main]
    return [main]


def redraw_crosses(points: np.ndarray, phi: np.ndarray | None, text: str) -> np.ndarray:
    """`points` with each x of `text` (CROSS_LETTERS; `text` as it will read, one character
    for each of the attention's) that the network did not draw as two crossing diagonals
    redrawn as two, in the box its strokes filled.  Lines without attention (phi) come
    back as they are."""
    return redraw_letters(points, phi, text, CROSS_LETTERS, _cross_at)


def _cross_at(points: np.ndarray, out: np.ndarray, line: Line, pos: int) -> None:
    """The x at `pos` redrawn in `out` unless drawn as two crossing diagonals."""
    mine = x_strokes(points, line, pos)
    halves = [_part(points, line.spans, k) for k in mine]
    if sum(map(len, halves)) < MIN_POINTS or (len(halves) == 2 and looks_crossed(*halves, line.slant)):
        return
    first, last = line.spans[mine[0]][0], line.spans[mine[-1]][1]
    out[first:last + 1] = cross_in_box(points[first:last + 1], line.body, line.slant)


def cross_in_box(part: np.ndarray, body: float, slant: float) -> np.ndarray:
    """(n, 3) the n points of `part` (one x's strokes) as two strokes: from the top left to
    the bottom right of the box they filled, then from the bottom left up to the top right
    (the order the reader, which reads the pen's path, reads best of four: it took a
    second stroke drawn downwards for a y's tail, "box" as "boy")."""
    n, xy = len(part), part[:, :2]
    tilt = np.tan(np.radians(slant))
    bottom = float(np.percentile(xy[:, 1], 95))
    height = float(np.clip(bottom - np.percentile(xy[:, 1], 5), X_HEIGHT[0] * body, X_HEIGHT[1] * body))
    top = bottom - height
    upright = xy[:, 0] - tilt * (bottom - xy[:, 1])          # the box measured with the lean taken out
    centre = (upright.min() + upright.max()) / 2
    half_width = float(np.clip(np.ptp(upright), X_WIDTH[0] * height, X_WIDTH[1] * height)) / 2

    def at(x, y):
        return np.array([x + tilt * (bottom - y), y])
    k = n // 2
    down = _bowed(at(centre - half_width, top), at(centre + half_width, bottom), k, BOW)
    up = _bowed(at(centre - half_width, bottom), at(centre + half_width, top), n - k, BOW)
    out = np.zeros((n, 3))
    out[:, :2] = np.concatenate([down, up])
    out[k - 1, 2] = out[-1, 2] = 1.0
    return out


def _bowed(start: np.ndarray, end: np.ndarray, n: int, bow: float) -> np.ndarray:
    """n points from start to end along a gentle arc, bent `bow` of its length sideways."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    d = end - start
    return start + t * d + (bow * 4 * t * (1 - t)) * np.array([-d[1], d[0]])


# ---- top arms: the capital E, the 5 --------------------------------------------------------
# The network's E is an L (a stem drawn down, then the foot to the right) with a bar across
# its middle, and often no top arm: that is a t, and both OCRs read "Every" as "tvery".
# Its 5 is a stem and a belly whose flag is often missing or a stray mark: a 6, a b, a 3.
ARMED = "E5"
FLAG_AFTER = "5"     # drawn after the stem: the reader, taught by people's 5's, misread a flag drawn first
E_STEM = 0.8                  # body heights: the stem is at least this tall
TOP_BAND = 0.15               # an arm lies in the top this share of the stem's height (a t's bar lower) ...
ARM_REACH = 0.25              # ... and reaches this share of it right of the stem's top
CROSS_LEFT = 0.15             # ... starting no further left of it (a bar across the stem is a t's)
ARM_LENGTH = (0.3, 0.6)       # the added arm's length in stem heights: the foot's, within these


def add_top_arms(points: np.ndarray, phi: np.ndarray | None, text: str) -> np.ndarray:
    """`points` with each E or 5 of `text` (ARMED) that has no top arm given one: its
    stem, drawn from the top, starts with an arm drawn from the right (the points of the
    stem shared with the arm, their number and attention rows kept).  Lines without
    attention come back."""
    return redraw_letters(points, phi, text, ARMED, _arm_at)


def _arm_at(points: np.ndarray, out: np.ndarray, line: Line, pos: int) -> None:
    """The E or 5 at `pos` given its top arm in `out` unless it has one."""
    spans = line.spans
    parts = {k: _part(points, spans, k) for k in strokes_of(line.owners, line.shares, pos)}
    height = {k: float(np.ptp(p[:, 1])) for k, p in parts.items()}
    stems = [k for k in parts if height[k] >= E_STEM * line.body]
    if not stems:
        return
    stem = max(stems, key=height.get)
    nearby = [_part(points, spans, k) for k in range(max(stem - 2, 0), min(stem + 4, len(spans))) if k != stem]
    part = parts[stem]
    if len(part) >= MIN_POINTS and starts_at_top(part) and not has_top_arm(part, nearby, line.slant):
        s, e = spans[stem]
        out[s:e + 1] = with_top_arm(part, after=line.text[pos] in FLAG_AFTER)


def starts_at_top(stem: np.ndarray) -> bool:
    """A stem drawn downwards: its first point in the top third of its height."""
    top, height = stem[:, 1].min(), np.ptp(stem[:, 1])
    return stem[0, 1] - top <= height / 3


def has_top_arm(stem: np.ndarray, others: list[np.ndarray], slant: float = 0.0) -> bool:
    """Whether ink runs right from the stem's top: the stem's own points in its top band
    (measured upright, the hand's `slant` taken out), or a straight, level stroke there
    that starts near it, not across it (the network often draws the E's arms after the
    stem, and the attention counts them to the next letter; a 5's flag too)."""
    top, height = stem[:, 1].min(), np.ptp(stem[:, 1])
    band_bottom = top + TOP_BAND * height
    band = stem[:, 1] <= band_bottom
    upright = stem[band, 0] - np.tan(np.radians(slant)) * (top - stem[band, 1])
    if np.ptp(upright) >= ARM_REACH * height:
        return True
    x0 = stem[np.argmin(stem[:, 1]), 0]
    for xy in others:
        width = np.ptp(xy[:, 0])
        level = width >= ARM_REACH * height and np.ptp(xy[:, 1]) <= 0.5 * width
        if (level and xy[:, 1].mean() <= band_bottom
                and x0 - CROSS_LEFT * height <= xy[:, 0].min() <= x0 + ARM_REACH * height <= xy[:, 0].max()):
            return True
    return False


def with_top_arm(stem: np.ndarray, after: bool = False) -> np.ndarray:
    """(n, 3) the n points of a stem drawn from the top, with an arm at its top: drawn
    first, from the right to the stem's top, in one stroke with the stem (an E's), or
    `after` the stem as a stroke of its own, from the stem's top to the right (a 5's flag,
    drawn as people draw it).  The stem keeps its shape with fewer of its points."""
    n, height = len(stem), float(np.ptp(stem[:, 1]))
    foot = float(stem[:, 0].max() - stem[0, 0])
    length = float(np.clip(foot, ARM_LENGTH[0] * height, ARM_LENGTH[1] * height))
    k = max(2, int(round(n * length / (length + _length(stem)))))
    end = stem[0, :2] + np.array([length, 0.05 * height])
    kept = stem[np.round(np.linspace(0, n - 1, n - k)).astype(int)]
    out = np.zeros((n, 3))
    if after:       # the stem, then the flag
        out[:n - k, :2], out[n - k:, :2] = kept[:, :2], _bowed(stem[0, :2], end, k, BOW)
        out[n - k - 1, 2] = 1.0
    else:           # the arm, sagging a little, into the stem's top, then the stem
        out[:k, :2], out[k:, :2] = _bowed(end, stem[0, :2], k + 1, -BOW)[:-1], kept[:, :2]
    out[-1, 2] = 1.0
    return out
