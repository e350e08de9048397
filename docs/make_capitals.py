"""The capitals gallery (docs/capitals.md): every capital at the start of a word, in the
default hand and in `cursive`, each word read back by the recognisers.

    python docs/make_capitals.py                 # writes docs/img/capitals-*.png, prints the table
    python docs/make_capitals.py --weights W     # other weights
    python docs/make_capitals.py --seeds 3       # also the mean over seeds 0-2 (pictures: seed 0)
    python docs/make_capitals.py --precision fp32   # the same seed writes the same on every CPU
    python docs/make_capitals.py --no-check        # without writing unclear capitals again
    python docs/make_capitals.py --no-word-check   # without the reader's word check

A capital counts as read right when a recogniser's reading of the word starts with it.
"""
from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # for tools/make_presets.py (the sheet)

OUT = Path(__file__).parent / "img"
# one ordinary word per capital, the capital followed by lower case
WORDS = ["Apple", "Bread", "Candle", "Dinner", "Evening", "Forest", "Garden", "Harbour", "Island",
         "Jacket", "Kettle", "Lemon", "Market", "Number", "Orange", "Pencil", "Queen", "River",
         "Summer", "Table", "Under", "Valley", "Window", "Xylophone", "Yellow", "Zebra"]
assert [w[0] for w in WORDS] == list(string.ascii_uppercase)


def read_capitals(writer, style, bias: float = 0.75, seed: int = 0) -> list[dict]:
    """Each word written as its own line and read back: [{word, readings: {recogniser: text}, right: {...}}]."""
    from handwrite.training.evaluate import render_line
    from handwrite.training.evaluate_styles import recognisers
    readers = recognisers()
    rows = []
    docs = writer.write_many(WORDS, bias=bias, style=style, seed=seed)
    for word, hw in zip(WORDS, docs):
        png = render_line(hw.strokes)
        readings = {r.name: r.read(png) for r in readers}
        rows.append({"word": word, "readings": readings,
                     "right": {k: v.strip().startswith(word[0]) for k, v in readings.items()}, "hw": hw})
    return rows


def sheet(rows, path: Path, per_row: int = 5) -> None:
    """The 26 words in one PNG, `per_row` words to a row, each labelled with what the
    recognisers read."""
    import numpy as np

    from tools.make_presets import sheet as contact_sheet
    out = []
    for start in range(0, len(rows), per_row):
        words, x = [], 0.0
        for row in rows[start:start + per_row]:
            pts = row["hw"].points.copy()
            pts[:, 0] += x - pts[:, 0].min()
            x = float(pts[:, 0].max()) + 40.0
            words.append(pts)
        label = " ".join(r["word"][0] + ("" if all(r["right"].values()) else "?") for r in rows[start:start + per_row])
        out.append((label, np.concatenate(words)))
    contact_sheet(out, path, unit=1.0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--styles", default="default,cursive", help="comma-separated preset names; 'default' for none")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the pictures")
    ap.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1; the pictures show seed 0")
    ap.add_argument("--first-seed", type=int, default=0, help="start the seeds here (fresh seeds for a check)")
    ap.add_argument("--precision", default="auto", help="Writer precision: auto, fp32, int8, ...")
    ap.add_argument("--no-check", action="store_true",
                    help="WriterOptions.check_capitals off: unclear capitals are not written again")
    ap.add_argument("--no-word-check", action="store_true", help="without the reader's word check (docs/reading.md)")
    ap.add_argument("--no-pictures", action="store_true", help="print the figures only")
    args = ap.parse_args(argv)
    from handwrite import Writer, WriterOptions
    writer = Writer(args.weights, options=WriterOptions(precision=args.precision, check_capitals=not args.no_check,
                                                        check_words=not args.no_word_check))
    for name in args.styles.split(","):
        totals: dict[str, list[int]] = {}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows = read_capitals(writer, None if name == "default" else name, seed=seed)
            right = {k: sum(r["right"][k] for r in rows) for k in rows[0]["right"]}
            for k, v in right.items():
                totals.setdefault(k, []).append(v)
            wrong = {k: "".join(r["word"][0] for r in rows if not r["right"][k]) for k in right}
            print(f"{name}, seed {seed}: capitals read right " +
                  ", ".join(f"{k} {v}/26 (wrong: {wrong[k] or '-'})" for k, v in right.items()))
            if seed == 0 and not args.no_pictures:
                for r in rows:
                    print(f"  {r['word']:<10} " + "  ".join(f"{k}: {v!r}" for k, v in r["readings"].items()))
                args.out.mkdir(parents=True, exist_ok=True)
                sheet(rows, args.out / f"capitals-{name}.png")
        if args.seeds > 1:
            print(f"{name}, mean of seeds {args.first_seed}-{args.first_seed + args.seeds - 1}: " + ", ".join(f"{k} {sum(v) / len(v):.2f}/26" for k, v in totals.items()))


if __name__ == "__main__":
    main()
