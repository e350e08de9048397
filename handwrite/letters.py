"""Parts of a written line: which character each pen stroke was drawn for (from the
attention window), and reshapes of those parts that the network gets wrong:

- `enlarge_letters`: strokes of some characters made larger (capital stand-ins, see
  handwrite.capitals);
- `even_word_sizes`: the letters of a line shrinking from its start to its end, taken
  out word by word;
- `drop_marks_after_stop`: made-up strokes after a line's final full stop;
- `drop_marks_between_words`: flicks of the pen left in the gap between two words;
- `open_word_gaps`: words written closer together than the line's usual gap moved apart;
- `join_letters`: a joined-up hand's letters joined within words where the pen lifted
  only briefly (the joined-up presets).

Points are (n, 3) page points of one line: x, y (down), end of stroke.  phi is the
sampler's attention over the line's own characters, (n - 1, chars): point k was drawn
while the window was on phi[k - 1].
"""
from __future__ import annotations

import math

import numpy as np

from .style_features import body_height, body_height_or_span


# A line's shrinking is taken out when its end writes this much smaller than its start
# (a trend fitted over its small letters); less is left as written, like a person's.
DRIFT_THRESHOLD = 0.12
# ... and only this share of it: the fit over letters is noisy (a letter's points come
# from the attention, which runs a little ahead of the pen), and a line corrected too
# far visibly grows, which looks worse than a little shrinking.
DRIFT_CORRECTION = 0.7
WORD_SCALE_RANGE = (0.7, 1.6)     # how far one word may be scaled: beyond, the fit is wrong
# join_letters: a stroke shorter than this (body heights of ink) is a dot, bar or comma,
# written apart in joined-up hands too; the next stroke may start this far left of the
# previous end (the network's letters overlap a little) before it counts as going back.
JOIN_MIN_INK = 0.8
JOIN_BACK = 0.1
SMALL_LETTERS = set("acemnorsuvwxz")   # letters between baseline and x-height: their height is the hand's size
MIN_SMALL_LETTERS = 6             # fewer say too little about a trend


