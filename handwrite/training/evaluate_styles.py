"""How the model's hands compare with people's: `handwrite eval --styles`.

Three measurements on the validation writers of an IAM-OnDB-layout folder, all in the
scale-free style features of `handwrite.style_features`:

- writers: each writer's profile (the mean features of their lines) and how much the
  profiles spread across writers, feature by feature;
- imitation: prime the model with one (or several) of a writer's lines, write other
  texts of that writer, and rank all writers by how close their profiles are to the
  written line (distances in units of each feature's spread within one writer's lines).
  top-1/top-3 is how often the primer's writer comes first / in the first three.  The
  writer's own real line of the same text ranked the same way is the ceiling; the default
  hand (no imitation) is the floor; chance is 3 / writers.  The primer itself (the mean
  features of its lines) ranked the same way is what an exact copy of its features would
  reach ("primer");
- presets: each preset writes the same validation texts; its features (mean), the spread
  of the presets against the spread of the writers (>= 1 means the presets cover as
  much ground as people do), and its legibility: character error rate by each
  recogniser against the people's lines of the same texts.  How well a classifier tells
  people's lines from a preset's (0.5: not at all), and the same test with one real
  writer's lines in the preset's place: the floor of that figure for any one hand.

The ranking leaves the lines it writes or primes with out of the writers' profiles.
"""
from __future__ import annotations

import numpy as np

from .evaluate import corpus_cer, human_strokes
from .ocr import Recogniser, recognisers, render_line
from ..style_features import FEATURES, feature_matrix, rank_of, style_features

TEXT_CHARS = (20, 60)          # lines used to prime and to write: long enough to measure a hand
SPREAD_FEATURES = ("slant", "width_per_char", "lifts_per_char")   # the ones presets must span


def lines_by_writer(writers: list, keep=lambda i: True) -> dict:
    """writer -> indices of their lines (those for which keep(index) is true)."""
    by = {}
    for i, w in enumerate(writers):
        if keep(i):
            by.setdefault(w, []).append(i)
    return by


def eligible_by_writer(texts: list[str], writers: list) -> dict:
    """writer -> indices of their lines whose text length suits priming and writing."""
    return lines_by_writer(writers, lambda i: TEXT_CHARS[0] <= len(texts[i]) <= TEXT_CHARS[1])


def line_features(evalset) -> np.ndarray:
    """(lines, features) of the people's lines."""
    lines = evalset.lines
    return feature_matrix([style_features(human_strokes(lines.line(i)), lines.texts[i]) for i in range(len(lines))])


def writer_profiles(feats: np.ndarray, writers: list, leave_out=frozenset()) -> tuple[list, np.ndarray]:
    """(writer ids, (writers, features) mean features of each writer's lines not in leave_out)."""
    by = lines_by_writer(writers, lambda i: i not in leave_out)
    ids = sorted(by, key=str)
    return ids, np.array([feats[by[w]].mean(0) for w in ids])


def within_writer_spread(feats: np.ndarray, writers: list) -> np.ndarray:
    """Each feature's standard deviation across one writer's lines, pooled over writers."""
    groups = [feats[idx] for idx in lines_by_writer(writers).values() if len(idx) > 1]
    spread = np.sqrt(np.mean([g.var(0) for g in groups], axis=0)) if groups else np.ones(len(FEATURES))
    return np.where(spread > 0, spread, 1.0)


def top_interval(ranks, writers, top: int = 3, draws: int = 1000, seed: int = 0) -> list[float]:
    """The 90% interval of the share of `ranks` within `top`, over writers: a bootstrap
    that draws writers (with all their lines, writers[i] the writer of ranks[i]).  Sixty
    lines of twenty writers give a figure that another draw of writers, or of strokes,
    moves by 0.1-0.15 (docs/styles.md, session 28): the interval says how far."""
    hits, owners = np.asarray(ranks) <= top, np.asarray(writers, dtype=object)
    groups = [np.flatnonzero(owners == w) for w in dict.fromkeys(writers)]
    rng = np.random.default_rng(seed)
    shares = [hits[np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))])].mean()
              for _ in range(draws)]
    return [float(q) for q in np.percentile(shares, [5, 95])]


