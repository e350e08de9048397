"""A shard's rows: its lines written in groups (one hand and one bias a group, one batch),
checked, written again or dropped, and turned into line and word samples.

Every draw comes from a generator seeded by the run's seed and the index of the line (or
of the group), never from the order in which processes take shards: the same seed and
settings give the same rows however the run is spread.
"""
from __future__ import annotations

import numpy as np

from ..preprocess import points_to_strokes
from ..style_features import FEATURES, style_features
from .images import Look, draw_look, picture, slanted, word_masks
from .settings import ALL_PRESETS, FREE

# Tags that keep the generators of one index apart.
_GROUP, _WRITE, _LOOK, _WORD = 1, 2, 3, 4


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


def hand_names(settings) -> list[str]:
    """The run's hands in a fixed order: preset names, "free", then the style files'
    names ("file:NAME")."""
    from ..styles import presets, resolve_style
    names = []
    for hand in settings.hands:
        if hand.strip().lower() == ALL_PRESETS:
            names += [s.name for s in presets()]
        elif hand.strip().lower() == FREE:
            names.append(FREE)
        else:
            names.append(resolve_style(hand).name)      # a preset by index or name; ValueError names it
    names += [f"file:{i}:{_stem(p)}" for i, p in enumerate(settings.style_files)]
    return list(dict.fromkeys(names))


def load_hands(settings) -> dict:
    """{hand name: what Writer.write_many takes as `style`}."""
    from ..styles import Style, resolve_style
    hands = {}
    for name in hand_names(settings):
        if name == FREE:
            hands[name] = FREE
        elif name.startswith("file:"):
            hands[name] = Style.from_file(settings.style_files[int(name.split(":")[1])])
        else:
            hands[name] = resolve_style(name)
    return hands


def group_plan(settings, names: list[str], group: int) -> tuple[str, float]:
    """The hand and bias of the group `group` (lines group * group_lines onwards)."""
    rng = rng_for(settings.seed, _GROUP, group)
    return names[int(rng.integers(len(names)))], float(rng.uniform(*settings.bias))


def write_seed(settings, group: int, attempt: int) -> int:
    return int(rng_for(settings.seed, _WRITE, group, attempt).integers(2**62))


def shard_rows(writer, settings, hands: dict, shard: int, items: list) -> tuple[list, dict]:
    """The rows of a shard and its counts.  items: [(line number in the file, text)] of the
    shard's lines, the first being line shard * shard_lines of the run."""
    names = list(hands)
    rows, stats = [], {"lines": len(items), "written": 0, "rewritten": 0, "dropped": 0, "no_words": 0}
    first = shard * settings.shard_lines
    for start in range(0, len(items), settings.group_lines):
        group = (first + start) // settings.group_lines
        hand, bias = group_plan(settings, names, group)
        todo = [(first + start + k, line, text) for k, (line, text) in
                enumerate(items[start:start + settings.group_lines])]
        for attempt in range(settings.rewrites + 1):
            if not todo:
                break
            seed = write_seed(settings, group, attempt)
            written = writer.write_many([t for _, _, t in todo], bias=bias, style=hands[hand], seed=seed,
                                        width=settings.max_chars)
            again = []
            for (index, line, text), hw in zip(todo, written):
                if not _usable(hw):
                    again.append((index, line, text))
                    continue
                meta = {"line": index, "source_line": line, "hand": hand, "bias": bias, "seed": seed,
                        "group": group, "attempt": attempt}
                new = sample_rows(hw.lines[0], meta, draw_look(settings, rng_for(settings.seed, _LOOK, index)),
                                  settings)
                stats["no_words"] += "word" in settings.levels and not any(r["level"] == "word" for r in new)
                rows += new
                stats["written"] += 1
                stats["rewritten"] += attempt > 0
            todo = again
        stats["dropped"] += len(todo)
    rows.sort(key=lambda r: (r["line"], r["word"]))
    return rows, stats


def _usable(hw) -> bool:
    """A line whose label holds: one written line, every word read right (the word
    check), and no line the writer's checks still found wrong."""
    return (len(hw.lines) == 1 and len(hw.lines[0].points) > 1 and not hw.info.get("misread_words")
            and not hw.info.get("failed_lines"))


def sample_rows(written, meta: dict, look: Look, settings) -> list[dict]:
    """The line's sample and/or its words' samples (settings.level)."""
    points = slanted(written.points, look.slant)
    rows = []
    if "line" in settings.levels:
        rows.append(_row(points, written.text, meta, look, settings, "line", -1))
    if "word" in settings.levels:
        for k, (word, mask) in enumerate(zip(written.text.split(), word_masks(points, written.phi, written.text))):
            if mask.sum() >= 2:          # a lone dash or dot between words may have lost its only stroke
                rows.append(_row(points[mask], word, meta, look, settings, "word", k))
    return rows


def _row(points: np.ndarray, text: str, meta: dict, look: Look, settings, level: str, word: int) -> dict:
    sid = f"{meta['line']:08d}" + ("" if word < 0 else f"-w{word:02d}")
    png = picture(points, text, look, settings.dpi)
    return {"id": sid, "level": level, "word": word, "text": text, "image": png,
            "strokes": np.asarray(points, np.float32), "style": _features(points, text), **meta, **look.to_dict()}


def _features(points: np.ndarray, text: str) -> dict:
    """The style features of the sample's strokes (NaN where they cannot be measured)."""
    try:
        found = style_features(points_to_strokes(points), text)
    except (ValueError, IndexError, ZeroDivisionError):
        found = {}
    return {k: float(found.get(k, np.nan)) for k in FEATURES}


def _stem(path: str) -> str:
    from pathlib import Path
    return Path(path).stem