def stroke_spans(points: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) point index of every pen stroke, in drawing order."""
    ends = np.flatnonzero(points[:, 2] > 0.5)
    if not len(ends) or ends[-1] != len(points) - 1:
        ends = np.append(ends, len(points) - 1)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [(int(s), int(e)) for s, e in zip(starts, ends) if e >= s]


def point_chars(phi: np.ndarray) -> np.ndarray:
    """(n,) the character the window weighed most while each of the n points was drawn
    (phi: (n - 1, chars); the first point counts as drawn on phi[0]'s character)."""
    return np.concatenate([phi[:1].argmax(1), phi.argmax(1)])


def stroke_owners(points: np.ndarray, phi: np.ndarray | None):
    """(spans, owners, shares): each stroke's span, the character most of its points were
    drawn on, and the share of its points drawn on it.  None when phi does not fit."""
    if phi is None or len(points) < 2 or len(phi) != len(points) - 1 or phi.ndim != 2 or not phi.shape[1]:
        return None
    on = point_chars(phi)
    spans, owners, shares = stroke_spans(points), [], []
    for s, e in spans:
        counts = np.bincount(on[s:e + 1], minlength=phi.shape[1])
        owners.append(int(counts.argmax()))
        shares.append(float(counts.max() / (e - s + 1)))
    return spans, np.array(owners), np.array(shares)


def strokes_of(owners: np.ndarray, shares: np.ndarray, pos: int) -> list[int]:
    """The strokes (indices into `stroke_owners`' spans) drawn mostly on character `pos`."""
    return [k for k, (o, sh) in enumerate(zip(owners, shares)) if o == pos and sh > 0.5]


def _scale_part(points: np.ndarray, mine: np.ndarray, scale: float, anchor_y: float, widen: float = 1.0) -> np.ndarray:
    """`points`, changed in place: those in `mine` scaled about (their left edge, anchor_y),
    `scale` times in height and `scale * widen` times in width, every point drawn after
    them moved right by the width they gained."""
    out = points
    xy = out[mine, :2]
    left = xy[:, 0].min()
    width = xy[:, 0].max() - left
    out[mine, 0] = left + (xy[:, 0] - left) * scale * widen
    out[mine, 1] = anchor_y + (xy[:, 1] - anchor_y) * scale
    after = np.arange(len(out)) > np.flatnonzero(mine)[-1]
    out[after, 0] += width * (scale * widen - 1)
    return out


def enlarge_letters(points: np.ndarray, phi: np.ndarray | None, positions: list[int], scale: float,
                    widen: float = 1.0) -> np.ndarray:
    """The strokes drawn for the characters at `positions` made `scale` times taller and
    `scale * widen` times wider, standing on the same bottom line, and everything after
    each moved right by the width it gained.  A stroke belongs to a character when most of
    its points were drawn on it, so a letter joined to its neighbours in one stroke is left
    as it is."""
    owned = stroke_owners(points, phi) if positions else None
    if owned is None:
        return points
    spans, owners, shares = owned
    out = np.array(points, copy=True)
    for pos in sorted(positions, reverse=True):                    # from the right: earlier shifts stay valid
        mine = np.zeros(len(out), bool)
        for k in strokes_of(owners, shares, pos):
            s, e = spans[k]
            mine[s:e + 1] = True
        if mine.any():
            out = _scale_part(out, mine, scale, float(out[mine, 1].max()), widen)
    return out


WITHIN_NEXT = 0.1     # share of the next word's width a stem drawn on the space may stand left of it
STEM_HEIGHT = 1.0     # body heights: a stroke this tall drawn on a space may be the next word's stem


def word_parts(points: np.ndarray, phi: np.ndarray | None, text: str) -> list[np.ndarray]:
    """A boolean mask over the points for each word of `text` that drew any strokes, left
    to right.  A stroke drawn while the window sat on a space belongs to the word before
    (the network ends a word there: a last letter, a comma, a 5's flag drawn late),
    unless it is a stem (at least STEM_HEIGHT body heights tall) within the span of the
    word after, whose other strokes reach over it: the network also begins a word there
    (a T's stem under its bar), and a stem left with the word before is cut from its
    letter when the gap is opened or the letters are joined."""
    owned = stroke_owners(points, phi)
    if owned is None or phi.shape[1] != len(text):
        return []
    spans, owners, _ = owned
    word_of = np.cumsum([c.isspace() for c in text])                # words are numbered by the spaces before them
    on_space = np.array([text[owner].isspace() for owner in owners])
    words = word_of[owners] - on_space                               # a stroke on a space: the word before
    starts = np.array([s for s, _ in spans])
    lows, highs = np.minimum.reduceat(points[:, 0], starts), np.maximum.reduceat(points[:, 0], starts)
    body = None
    for k in np.flatnonzero(on_space):
        theirs = (words == words[k] + 1) & ~on_space                  # the next word's other strokes
        if not theirs.any():
            continue
        left, right = lows[theirs].min(), highs[theirs].max()
        if lows[k] >= left - WITHIN_NEXT * (right - left) and highs[k] <= right:   # a stem may stand a little left of its bar
            body = body_height_or_span(points[:, :2]) if body is None else body
            s, e = spans[k]
            words[k] += int(np.ptp(points[s:e + 1, 1]) >= STEM_HEIGHT * body)
    masks: dict[int, np.ndarray] = {}
    for (s, e), w in zip(spans, words.tolist()):
        masks.setdefault(w, np.zeros(len(points), bool))[s:e + 1] = True
    return [masks[w] for w in sorted(masks)]


def size_drift(points: np.ndarray, phi: np.ndarray, text: str) -> tuple[float, int]:
    """(slope, samples): how the height of the small letters changes along the line, as
    the slope of log height over the line's width (0: steady; -0.2: the end ~18% smaller),
    fitted over the letters that stay between baseline and x-height, each measured by the
    height of the points drawn while the window was on it."""
    on = point_chars(phi)
    small = np.array([c in SMALL_LETTERS for c in text] + [False])
    on = np.where(small[np.minimum(on, len(text))], on, -1)          # points drawn on small letters
    xs, heights = [], []
    if (on >= 0).any():
        # every letter's points at once, sorted by letter and then by y (x): the percentiles
        # and medians of all letters from one sort each
        by_y = np.lexsort((points[:, 1], on))
        by_x = np.lexsort((points[:, 0], on))
        starts = np.searchsorted(on[by_y], np.arange(len(text) + 1))
        for pos in np.flatnonzero(np.diff(starts) >= 4):
            a, b = starts[pos], starts[pos + 1]
            lo, hi = _percentiles(points[by_y[a:b], 1], (5, 95))
            if hi - lo > 0:
                xs.append(float(_percentiles(points[by_x[a:b], 0], (50,))[0]))
                heights.append(float(hi - lo))
    if len(xs) < MIN_SMALL_LETTERS or np.ptp(xs) <= 0:
        return 0.0, len(xs)
    t = (np.array(xs) - min(xs)) / np.ptp(xs)                        # 0 at the first letter, 1 at the last
    logs = np.log(heights)
    keep = np.ones(len(t), bool)
    for _ in range(3):                                               # refit without the letters the fit misses most
        slope, icept = np.polyfit(t[keep], logs[keep], 1)
        resid = np.abs(logs - (icept + slope * t))
        keep = resid <= 2.5 * (np.median(resid[keep]) or 1e-9)
        if keep.sum() < MIN_SMALL_LETTERS:
            break
    return float(slope), len(xs)


def _percentiles(ordered: np.ndarray, qs) -> list:
    """np.percentile of values already in ascending order (linear interpolation), for the
    many small groups of a line, where NumPy's own call costs more than its work."""
    n = len(ordered)
    out = []
    for q in qs:
        at = q / 100 * (n - 1)
        lo = int(math.floor(at))
        hi = min(lo + 1, n - 1)
        t = at - lo
        a, b = float(ordered[lo]), float(ordered[hi])
        out.append(a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t))
    return out


