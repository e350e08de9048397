"""Which style features a primed (or learned) imitation copies from its primer, and which
hold its ranking back: the figures behind docs/styles.md's "What one line can teach".

    python tools/imitation_fidelity.py --data ~/data/iam-ondb            # primed with one line
    python tools/imitation_fidelity.py --data ~/data/iam-ondb --learn     # learned from it

The same writers, lines and ranking as `handwrite eval --styles` (its imitation part):
each validation writer's first eligible line primes, their last three texts are written.
Per feature: how far the written lines fall from the primer (mean and spread, in units
of the feature's spread within one writer's lines), how closely they follow it across
writers (correlation), and top-3 with that feature left out of the ranking or with the
primer's own value put in its place.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def rows_for(data: Path, seed: int, learn: bool, bias: float = 0.75) -> tuple[list[dict], np.ndarray, np.ndarray]:
    from handwrite.style_features import feature_matrix, style_features
    from handwrite.styles import Style
    from handwrite.training.evaluate import human_strokes, prepare
    from handwrite.training.evaluate_styles import (eligible_by_writer, line_features, lines_by_writer,
                                                    within_writer_spread, writer_profiles)
    ev = prepare(data, seed=seed, progress=False)
    lines, writer = ev.lines, ev.writer
    feats = line_features(ev)
    counts = {w: len(idx) for w, idx in lines_by_writer(lines.writers).items()}
    plans = {w: (idx[:1], idx[-3:]) for w, idx in eligible_by_writer(lines.texts, lines.writers).items()
             if len(idx) >= 4 and counts[w] > 4}
    held_out = frozenset(i for p, t in plans.values() for i in (*p, *t))
    ids, profiles = writer_profiles(feats, lines.writers, held_out)
    rows = []
    for k, (w, (primers, wanted)) in enumerate(sorted(plans.items(), key=lambda kv: str(kv[0]))):
        style = Style.from_lines([(human_strokes(lines.line(i)), lines.texts[i]) for i in primers])
        style = writer.learn(style) if learn else style
        texts = [lines.texts[i] for i in wanted]
        for hw, text, i in zip(writer.write_many(texts, bias=bias, style=style, seed=seed + k, width=60), texts, wanted):
            rows.append({"truth": ids.index(w), "primer": feats[primers[0]], "real": feats[i],
                         "written": feature_matrix([style_features(hw.strokes, text)])[0]})
    return rows, profiles, within_writer_spread(feats, lines.writers)


def ranks(rows, key, profiles, scale, keep=None, swap=None) -> np.ndarray:
    """1-based rank of each row's writer by the features of row[key]; keep: the feature
    columns used; swap: a column whose value is the primer's."""
    keep = list(range(profiles.shape[1])) if keep is None else keep
    out = []
    for r in rows:
        f = r[key].copy()
        if swap is not None:
            f[swap] = r["primer"][swap]
        dist = np.sqrt((((profiles[:, keep] - f[keep]) / scale[keep]) ** 2).sum(1))
        out.append(int((dist < dist[r["truth"]]).sum()) + 1)
    return np.asarray(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bias", type=float, default=0.75, help="sampling bias of the written lines (eval's: 0.75)")
    ap.add_argument("--learn", action="store_true", help="learn a hand from the line (Writer.learn) instead of priming")
    args = ap.parse_args()
    from handwrite.style_features import FEATURES
    from handwrite.training.evaluate_styles import two_sample_accuracy
    rows, profiles, scale = rows_for(args.data.expanduser(), args.seed, args.learn, args.bias)
    print(f"{len(rows)} lines of {len(rows) // 3} writers, {'learned from' if args.learn else 'primed with'} one line each, bias {args.bias}")
    for key in ("written", "real", "primer"):
        r = ranks(rows, key, profiles, scale)
        print(f"  {key:8s} top-1 {np.mean(r <= 1):.3f}  top-3 {np.mean(r <= 3):.3f}  mean rank {r.mean():.2f}")
    print(f"  two-sample, real lines vs written: "
          f"{two_sample_accuracy(np.array([r['real'] for r in rows]), np.array([r['written'] for r in rows])):.3f}")
    print(f"  {'feature':15s} {'written - primer':>18s} {'real - primer':>14s} {'corr':>6s} {'top-3 without':>14s} "
          f"{'with primer':>12s}")
    for j, name in enumerate(FEATURES):
        gap = np.array([(r["written"][j] - r["primer"][j]) / scale[j] for r in rows])
        real_gap = np.array([(r["real"][j] - r["primer"][j]) / scale[j] for r in rows])
        corr = np.corrcoef([r["written"][j] for r in rows], [r["primer"][j] for r in rows])[0, 1]
        without = np.mean(ranks(rows, "written", profiles, scale, keep=[i for i in range(len(FEATURES)) if i != j]) <= 3)
        swapped = np.mean(ranks(rows, "written", profiles, scale, swap=j) <= 3)
        print(f"  {name:15s} {gap.mean():+8.2f} sd {gap.std():5.2f} {'sd':>6s} {real_gap.std():5.2f} {corr:6.2f} "
              f"{without:14.2f} {swapped:12.2f}")


if __name__ == "__main__":
    main()