def two_sample_accuracy(a: np.ndarray, b: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated accuracy of a logistic-regression classifier telling rows of `a`
    from rows of `b` (features standardised on each training fold; classes balanced by
    weighting).  0.5: the two sets cannot be told apart by a line of the features."""
    x = np.concatenate([a, b]).astype(np.float64)
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    order = np.random.default_rng(seed).permutation(len(x))
    right = []
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        mu, sd = x[train].mean(0), x[train].std(0) + 1e-9
        w = _logistic((x[train] - mu) / sd, y[train])
        p = ((x[test] - mu) / sd) @ w[:-1] + w[-1]
        right += list((p > 0) == (y[test] > 0.5))
    return float(np.mean(right))


def _logistic(x, y, l2: float = 1e-2, steps: int = 300) -> np.ndarray:
    """Weights and bias of an L2-regularised logistic regression, by Newton's method."""
    X = np.c_[x, np.ones(len(x))]
    weight = np.where(y > 0.5, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-X @ w))
        grad = X.T @ (weight * (p - y)) + l2 * w
        hess = (X * (weight * p * (1 - p))[:, None]).T @ X + l2 * np.eye(len(w))
        delta = np.linalg.solve(hess, grad)
        w -= delta
        if np.abs(delta).max() < 1e-8:
            break
    return w


def one_writer_vs_people(feats: np.ndarray, texts: list[str], writers: list, n_lines: int,
                         seed: int = 0, draws: int = 10) -> dict | None:
    """`two_sample_accuracy` of n_lines lines of other writers against n_lines of one real
    writer, for each writer with that many lines of a length to write (`draws` random
    draws each): {"writers", "median", "quartiles"}, or None when no writer has them.

    One hand is one cluster inside people's spread, so even a real person's lines are
    told from everyone else's well above 0.5: what a preset (or the default hand) can
    reach on `people_vs_preset` is this, not 0.5."""
    by = eligible_by_writer(texts, writers)
    rng = np.random.default_rng(seed)
    per_writer = []
    for w, own in by.items():
        others = [i for v, idx in by.items() if v != w for i in idx]
        if len(own) < n_lines or len(others) < n_lines:
            continue
        per_writer.append(np.mean([
            two_sample_accuracy(feats[rng.choice(others, n_lines, replace=False)],
                                feats[rng.choice(own, n_lines, replace=False)], seed=seed + d)
            for d in range(draws)]))
    if not per_writer:
        return None
    return {"writers": len(per_writer), "median": float(np.median(per_writer)),
            "quartiles": [float(q) for q in np.percentile(per_writer, [25, 75])]}


def imitation(evalset, feats: np.ndarray, *, bias: float, seed: int = 0, primer_lines: int = 1,
              targets: int = 3, progress: bool = True) -> dict:
    """Top-1/top-3 of imitation, of the real lines (ceiling) and of the default hand (floor)."""
    from tqdm import tqdm

    from ..styles import Style
    lines, writer = evalset.lines, evalset.writer
    by = eligible_by_writer(lines.texts, lines.writers)
    # primers from the start of a writer's lines, the lines to write from the end: runs
    # with more primer lines write the same texts (for writers with enough lines)
    plans = {w: (idx[:primer_lines], idx[-targets:])
             for w, idx in by.items() if len(idx) >= primer_lines + targets}
    # a writer needs lines left over for a profile to be ranked against
    counts = {w: len(idx) for w, idx in lines_by_writer(lines.writers).items()}
    plans = {w: plan for w, plan in plans.items() if counts[w] > len(plan[0]) + len(plan[1])}
    if len(plans) < 2:
        raise ValueError(f"imitation needs at least 2 writers with {primer_lines + targets} lines of "
                         f"{TEXT_CHARS[0]}-{TEXT_CHARS[1]} characters; the lines measured have {len(plans)}")
    held_out = frozenset(i for p, t in plans.values() for i in (*p, *t))
    ids, profiles = writer_profiles(feats, lines.writers, held_out)
    scale = within_writer_spread(feats, lines.writers)
    ranks = {"imitation": [], "real": [], "default": [], "primer": []}
    owners = []                                         # the writer of each line, for top_interval
    for k, (w, (primers, wanted)) in enumerate(tqdm(sorted(plans.items(), key=lambda kv: str(kv[0])),
                                                    desc="imitating writers", unit="writer", disable=not progress)):
        truth = ids.index(w)
        style = Style.from_lines([(human_strokes(lines.line(i)), lines.texts[i]) for i in primers], name=f"writer {w}")
        texts = [lines.texts[i] for i in wanted]
        for kind, chosen in (("imitation", style), ("default", None)):
            for hw, text in zip(writer.write_many(texts, bias=bias, style=chosen, seed=seed + k, width=TEXT_CHARS[1]), texts):
                f = feature_matrix([style_features(hw.strokes, text)])[0]
                ranks[kind].append(rank_of(f, profiles, scale, truth))
        ranks["real"] += [rank_of(feats[i], profiles, scale, truth) for i in wanted]
        ranks["primer"] += [rank_of(feats[primers].mean(0), profiles, scale, truth)] * len(wanted)
        owners += [w] * len(wanted)
    out = {"writers": len(plans), "lines": len(ranks["real"]), "primer_lines": primer_lines,
           "chance_top3": min(1.0, 3 / len(ids))}
    for kind, r in ranks.items():
        r = np.asarray(r)
        out[f"{kind}_top1"], out[f"{kind}_top3"] = float((r <= 1).mean()), float((r <= 3).mean())
        out[f"{kind}_top3_interval"] = top_interval(r, owners)
    return out