def even_word_sizes(points: np.ndarray, phi: np.ndarray | None, text: str,
                    threshold: float = DRIFT_THRESHOLD) -> np.ndarray:
    """The line with most of a steady shrinking of its letters taken out: each word scaled
    (about its left edge and bottom line) towards the size the line starts with, later
    words moved to keep the gaps between words.  Lines that shrink less than `threshold`
    from start to end, lines that grow, and lines of fewer than three words are returned
    as they are."""
    words = word_parts(points, phi, text)
    if len(words) < 3:
        return points
    slope, _ = size_drift(points, phi, text)
    if np.expm1(slope) > -threshold:                                # steady, or growing: as written
        return points
    slope *= DRIFT_CORRECTION
    out = np.array(points, copy=True)
    xs = np.array([np.median(points[mine, 0]) for mine in words])   # each word's middle, as written
    t = (xs - xs.min()) / np.ptp(xs)                                 # 0 at the first word, 1 at the last
    scales = np.clip(np.exp(-slope * t), *WORD_SCALE_RANGE)
    for mine, scale in zip(reversed(words), reversed(scales)):      # from the right: earlier shifts stay valid
        bottom = float(np.percentile(out[mine, 1], 80))
        out = _scale_part(out, mine, float(scale), bottom)
    return out


# a gap between words narrower than this share of the line's median gap is opened to it
# (1: to the median): words run together are read as one word, by people and recognisers alike
LEAST_WORD_GAP = 1.0
GAPS_FOR_MEDIAN = 3                # fewer gaps say too little about the line's usual gap
MARK_SIZE = 0.5                    # a stroke at most this many body heights wide and tall is a mark (dot, bar, comma)


def word_gaps(words: list[np.ndarray], points: np.ndarray) -> np.ndarray:
    """The ink gap between each word and the next (left edge of the next word minus the
    right edge of this one; negative where they overlap)."""
    lefts, rights = _extents(words, points)
    return lefts[1:] - rights[:-1]


