"""Handwriting styles: preset hands, and writing in your own hand, by priming.

Graves (arXiv 1308.0850, section 5.5) imitates a hand by "priming": the network first
reads real strokes together with the text they say, then carries on writing the new
text in the same hand.  A `Style` holds such a primer: pen strokes (absolute points, in
any units) and their text.

    from handwrite import Writer, Style
    writer = Writer()
    writer.write("Hello", style=3)                                   # a preset, by index
    writer.write("Hello", style="slanted")                           # ... or by name
    mine = Style.from_file("me.inkml", text="the words I wrote")     # your own hand
    writer.write("Hello", style=mine)

Before the network reads a primer, `Style.primer` makes it look like the training
data, whatever device recorded it: the baseline is levelled, the writing is scaled to
the typical IAM-OnDB letter size, and the points are thinned (or filled in) to the
spacing the network was trained on.  Slant is left alone on purpose: it is part of a
hand, and the network copies it.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from . import strokes_json
from .preprocess import align_baseline, strokes_to_offsets, strokes_to_points
from .stroke_files import FORMAT_NAMES, parse_stroke_xml, read_stroke_file  # noqa: F401  (public here too)
from .options import SettingError, TextMissing
from .style_features import mean_features, style_features

PRESET_DIR = Path(__file__).parent / "styles"

# Facts about the training data (IAM-OnDB, 800 random lines, baseline levelled):
# the median 5th-95th percentile range of y, a robust height of a written line (~345 units
# before levelling, ~290 after; ~2.4 times `style_features.body_height` on the presets), and the median
# distance between points once every second point is dropped, as training does (0.132 of it).
TARGET_BODY_HEIGHT = 290.0
TARGET_POINT_SPACING = 0.132 * TARGET_BODY_HEIGHT

MIN_CHARS, MAX_CHARS = 2, 80
MAX_EXTRA_BIAS = 3.0          # a preset's extra_bias beyond this is ignored: the writing would stop varying
MAX_JOIN = 3.0                # ... and a join beyond this: it would join letters across word gaps
# A style that says nothing of joining joins letters when its own lines are (at least partly)
# joined-up: the network alone lifts the pen more often than such a writer does (imitation
# top-3 on the validation writers 0.64 -> 0.67, `handwrite eval --styles`).
AUTO_JOIN, AUTO_JOIN_LIFTS = 1.0, 0.8
MIN_POINTS, MAX_POINTS = 20, 1500
MIN_POINTS_PER_CHAR = 3      # after resampling; IAM lines never have fewer than ~4.7


class Style:
    """A hand to imitate: primer strokes, the text they say, and a name.

    strokes: list of (n, 2) arrays of absolute x, y points (y down, any units), one per
    pen-down stroke, in the order they were written.  A style may hold several lines of
    the same hand (`Style.from_lines`, `Style.from_files`, a multi-line JSON file): the
    writer then primes its lines with each in turn and matches the slant and letter width
    they share, which several lines measure better than one.

    A learned hand (`Writer.learn`) also carries `adapters`, the changes to the base
    model's weights that write it, and `base_digest`, the model they fit; `save` writes
    it to a hand file, which `from_file` reads.
    """

    adapters = None          # handwrite.adapters.Adapters of a learned hand
    base_digest = None       # the digest (`Writer.digest`) of the model they were learned on

    def __init__(self, strokes, text: str, name: str = "custom", info: dict | None = None):
        if not isinstance(text, str):
            raise TypeError(f"style text must be a str, not {type(text).__name__}")
        self.name = str(name)
        self.info = dict(info or {})
        self.lines = [(_clean_strokes(strokes, self.name), self._checked_text(text))]

    @classmethod
    def from_lines(cls, lines, name: str = "custom", info: dict | None = None) -> "Style":
        """A style of several lines of one hand: [(strokes, text), ...]."""
        lines = list(lines)
        if not lines:
            raise ValueError(f"style {name!r}: no lines given")
        style = cls(*lines[0], name=name, info=info)
        for strokes, text in lines[1:]:
            if not isinstance(text, str):
                raise TypeError(f"style text must be a str, not {type(text).__name__}")
            style.lines.append((_clean_strokes(strokes, style.name), style._checked_text(text)))
        return style

    def _checked_text(self, text: str) -> str:
        one_line = " ".join(text.split())       # one line: newlines and runs of spaces collapse
        n = len(one_line)
        if n < MIN_CHARS:
            raise ValueError(f"style {self.name!r}: the primer text {text!r} is too short; "
                             f"give the text the strokes say (at least {MIN_CHARS} characters)")
        if n > MAX_CHARS:
            raise ValueError(f"style {self.name!r}: the primer text has {n} characters, at most "
                             f"{MAX_CHARS} are supported; use one line of writing")
        return one_line

    def __repr__(self) -> str:
        more = f", lines={len(self.lines)}" if len(self.lines) > 1 else ""
        return f"Style(name={self.name!r}, text={self.text!r}, points={self.n_points}{more})"

    def __str__(self) -> str:
        return self.name

    @property
    def strokes(self) -> list[np.ndarray]:
        """The first line's strokes."""
        return self.lines[0][0]

    @property
    def text(self) -> str:
        """The first line's text."""
        return self.lines[0][1]

    @property
    def n_points(self) -> int:
        """Points of the first line (the one a single primer uses)."""
        return int(sum(len(s) for s in self.strokes))

    def _setting(self, key: str, low: float, high: float, default: float) -> float:
        """The number info[key] when it lies in [low, high]; else (missing or unusable) `default`."""
        value = self.info.get(key)
        return float(value) if isinstance(value, (int, float)) and low <= value <= high else default

    @property
    def size(self) -> float:
        """How large the hand writes relative to the model's own (a preset's "size"; 1 otherwise)."""
        return self._setting("size", 0.2, 5, 1.0)

    @property
    def extra_bias(self) -> float:
        """Sampling bias this hand adds to the writer's (a preset's "extra_bias"; 0 otherwise):
        the joined-up presets stay legible only with a steadier pen than print needs."""
        return self._setting("extra_bias", 0, MAX_EXTRA_BIAS, 0.0)

    @property
    def join(self) -> float:
        """How far apart (body heights) two strokes of a word may end and begin and still be
        joined by the pen (`letters.join_letters`): the style's "join" (0: never), or, when it
        gives none, AUTO_JOIN for a hand whose lines lift the pen at most AUTO_JOIN_LIFTS
        times per letter, and 0 for others."""
        if self.info.get("join") is None:
            return AUTO_JOIN if self.hand["lifts_per_char"] <= AUTO_JOIN_LIFTS else 0.0
        return self._setting("join", 0, MAX_JOIN, 0.0)

    @functools.cached_property
    def hand(self) -> dict[str, float]:
        """The style features of its lines (mean over lines) and its size: what written
        lines are matched to (`style_features.match_hand`)."""
        return {**mean_features([style_features(strokes, text) for strokes, text in self.lines]), "size": self.size}

    # ---- loading and saving ------------------------------------------------------------
    @classmethod
    def from_file(cls, path, text: str | None = None, name: str | None = None, line: int | None = None) -> "Style":
        """Load a primer from handwrite JSON, one IAM-OnDB line XML, or InkML.

        text: what the strokes say; needed when the file does not carry it (IAM XML
        never does; JSON always does; InkML may, as an <annotation type="truth">).
        line: which line of a multi-line JSON document to use (default: all of its
        written lines, each a primer of the same hand; `text` then names the first).
        """
        path = Path(path)
        hand = _read_hand_file(path)
        if hand is not None:
            if text is not None or line is not None:
                raise SettingError(f"{path}: a hand file carries its lines and their texts; give no text or line")
            if name:
                hand.name = str(name)
            return hand
        lines, meta = read_stroke_file(path, line)
        name = name or meta.get("name")
        info = {"source": path.name, **{k: v for k, v in meta.items() if k != "name"}}
        if text is not None:
            lines[0] = (lines[0][0], text)
            from .reader import warn_if_misread     # torch loads only when a text is checked
            warn_if_misread(lines[0][0], text, path)
        if lines[0][1] is None:
            raise TextMissing(f"{path}: the file does not say what the strokes read; pass its text "
                              "(`style_text`)")
        try:
            return cls.from_lines([(strokes, t) for strokes, t in lines if t], name or path.stem, info)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    @classmethod
    def from_files(cls, paths, texts=None, name: str | None = None) -> "Style":
        """One hand from several files (each one line, or a multi-line JSON document).

        texts: what each file's strokes say, in order (None for a file that carries its
        text); more lines of one hand let the writer match it better.
        """
        paths = [Path(p) for p in paths]
        if not paths:
            raise ValueError("no style files given")
        texts = list(texts) if texts is not None else [None] * len(paths)
        if len(texts) != len(paths):
            raise ValueError(f"{len(paths)} style files but {len(texts)} texts: give one text per file "
                             "(or none for files that carry their text)")
        styles = [cls.from_file(p, text=t) for p, t in zip(paths, texts)]
        if len(styles) > 1 and any(st.adapters is not None for st in styles):
            raise ValueError("a learned hand file is a whole hand: give it alone, not with other style files")
        if len(styles) == 1:
            return styles[0] if name is None else cls._renamed(styles[0], name)
        return cls.from_lines([ln for st in styles for ln in st.lines], name or styles[0].name, styles[0].info)

    @classmethod
    def from_handwriting(cls, hw, name: str = "custom", line: int = 0) -> "Style":
        """A style from one line of a `Handwriting` (e.g. something the model wrote)."""
        written = [ln for ln in hw.lines if len(ln.points)]
        if not written:
            raise ValueError("the handwriting has no written lines")
        if not 0 <= line < len(written):
            raise ValueError(f"line {line} does not exist: the handwriting has {len(written)} written lines")
        from .preprocess import points_to_strokes
        chosen = written[line]
        return cls(points_to_strokes(chosen.points), chosen.text, name)

    @classmethod
    def from_hand(cls, data: bytes, where="hand file") -> "Style":
        """The Style of a hand file's bytes (what `save` writes); ValueError naming `where`."""
        from .handfile import read_hand
        held = read_hand(where, data)
        try:
            style = cls.from_lines(held["lines"], name=held["name"], info=held["info"])
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        style.adapters, style.base_digest = held["adapters"], held["base_digest"]
        return style

    def hand_bytes(self) -> bytes:
        """The hand file of this style, in memory (what `save` writes)."""
        from .handfile import hand_bytes
        return hand_bytes(self)

    @staticmethod
    def _renamed(style, name: str) -> "Style":
        style.name = str(name)
        return style

    def save(self, path) -> Path:
        """Write this style as a hand file (one safetensors file: its lines, their texts and,
        for a learned hand, its adapters and the base model's digest), atomically."""
        from .fileio import atomic_write_bytes
        from .handfile import hand_bytes
        path = Path(path)
        atomic_write_bytes(path, hand_bytes(self))
        return path

    def to_json(self, path=None) -> str:
        """This style as a handwrite strokes JSON document (what `from_file` reads), every line,
        with its name and settings (`info`), to a hundredth of a unit."""
        meta = {"name": self.name, **{k: v for k, v in self.info.items() if k not in ("source", "name")}}
        s = strokes_json.dumps([(text, strokes_to_points(strokes)) for strokes, text in self.lines], self.text,
                               decimals=2, meta=meta)
        if path is not None:
            from .fileio import atomic_write_bytes
            atomic_write_bytes(Path(path), s.encode("utf-8"))
        return s

    # ---- what the network reads ---------------------------------------------------------
    def primer(self, alphabet, normalizer) -> tuple[np.ndarray, list[int]]:
        """(normalised offsets (T, 3), codes of text + " ") of the first line: what `sample_lines`
        primes with.  Row 0 of the offsets is the start row (dx = dy = 0); raises ValueError
        for a primer the network cannot read.
        """
        return self._line_primer(self.strokes, self.text, alphabet, normalizer)

    def primers(self, alphabet, normalizer) -> list[tuple[np.ndarray, list[int]]]:
        """`primer` of every line, in order."""
        return [self._line_primer(strokes, text, alphabet, normalizer) for strokes, text in self.lines]

    def _line_primer(self, strokes, text, alphabet, normalizer):
        text = alphabet.normalize(text)
        bad = alphabet.unsupported(text)
        if bad:
            chars = ", ".join(repr(c) for c in dict.fromkeys(text[i] for i in bad))
            raise ValueError(f"style {self.name!r}: the primer text {text!r} has characters the model "
                             f"cannot write ({chars}); fix the text or use another primer")
        n_points = int(sum(len(s) for s in strokes))
        if n_points < MIN_POINTS:
            raise ValueError(f"style {self.name!r}: the primer is too short ({n_points} points, "
                             f"at least {MIN_POINTS} needed); write a few words")
        try:
            offsets = primer_offsets(strokes)
        except ValueError as e:
            raise ValueError(f"style {self.name!r}: {e}") from None
        n = len(offsets)
        if n < MIN_POINTS:
            raise ValueError(f"style {self.name!r}: the primer is too short ({n} points after resampling, "
                             f"at least {MIN_POINTS} needed); write a few words")
        if n > MAX_POINTS:
            raise ValueError(f"style {self.name!r}: the primer is too long ({n} points after resampling, "
                             f"at most {MAX_POINTS}); use one line of a few words")
        if n < MIN_POINTS_PER_CHAR * len(text):
            raise ValueError(f"style {self.name!r}: {n} points cannot write the {len(text)} characters "
                             f"of {text!r}; does the text match the strokes?")
        return normalizer.normalize(offsets), alphabet.encode(text + " ")