def preset_figures(evalset, feats: np.ndarray, *, bias: float, seed: int = 0, n_lines: int = 20,
                   readers: list[Recogniser] | None = None, progress: bool = True) -> dict:
    """Each preset's features and CER on the same validation texts; the presets' spread."""
    from tqdm import tqdm

    from ..styles import presets
    lines, writer = evalset.lines, evalset.writer
    pool = [i for idx in eligible_by_writer(lines.texts, lines.writers).values() for i in idx]
    chosen = sorted(np.random.default_rng(seed).permutation(sorted(pool))[:n_lines].tolist())
    if not chosen:
        raise ValueError(f"no validation lines of {TEXT_CHARS[0]}-{TEXT_CHARS[1]} characters to write")
    texts = [lines.texts[i] for i in chosen]
    readers = readers or []
    human = {r.name: corpus_cer([r.read(render_line(human_strokes(lines.line(i)))) for i in chosen], texts)
             for r in readers}
    people = feats[chosen]
    rows = []
    for index, style in enumerate(tqdm(presets(), desc="writing with each preset", unit="preset", disable=not progress)):
        docs = writer.write_many(texts, bias=bias, style=index, seed=seed, width=TEXT_CHARS[1])
        each = feature_matrix([style_features(hw.strokes, t) for hw, t in zip(docs, texts)])
        f = each.mean(0)
        row = {"index": index, "name": style.name, "features": dict(zip(FEATURES, map(float, f))), "cer": {},
               "people_vs_preset": two_sample_accuracy(people, each, seed=seed)}
        for r in readers:
            row["cer"][r.name] = corpus_cer([r.read(render_line(hw.strokes)) for hw in docs], texts)
        rows.append(row)
    _, profiles = writer_profiles(feats, lines.writers)
    preset_matrix = feature_matrix([r["features"] for r in rows])
    spread = {k: float(preset_matrix[:, j].std() / profiles[:, j].std()) if profiles[:, j].std() > 0 else None
              for j, k in enumerate(FEATURES)}
    return {"lines": len(chosen), "human_cer": human, "presets": rows, "spread": spread,
            "one_writer_vs_people": one_writer_vs_people(feats, lines.texts, lines.writers, len(chosen), seed),
            "writers_range": {k: [float(profiles[:, j].min()), float(profiles[:, j].max())] for j, k in enumerate(FEATURES)}}


