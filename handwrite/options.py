"""The writer's settings as plain data: `WriterOptions`, and `SettingError`, the error
that names a setting so that each front end can show it under its own name.

Plain data: no numpy, no torch.  A front end checks options (and a `WriteRequest`)
without loading the model.

    from handwrite import Writer, WriterOptions
    writer = Writer(options=WriterOptions(check_capitals=False, retries=1))
    quick = writer.with_options(precision="fp32")       # same model, other settings
"""
from __future__ import annotations

import dataclasses
import numbers
import re
from dataclasses import dataclass, fields

from .choices import PRECISIONS


class SettingError(ValueError):
    """A ValueError about settings.  Raised with each setting named in backquotes
    ("`style_text` needs `style_file`"); str() names them as Python callers and the JSON
    API know them ("style_text needs style_file"), and `shown_with` as a front end does
    (the CLI's "--style-text needs --style-file").
    """

    def __init__(self, message: str):
        self.message = message           # the settings in backquotes
        super().__init__(self.shown_with(lambda name: name))

    @property
    def settings(self) -> list[str]:
        """The settings the message names, in order."""
        return re.findall(r"`([a-z_.]+)`", self.message)

    def shown_with(self, name_of) -> str:
        """The message with every named setting `s` written as name_of(s)."""
        return re.sub(r"`([a-z_.]+)`", lambda m: name_of(m.group(1)), self.message)


class TextMissing(SettingError):
    """A stroke file that does not say what its strokes read, loaded without a text."""


def as_flag(setting: str) -> str:
    """A setting's name as a command-line flag: style_text -> --style-text."""
    return "--" + setting.replace("_", "-")


def check_settings(*, bias: float = 0.75, seed: int | None = None, line_spacing: float = 1.0) -> None:
    """SettingError for a bias, seed or line spacing the writer cannot use."""
    if not (0 <= bias <= 10):  # also False for NaN
        raise SettingError(f"`bias` must be between 0 and 10, got {bias}")
    if not (0 < line_spacing < 100):
        raise SettingError(f"`line_spacing` must be a positive number below 100, got {line_spacing}")
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0):
        raise SettingError(f"`seed` must be a non-negative integer or None, got {seed!r}")


# Lines sampled together: past this, throughput stops growing and memory does not.
BATCH_LINES = 64
MAX_RETRIES = 10          # retries cost a whole line each: more is a mistake (or a denial of service)