def _extents(words: list[np.ndarray], points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lefts, rights): each word's leftmost and rightmost x."""
    return np.array([points[mine, 0].min() for mine in words]), np.array([points[mine, 0].max() for mine in words])


def open_word_gaps(points: np.ndarray, phi: np.ndarray | None, text: str,
                   least: float = LEAST_WORD_GAP) -> np.ndarray:
    """The line with each gap between words that is narrower than `least` times the
    line's median gap widened to that, by moving the words after it right.  Gaps are
    measured between the words' letters; a mark (an i's dot, a t's bar, a comma) moves
    with the word it lies over or nearest to, whichever letter the window was on when it
    was drawn, so that no dot is left behind in a gap.  Lines of fewer than
    GAPS_FOR_MEDIAN gaps are returned as they are."""
    words = word_parts(points, phi, text)
    if len(words) <= GAPS_FOR_MEDIAN:
        return points
    body = body_height_or_span(points[:, :2])
    spans = stroke_spans(points)
    marks = [(s, e) for s, e in spans if max(np.ptp(points[s:e + 1, 0]), np.ptp(points[s:e + 1, 1])) <= MARK_SIZE * body]
    is_mark = np.zeros(len(points), bool)
    for s, e in marks:
        is_mark[s:e + 1] = True
    letters = [mine & ~is_mark if (mine & ~is_mark).any() else mine for mine in words]
    lefts, rights = _extents(letters, points)
    gaps = lefts[1:] - rights[:-1]
    floor = least * float(np.median(gaps))
    if floor <= 0 or gaps.min() >= floor:
        return points
    shifts = np.r_[0.0, np.cumsum(np.maximum(floor - gaps, 0.0))]    # how far each word moves
    word_of = np.zeros(len(points), int)
    for k, mine in enumerate(letters):
        word_of[mine] = k
    for s, e in marks:
        x = float(np.mean(points[s:e + 1, 0]))
        word_of[s:e + 1] = np.argmin(np.maximum(lefts - x, 0) + np.maximum(x - rights, 0))
    out = np.array(points, copy=True)
    out[:, 0] += shifts[word_of]
    return out


# a full stop is a stroke at most this many body heights wide and tall
STOP_SIZE = 0.45


def drop_marks_after_stop(points: np.ndarray, phi: np.ndarray | None, text: str):
    """A line whose text ends with a full stop, without the strokes drawn to the right of
    that stop: the network, still attending to the stop, often begins a made-up letter
    after it, which the sampler's end-of-line rule (it knows codes, not characters) keeps
    as part of the last character.  Strokes after the stop that begin left of it (a t's
    bar, an i's dot) stay.  Returns (points, phi) with the same rows dropped from both (phi
    row k - 1 belongs to point k); lines not ending with "." come back as they are."""
    if not text.rstrip().endswith(".") or len(points) < 2:
        return points, phi
    spans = stroke_spans(points)
    body = body_height_or_span(points[:, :2])
    stop, right = None, -np.inf              # the last dot at the right end of the writing before it
    for k, (s, e) in enumerate(spans):
        xy = points[s:e + 1, :2]
        if np.ptp(xy[:, 0]) <= STOP_SIZE * body and np.ptp(xy[:, 1]) <= STOP_SIZE * body:
            if xy[:, 0].min() >= right - 0.2 * body:
                stop = k
        else:
            right = max(right, float(xy[:, 0].max()))
    if stop is None or stop == len(spans) - 1:
        return points, phi
    owned = stroke_owners(points, phi)
    if owned is not None and owned[1][stop] < len(text.rstrip()) - 2:
        return points, phi                   # the attention says that dot came before the last characters
    stop_right = float(points[spans[stop][0]:spans[stop][1] + 1, 0].max())
    keep = np.ones(len(points), bool)
    for s, e in spans[stop + 1:]:
        if points[s, 0] > stop_right:
            keep[s:e + 1] = False
    return _keep_points(points, phi, keep)