def _read_hand_file(path: Path):
    """The Style of a hand file, or None when `path` is another kind of file."""
    if not path.is_file():
        return None
    with open(path, "rb") as f:
        head = f.read(16)
    from .handfile import looks_like_hand, read_hand
    if path.suffix.lower() != ".hand" and not looks_like_hand(head):
        return None
    return Style.from_hand(path.read_bytes(), where=path)


def primer_offsets(strokes: list[np.ndarray]) -> np.ndarray:
    """Strokes in any units -> (T, 3) offsets at the training data's size and point spacing."""
    strokes = align_baseline([np.asarray(s, np.float64) for s in strokes])
    pts = np.concatenate(strokes)
    lo, hi = np.percentile(pts[:, 1], [5, 95])
    if hi - lo <= 0:
        raise ValueError("the primer strokes have no height: is this handwriting?")
    origin = pts.min(axis=0)
    scale = TARGET_BODY_HEIGHT / (hi - lo)
    strokes = [(s - origin) * scale for s in strokes]
    steps = np.concatenate([np.hypot(*np.diff(s, axis=0).T) for s in strokes if len(s) > 1] or [np.zeros(0)])
    steps = steps[steps > 0]
    spacing = float(np.median(steps)) if len(steps) else TARGET_POINT_SPACING
    factor = TARGET_POINT_SPACING / spacing
    downsample = 1
    if factor >= 1.5:             # denser than training (most tablets, raw IAM): thin out
        downsample = int(round(factor))
    elif factor < 0.67:           # sparser (hand-made, SVG): fill in along straight segments
        strokes = [_densify(s, TARGET_POINT_SPACING) for s in strokes]
    return strokes_to_offsets(strokes, downsample=downsample, align=False)


