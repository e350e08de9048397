"""How well learned hands (`Writer.learn`) imitate people: `handwrite eval --styles --learn N`.

On up to N validation writers with enough lines, a hand is learned from the first one
and from the first three of a writer's lines, then writes the last `targets` of their
texts.  Measured, in the style features of `handwrite.style_features`:

- imitation top-1/top-3 of the learned lines (the ranking of `evaluate_styles.imitation`),
  beside the writer's own real lines of the same texts (the ceiling) and the lines learned
  from themselves (their mean features: what an exact copy of them would reach);
- two-sample accuracy: a cross-validated linear classifier tells the real lines from the
  learned imitations (0.5: indistinguishable), and people's lines from the default hand's
  of the same texts;
- legibility: words missed by both OCRs and the reader's word accuracy, learned hands
  against the default hand on the same texts (the word check as the writer has it);
- the seconds each learning took.
"""
from __future__ import annotations

import time

import numpy as np

from ..style_features import feature_matrix, rank_of, style_features
from .evaluate import human_strokes
from .evaluate_styles import (eligible_by_writer, interval_text, lines_by_writer, top_interval, two_sample_accuracy,
                              within_writer_spread, writer_profiles)
from .ocr import recognisers, render_line

LEARN_FROM = (1, 3)


def learning_plans(lines, targets: int, writers: int, learn_from=LEARN_FROM) -> dict:
    """writer -> (their first max(learn_from) lines, their last `targets` lines)."""
    need = max(learn_from)
    by = eligible_by_writer(lines.texts, lines.writers)
    counts = {w: len(idx) for w, idx in lines_by_writer(lines.writers).items()}
    plans = {w: (idx[:need], idx[-targets:]) for w, idx in by.items()
             if len(idx) >= need + targets and counts[w] > need + targets}
    chosen = sorted(plans, key=str)[:writers]
    if len(chosen) < 2:
        raise ValueError(f"learning needs at least 2 writers with {need + targets} lines to measure")
    return {w: plans[w] for w in chosen}


def learned_writing(writer, lines, plans: dict, n: int, *, bias: float, seed: int = 0, progress: bool = False):
    """For each writer of `plans` (`learning_plans`): a hand learned from their first n
    lines writes their target texts.  Yields (writer, the lines learned from, the target
    lines, the Handwritings written, seconds the learning took)."""
    from tqdm import tqdm

    from ..styles import Style
    for k, (w, (primers, target)) in enumerate(tqdm(plans.items(), desc=f"learning from {n} line(s)",
                                                    unit="writer", disable=not progress)):
        style = Style.from_lines([(human_strokes(lines.line(i)), lines.texts[i]) for i in primers[:n]])
        start = time.monotonic()
        learned = writer.learn(style)
        seconds = time.monotonic() - start
        docs = writer.write_many([lines.texts[i] for i in target], bias=bias, style=learned, seed=seed + k, width=60)
        yield w, primers[:n], target, docs, seconds


def legibility(strokes: list, texts: list[str], reader) -> dict:
    """Words missed by both OCRs (when both are installed) and the reader's word accuracy."""
    from .evaluate import word_figures
    by = {r.name: [r.read(render_line(s)) for s in strokes] for r in recognisers()}
    if reader is not None:
        by["reader"] = reader.read_many(strokes)
    return word_figures(by, texts)


def learned_figures(evalset, feats: np.ndarray, *, bias: float, seed: int = 0, writers: int = 10,
                    targets: int = 3, progress: bool = True, learn_from=LEARN_FROM) -> dict:
    """The module docstring's figures for learning from 1 and from 3 lines (`learn_from`)."""
    lines, writer = evalset.lines, evalset.writer
    plans = learning_plans(lines, targets, writers, learn_from)
    held_out = frozenset(i for p, t in plans.values() for i in (*p, *t))
    ids, profiles = writer_profiles(feats, lines.writers, held_out)
    scale = within_writer_spread(feats, lines.writers)
    wanted = [i for _, t in plans.values() for i in t]
    texts = [lines.texts[i] for i in wanted]
    real = feats[wanted]
    default = [hw.strokes for hw in writer.write_many(texts, bias=bias, seed=seed, width=60)]
    default_feats = feature_matrix([style_features(s, t) for s, t in zip(default, texts)])
    out = {"writers": len(plans), "lines": len(wanted),
           "real_top1": _share([rank_of(feats[i], profiles, scale, ids.index(w)) for w, (_, t) in plans.items()
                                for i in t], 1),
           "people_vs_default": two_sample_accuracy(real, default_feats, seed=seed),
           "default_legibility": legibility(default, texts, writer.reader)}
    out["real_top3"] = _share([rank_of(feats[i], profiles, scale, ids.index(w)) for w, (_, t) in plans.items()
                               for i in t], 3)
    out["learn_from"] = list(learn_from)
    for n in learn_from:
        ranks, strokes, seconds, own, owners = [], [], [], [], []
        for w, learned_from, target, docs, took in learned_writing(writer, lines, plans, n, bias=bias, seed=seed,
                                                                   progress=progress):
            own += [rank_of(feats[learned_from].mean(0), profiles, scale, ids.index(w))] * len(target)
            seconds.append(took)
            owners += [w] * len(target)
            for hw, i in zip(docs, target):
                strokes.append(hw.strokes)
                f = feature_matrix([style_features(hw.strokes, lines.texts[i])])[0]
                ranks.append(rank_of(f, profiles, scale, ids.index(w)))
        learned_feats = feature_matrix([style_features(s, t) for s, t in zip(strokes, texts)])
        out[f"from_{n}"] = {"top1": _share(ranks, 1), "top3": _share(ranks, 3),
                            "top3_interval": top_interval(ranks, owners),
                            "primer_top1": _share(own, 1), "primer_top3": _share(own, 3),
                            "real_vs_learned": two_sample_accuracy(real, learned_feats, seed=seed),
                            "seconds_median": float(np.median(seconds)), "seconds_max": float(np.max(seconds)),
                            "legibility": legibility(strokes, texts, writer.reader)}
    return out


def _share(ranks, top: int) -> float:
    return float((np.asarray(ranks) <= top).mean())


def format_learning_report(r: dict) -> str:
    """The learned hands' figures as a few lines."""
    d = r["default_legibility"]
    out = [f"learned hands ({r['writers']} writers, {r['lines']} lines): real lines top-1 {r['real_top1']:.2f} / "
           f"top-3 {r['real_top3']:.2f}; people vs default hand (two-sample) {r['people_vs_default']:.2f}",
           "  default hand legibility: " + ", ".join(f"{k} {v:.3f}" for k, v in d.items())]
    for n in r["learn_from"]:
        f = r[f"from_{n}"]
        out.append(f"  from {n} line(s): top-1 {f['top1']:.2f}, top-3 {f['top3']:.2f} (90% over writers "
                   f"{interval_text(f['top3_interval'])}; the lines themselves "
                   f"{f['primer_top1']:.2f} / {f['primer_top3']:.2f}); real vs learned "
                   f"{f['real_vs_learned']:.2f}; learning {f['seconds_median']:.0f} s (max {f['seconds_max']:.0f}); "
                   + ", ".join(f"{k} {v:.3f}" for k, v in f["legibility"].items()))
    return "\n".join(out)