def evaluate_styles(data_dir, weights=None, *, bias: float = 0.75, seed: int = 0, primer_lines: int = 1,
                    targets: int = 3, preset_lines: int = 20, split: str = "auto", cache_dir=None,
                    progress: bool = True, precision: str | None = None, check_words: bool = True,
                    learning=None) -> dict:
    """All of the module docstring's measurements; a JSON-ready dict.  precision: what the
    writer's sampling products run in (None: the writer's own, "auto"); check_words: the
    word check (docs/reading.md).  learning: a function (evalset, line features) -> dict
    of learned hands' figures (`evaluate_learning.learned_figures`), its result the
    "learning" entry."""
    from .evaluate import prepare
    evalset = prepare(data_dir, weights, split=split, seed=seed, cache_dir=cache_dir, progress=progress,
                      precision=precision, check_words=check_words)
    feats = line_features(evalset)
    ids, profiles = writer_profiles(feats, evalset.lines.writers)
    result = {
        "features": list(FEATURES), "bias": bias, "seed": seed, "split": evalset.split,
        "precision": evalset.writer.precision,
        "data": str(data_dir), "weights": evalset.weights, "writers": len(ids), "writer_lines": len(feats),
        "writers_mean": dict(zip(FEATURES, map(float, profiles.mean(0)))),
        "writers_std": dict(zip(FEATURES, map(float, profiles.std(0)))),
        "imitation": imitation(evalset, feats, bias=bias, seed=seed, primer_lines=primer_lines,
                               targets=targets, progress=progress),
    }
    if learning is not None:
        result["learning"] = learning(evalset, feats)
    if preset_lines == 0:          # imitation only
        result.update(recognisers=[], lines=0, human_cer={}, presets=[], spread={}, writers_range={})
        return result
    readers = recognisers()
    result["recognisers"] = [r.name for r in readers]
    result.update(preset_figures(evalset, feats, bias=bias, seed=seed, n_lines=preset_lines, readers=readers,
                                 progress=progress))
    return result


def format_styles_report(r: dict) -> str:
    """The style figures as a few readable lines and a table of presets."""
    im = r["imitation"]
    out = [f"{r['writers']} writers ({r['writer_lines']} lines of {r['data']}, {r['split']}); weights: {r['weights']}",
           f"imitation   top-1 {im['imitation_top1']:.2f}, top-3 {im['imitation_top3']:.2f} "
           f"(90% over writers {interval_text(im['imitation_top3_interval'])}; {im['writers']} writers, "
           f"{im['lines']} lines, {im['primer_lines']} primer line(s), bias {r['bias']:g}); "
           f"real lines {im['real_top1']:.2f} / {im['real_top3']:.2f}; the primer itself {im['primer_top1']:.2f} / "
           f"{im['primer_top3']:.2f}; default hand {im['default_top1']:.2f} / {im['default_top3']:.2f}; "
           f"chance top-3 {im['chance_top3']:.2f}",
           "spread      presets / writers: " + ", ".join(f"{k} {v:.2f}" for k, v in r["spread"].items() if v is not None)]
    if not r["presets"]:
        return "\n".join(out[:2])
    cers = ", ".join(f"{k} {v:.3f}" for k, v in r["human_cer"].items())
    out.append(f"legibility  people's CER on the {r['lines']} texts: {cers or 'no recogniser installed'}")
    head = ("  ".join(f"{k[:12]:>12}" for k in FEATURES) + "".join(f"  {k:>9}" for k in r["recognisers"])
            + "  people-vs")
    out.append(f"{'':>3} {'preset':<12}{head}")
    for p in r["presets"]:
        vals = "  ".join(f"{p['features'][k]:>12.2f}" for k in FEATURES)
        out.append(f"{p['index']:>3} {p['name']:<12}{vals}" + "".join(f"  {p['cer'][k]:>9.3f}" for k in r["recognisers"])
                   + f"  {p['people_vs_preset']:>9.2f}")
    lo = "  ".join(f"{r['writers_range'][k][0]:>5.2f}..{r['writers_range'][k][1]:<5.2f}" for k in FEATURES)
    out.append(f"{'':>3} {'writers':<12}{lo}")
    one = r.get("one_writer_vs_people")
    if one:
        out.append(f"people-vs: the same test with one real writer's {r['lines']} lines in a preset's place "
                   f"(its floor for one hand): median {one['median']:.2f}, quartiles {one['quartiles'][0]:.2f}-"
                   f"{one['quartiles'][1]:.2f} ({one['writers']} writers)")
    return "\n".join(out)


def interval_text(lo_hi) -> str:
    """An interval [lo, hi] as the reports print it."""
    return f"{lo_hi[0]:.2f}-{lo_hi[1]:.2f}"