def _densify(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """Insert points along each segment so none is longer than `spacing`."""
    if len(stroke) < 2:
        return stroke
    out = [stroke[:1]]
    for a, b in zip(stroke[:-1], stroke[1:]):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / spacing)))
        t = np.arange(1, n + 1)[:, None] / n
        out.append(a + t * (b - a))
    return np.concatenate(out)


def _clean_strokes(strokes, name: str) -> list[np.ndarray]:
    out = []
    for s in strokes:
        try:
            a = np.asarray(s, dtype=np.float64)
        except (TypeError, ValueError):
            a = None
        if a is None or (a.size and (a.ndim != 2 or a.shape[1] < 2)):
            raise ValueError(f"style {name!r}: strokes must be a list of (n, 2) arrays of x, y points")
        if a.size == 0:
            continue
        a = a[:, :2]
        if not np.all(np.isfinite(a)):
            raise ValueError(f"style {name!r}: the primer strokes hold NaN or infinite coordinates")
        # repeated points (a pen resting) carry no shape
        keep = np.r_[True, np.any(np.diff(a, axis=0) != 0, axis=1)]
        out.append(a[keep])
    if not out:
        raise ValueError(f"style {name!r}: the primer has no pen strokes")
    return out


# ---- presets --------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def presets() -> tuple[Style, ...]:
    """The bundled preset styles, in index order (files handwrite/styles/NN-name.json)."""
    files = sorted(PRESET_DIR.glob("*.json")) if PRESET_DIR.is_dir() else []
    return tuple(Style.from_file(f, name=f.stem.split("-", 1)[-1]) for f in files)


def resolve_style(style) -> Style:
    """A Style, a preset index (0..N-1) or a preset name -> the Style to prime with."""
    if isinstance(style, Style):
        return style
    found = presets()
    listing = ", ".join(f"{i} {s.name}" for i, s in enumerate(found)) or "none are installed"
    if isinstance(style, str) and style.strip().isdigit():
        style = int(style.strip())
    if isinstance(style, (int, np.integer)) and not isinstance(style, bool):
        if not 0 <= style < len(found):
            raise ValueError(f"no preset style {style}: choose an index from 0 to {len(found) - 1} ({listing})")
        return found[int(style)]
    if isinstance(style, str):
        wanted = style.strip().lower()
        for s in found:
            if s.name.lower() == wanted:
                return s
        raise ValueError(f"no preset style named {style!r}; presets: {listing}")
    if isinstance(style, Path):
        return Style.from_file(style)
    raise TypeError(f"style must be a Style, a preset index or a preset name, not {type(style).__name__}")
