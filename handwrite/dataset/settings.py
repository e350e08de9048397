"""A dataset run's settings as plain data (`DatasetSettings`): what the manifest records
and compares on resume.  No numpy, no torch: the CLI checks them before loading anything.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, fields

from ..choices import PRECISIONS
from ..options import SettingError

LEVELS = ("line", "word", "both")
FORMATS = ("parquet", "images")
ALL_PRESETS = "presets"      # in `hands`: every bundled preset
FREE = "free"                # in `hands`: no primer, the network picks a hand
DARK_INKS = ("black", "#1b1b1b", "#14213d", "#1f2a6b", "#0b3d91", "#2b2b40")
MAX_LINE_CHARS = 75          # layout.MAX_LINE_CHARS: a longer line would wrap
# Settings that only decide how a run is carried out, never what it writes: left out of
# the manifest's comparison, so a run resumed with other workers (or on Ray) matches.
RUN_ONLY = ("out", "workers", "progress")


@dataclass(frozen=True)
class DatasetSettings:
    """Everything that decides a dataset's rows (docs/dataset.md).

    texts: a UTF-8 text file, one sample text per line (read as a stream; used again from
    its start when `lines` exceeds it).  lines: how many lines to write; seed: the run's
    seed, from which every line's seed and draws derive (by its index, so the same seed
    and settings give the same dataset whatever the number of processes).
    hands: preset names or indices, "presets" (all 16), "free"; style_files: hand files
    (handwrite .json, IAM-OnDB .xml, .inkml), one hand each.  A group of `group_lines`
    lines shares a hand and a bias (they are written as one batch); every line draws its
    own size (body height, mm), slant (degrees added), pen width (page units) and ink.
    Ranges are (low, high), drawn uniformly.
    """
    texts: str
    out: str
    lines: int
    seed: int = 0
    hands: tuple = (ALL_PRESETS, FREE)
    style_files: tuple = ()
    bias: tuple = (0.6, 1.2)
    size: tuple = (2.0, 3.5)
    slant: tuple = (-8.0, 12.0)
    pen_width: tuple = (1.2, 2.8)
    inks: tuple = DARK_INKS
    dpi: float = 150.0
    augment: bool = False        # blur, noise, paper texture and rotation of the images
    level: str = "line"          # "line", "word" (each word of a written line) or "both"
    formats: tuple = FORMATS
    check_words: bool = True     # the writer's word check (the bundled reader)
    rewrites: int = 1            # a line still misread is written again this often, then dropped
    strict: bool = False         # a text with characters outside the alphabet: error, not skip
    max_chars: int = MAX_LINE_CHARS
    shard_lines: int = 128       # lines per shard: the unit of work, of resuming and of files
    group_lines: int = 128       # lines written together (one hand, one bias); fewer, larger groups ran faster
    precision: str = "fastest"
    weights: str | None = None
    workers: int | None = None   # processes on this machine (None: one per core)
    progress: bool = True

    def __post_init__(self):
        for name in ("hands", "style_files", "inks", "formats", "bias", "size", "slant", "pen_width"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, (str, int, float)) else tuple(value))
        object.__setattr__(self, "hands", tuple(str(h) for h in self.hands))
        object.__setattr__(self, "style_files", tuple(str(f) for f in self.style_files))
        _check(self)

    def replace(self, **changes) -> "DatasetSettings":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "DatasetSettings":
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise SettingError(f"unknown dataset setting(s) {', '.join(unknown)}")
        return cls(**data)

    def content(self) -> dict:
        """The settings that decide what is written (those a resumed run must share)."""
        return {k: v for k, v in self.to_dict().items() if k not in RUN_ONLY}

    @property
    def shards(self) -> int:
        return -(-self.lines // self.shard_lines)

    @property
    def levels(self) -> tuple:
        return ("line", "word") if self.level == "both" else (self.level,)


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def _count(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check(s: DatasetSettings) -> None:
    """SettingError naming the first setting that cannot be used."""
    if not _count(s.lines) or s.lines < 1:
        raise SettingError(f"`lines` must be a positive number of lines, got {s.lines!r}")
    if not _count(s.seed) or s.seed < 0:
        raise SettingError(f"`seed` must be a non-negative integer, got {s.seed!r}")
    limits = {"bias": (0, 10), "size": (0.5, 50), "slant": (-45, 45), "pen_width": (0.1, 20)}
    for name, (lo, hi) in limits.items():
        value = getattr(s, name)
        if len(value) != 2 or not all(_number(v) for v in value) or not lo <= value[0] <= value[1] <= hi:
            raise SettingError(f"`{name}` must be a range LOW,HIGH with {lo} <= LOW <= HIGH <= {hi}, got {value!r}")
    if not s.hands and not s.style_files:
        raise SettingError("`hands` and `style_files` are both empty: give at least one hand")
    if not s.inks or not all(isinstance(c, str) and c for c in s.inks):
        raise SettingError(f"`inks` must be colour names or #rrggbb, got {s.inks!r}")
    if s.level not in LEVELS:
        raise SettingError(f"`level` must be one of {', '.join(LEVELS)}, got {s.level!r}")
    if not s.formats or any(f not in FORMATS for f in s.formats):
        raise SettingError(f"`formats` must be some of {', '.join(FORMATS)}, got {s.formats!r}")
    if s.precision not in PRECISIONS:
        raise SettingError(f"`precision` must be one of {', '.join(PRECISIONS)}, got {s.precision!r}")
    if not _number(s.dpi) or not 20 <= s.dpi <= 1200:
        raise SettingError(f"`dpi` must be between 20 and 1200, got {s.dpi!r}")
    counts = {"rewrites": (0, 10), "max_chars": (1, MAX_LINE_CHARS), "shard_lines": (1, 100_000),
              "group_lines": (1, 4096)}
    for name, (lo, hi) in counts.items():
        value = getattr(s, name)
        if not _count(value) or not lo <= value <= hi:
            raise SettingError(f"`{name}` must be an integer from {lo} to {hi}, got {value!r}")
    if s.shard_lines % s.group_lines:
        raise SettingError(f"`shard_lines` ({s.shard_lines}) must be a multiple of `group_lines` ({s.group_lines})")
    if s.workers is not None and (not _count(s.workers) or s.workers < 1):
        raise SettingError(f"`workers` must be a positive number of processes, got {s.workers!r}")