@dataclass(frozen=True)
class WriterOptions:
    """How a `Writer` samples lines and which steps of the writing pipeline it runs
    (docs/api.md, docs/architecture.md "The writing pipeline").  Defaults: the measured
    best; every setting is checked on construction (a `SettingError` naming it)."""

    # What the network's large matrix products run in (`Writer`; docs/speed.md).
    precision: str = "auto"
    # Lines sampled together (`BATCH_LINES`).
    batch_lines: int = BATCH_LINES
    # New seeds for a line that came out wrong (a runaway, a scribble, a skipped letter).
    retries: int = 3
    # Extra sampling bias on capitals: the data holds few, a steadier pen writes them
    # more legibly (docs/capitals.md); 0 switches it off.
    steady_capitals: float = 1.0
    # Capitals the network never learned (X, Z) written as their small letters, enlarged.
    stand_in_capitals: bool = True
    # Write a line again while one of its capitals E, H, K reads, by the network's own
    # likelihood, too close to a rival letter, keeping the clearest attempt ...
    check_capitals: bool = True
    # ... up to this many times (docs/capitals.md: 3 read a little worse) ...
    capital_retries: int = 5
    # ... for lines of at most this many words: a word or a name on its own, where one
    # letter's shape stands out.  Each attempt writes and reads back the whole line and
    # passes only when all its checked capitals are clear (E alone in about 1 of 3), so a
    # longer line costs far more (a 3-word heading 13x; benchmarks/bench_capitals.py).
    checked_words: int = 1
    # Redraw an x the network drew without two crossing strokes as two (weak_letters.redraw_crosses).
    redraw_x: bool = True
    # Give a capital E drawn as an L with a bar, a t, its top arm, and a 5 without its flag
    # its flag (weak_letters.add_top_arms).
    add_top_arms: bool = True
    # Take most of a line's shrinking from its start to its end out (letters.even_word_sizes).
    even_sizes: bool = True
    # Drop the made-up strokes after a line's final full stop (letters.drop_marks_after_stop).
    drop_marks_after_stop: bool = True
    # Drop the flicks of the pen left between two words (letters.drop_marks_between_words).
    drop_marks_between_words: bool = True
    # Open each gap between words narrower than the line's median gap to it (letters.open_word_gaps).
    open_gaps: bool = True
    # Reshape each line to its primer's slant and letter width (style_features.match_hand).
    match_hand: bool = True
    # Join a joined-up style's letters within words (letters.join_letters).
    join_letters: bool = True
    # Scale a line whose hand came out larger or smaller back to its page's size.
    same_size: bool = True
    # Write each line a word at a time and have the reader check every word as it is
    # written (handwrite.wordcheck, docs/reading.md); a misread word is written again ...
    check_words: bool = True
    # ... as this many candidates at once, from where the word began (each read in its line,
    # in turn, until one reads right) ...
    word_candidates: int = 4
    # ... for up to this many rounds, then the best is kept (and counted as misread).  Most
    # words read right in the first; the joined-up hands' stubborn words need more
    # (docs/reading.md, session 26: 6 against 3).
    word_rounds: int = 6

    def __post_init__(self):
        for f in fields(self):
            _check(f.name, getattr(self, f.name))

    @classmethod
    def from_dict(cls, data) -> "WriterOptions":
        """Options from plain values (a JSON object); unknown names are a SettingError."""
        return cls().replace(**_checked_dict(data))

    def replace(self, **changes) -> "WriterOptions":
        """These options with some changed (checked like the constructor's)."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise SettingError(f"unknown writer option(s) {', '.join(map(repr, unknown))}; "
                               f"known: {', '.join(self.names())}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def parse(cls, name: str, text: str):
        """The value of option `name` from text ("false", "3", "0.5"), for a command line."""
        if name not in cls.names():
            raise SettingError(f"unknown writer option {name!r}; known: {', '.join(cls.names())}")
        kind = type(getattr(cls(), name))
        if kind is bool:
            words = {"true": True, "yes": True, "on": True, "1": True,
                     "false": False, "no": False, "off": False, "0": False}
            if text.strip().lower() not in words:
                raise SettingError(f"`options.{name}` must be true or false, got {text!r}")
            return words[text.strip().lower()]
        try:
            return kind(text)
        except ValueError:
            raise SettingError(f"`options.{name}` must be {_EXPECTED[kind]}, got {text!r}") from None


_EXPECTED = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
_LIMITS = {"batch_lines": (1, 4096), "retries": (0, MAX_RETRIES), "capital_retries": (0, MAX_RETRIES),
           "checked_words": (0, 1000), "steady_capitals": (0.0, 10.0), "word_candidates": (1, 16),
           "word_rounds": (0, MAX_RETRIES)}


def parse_assignments(texts) -> dict:
    """{name: value} of NAME=VALUE texts, as command lines give options (a SettingError
    naming the text or the option for a bad one)."""
    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep:
            raise SettingError(f"--option takes NAME=VALUE, got {text!r}; names: {', '.join(WriterOptions.names())}")
        out[name.strip()] = WriterOptions.parse(name.strip(), value)
    return out


def _check(name: str, value) -> None:
    """SettingError when option `name` cannot take `value`."""
    kind = type(getattr(WriterOptions, name))
    setting = f"`options.{name}`"
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise SettingError(f"{setting} must be {_EXPECTED[kind]}, got {value!r}")
    if name == "precision" and value not in PRECISIONS:
        raise SettingError(f"{setting} must be one of {', '.join(PRECISIONS)}, got {value!r}")
    if name in _LIMITS:
        lo, hi = _LIMITS[name]
        if not (lo <= value <= hi):      # also False for NaN
            raise SettingError(f"{setting} must be between {lo} and {hi}, got {value!r}")


def _checked_dict(data) -> dict:
    if data is None:
        return {}
    if isinstance(data, WriterOptions):
        return data.to_dict()
    if not isinstance(data, dict):
        raise SettingError(f"`options` must be a dict of writer options, not {type(data).__name__}")
    unknown = sorted(set(data) - set(WriterOptions.names()))
    if unknown:
        raise SettingError(f"unknown writer option(s) {', '.join(map(repr, unknown))}; "
                           f"known: {', '.join(WriterOptions.names())}")
    return dict(data)