def _keep_points(points: np.ndarray, phi: np.ndarray | None, keep: np.ndarray):
    """(points, phi) without the points `keep` drops (whole strokes, never the first
    point) and their attention rows; the last point kept ends a stroke."""
    out = points[keep]
    out[-1, 2] = 1.0
    if phi is not None and len(phi) == len(points) - 1:
        phi = phi[keep[1:]]
    return out, phi


# a stroke of at most this many points drawn while the window sat on a space is a flick
# of the pen; standing this many body heights clear of both words, it is a stray mark
FLICK_POINTS = 5
STRAY_CLEARANCE = 1.0


def drop_marks_between_words(points: np.ndarray, phi: np.ndarray | None, text: str):
    """The line without the flicks of the pen the network sometimes leaves between two
    words (a tick or a comma-like mark read as punctuation: "a , melon"): strokes of at
    most FLICK_POINTS points drawn while the window was on a space, standing at least
    STRAY_CLEARANCE body heights clear of the ink of the word before and of the word after.
    A comma's tail or a letter begun early touches its word and stays.  Returns (points,
    phi) as `drop_marks_after_stop`; a line without attention comes back as it is."""
    owned = stroke_owners(points, phi)
    if owned is None or phi.shape[1] != len(text):
        return points, phi
    spans, owners, _ = owned
    space = np.array([c.isspace() for c in text])
    word_of = np.cumsum(space)                                  # words are numbered by the spaces before them
    owner = np.repeat(owners, [e - s + 1 for s, e in spans])   # each point's stroke's character
    on_word = ~space[owner]                                     # a word's ink: strokes drawn on its own characters
    inked = sorted(set(word_of[owner[on_word]].tolist()))
    extent = dict(zip(inked, zip(*_extents([on_word & (word_of[owner] == w) for w in inked], points))))
    clear = STRAY_CLEARANCE * body_height_or_span(points[:, :2])
    keep = np.ones(len(points), bool)
    for (s, e), o in zip(spans[1:], owners[1:]):
        after = int(word_of[o])
        if not space[o] or e - s + 1 > FLICK_POINTS or after - 1 not in extent or after not in extent:
            continue
        if points[s:e + 1, 0].min() > extent[after - 1][1] + clear and points[s:e + 1, 0].max() < extent[after][0] - clear:
            keep[s:e + 1] = False
    return (points, phi) if keep.all() else _keep_points(points, phi, keep)


def join_letters(points: np.ndarray, phi: np.ndarray | None, text: str, max_gap: float) -> np.ndarray:
    """The line with the pen kept down between consecutive strokes of one word when the next
    begins at most `max_gap` body heights from where the last ended, and not back to the
    left of it: the connecting stroke a joined-up writer draws.  Dots, bars and commas
    (less than JOIN_MIN_INK body heights of ink), strokes that go back (an i's dot, a t's
    bar drawn after the word) and the gaps between words stay lifts.  Words come from the
    attention (`word_parts`); a line without it comes back as it is."""
    parts = word_parts(points, phi, text)
    if max_gap <= 0 or not parts:
        return points
    body = body_height(points[:, :2])
    if not body:
        return points
    word_at = np.full(len(points), -1)
    for w, mask in enumerate(parts):
        word_at[mask] = w
    spans = stroke_spans(points)
    ink = [float(np.hypot(*np.diff(points[s:e + 1, :2], axis=0).T).sum()) / body for s, e in spans]
    out = points.copy()
    for k in range(len(spans) - 1):
        (_, end), (start, _) = spans[k], spans[k + 1]
        dx, dy = (points[start, :2] - points[end, :2]) / body
        if (word_at[end] == word_at[start] >= 0 and min(ink[k], ink[k + 1]) >= JOIN_MIN_INK
                and dx >= -JOIN_BACK and np.hypot(dx, dy) <= max_gap):
            out[end, 2] = 0.0
    return out
