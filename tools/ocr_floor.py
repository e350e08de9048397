"""The floor of "words missed by both OCRs" for a hand: the same measure on the lines of
that hand that read right BY EYE.  A target below it asks the recognisers, not the
writing, to change.

    # 1. write the first N of eval's validation lines in a hand (as `handwrite eval` writes
    #    them: the same lines and strokes as its first N), read them with both OCRs and the
    #    reader, and draw them as numbered sheets to look at
    python tools/ocr_floor.py write --data ~/data/iam-ondb --style cursive --lines 48 --out /tmp/floor-cursive
    #    or hands learned (Writer.learn) from one line of each of 16 validation writers,
    #    each writing the last three texts of its writer (as `handwrite eval --styles --learn`)
    python tools/ocr_floor.py write --data ~/data/iam-ondb --learned 16 --out /tmp/floor-learned
    # 2. open the sheets, note the lines with any word misspelt or in doubt, then
    python tools/ocr_floor.py figure /tmp/floor-cursive --wrong 0,5,11,13
    #    -> missed by both OCRs over the lines right by eye, and over all written lines

Count strictly (a letter that reads as another, a letter more or missing, or any doubt):
a doubtful line left in raises the floor.  Only the lines' words are compared, the way
`handwrite eval` compares them (handwrite.words).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SHEET_LINES = 6
sys.path.insert(0, str(Path(__file__).resolve().parent))      # make_presets, beside this file


def write(args) -> None:
    from handwrite.training.evaluate import bundled_reader, render_line
    from handwrite.training.ocr import recognisers
    from handwrite.words import missed_by_all, word_accuracy
    from make_presets import sheet        # the presets' contact sheet: numbered lines of strokes

    from handwrite.fileio import atomic_write_bytes
    from handwrite.preprocess import strokes_to_points
    if args.lines < 1:
        sys.exit(f"--lines must be at least 1, got {args.lines}")
    judges = recognisers()
    if {j.name for j in judges} != {"tesseract", "ppocr"}:
        sys.exit("needs both Tesseract and PP-OCR (pip install -e '.[ocr,ppocr]', apt install tesseract-ocr)")
    texts, strokes = learned_lines(args) if args.learned else eval_lines(args)
    readings = {j.name: [j.read(render_line(s)) for s in strokes] for j in judges}
    readings["reader"] = bundled_reader().read_many(strokes)
    args.out.mkdir(parents=True, exist_ok=True)
    hand = f"hands learned from one line of {args.learned} writers" if args.learned else args.style
    record = {"style": hand, "seed": args.seed, "limit": args.limit, "bias": args.bias, "texts": texts,
              "readings": readings, "strokes": [[np.asarray(s).round(3).tolist() for s in line] for line in strokes]}
    atomic_write_bytes(args.out / "lines.json", json.dumps(record).encode())
    listing = []
    for first in range(0, len(texts), SHEET_LINES):
        rows = list(range(first, min(first + SHEET_LINES, len(texts))))
        name = f"sheet-{first // SHEET_LINES:02d}.png"
        sheet([(str(i), strokes_to_points(strokes[i])) for i in rows], args.out / name, unit=1.0)
        listing += [f"{name} {i}: {texts[i]}" for i in rows]
    (args.out / "texts.txt").write_text("\n".join(listing) + "\n")
    both = missed_by_all({k: readings[k] for k in ("tesseract", "ppocr")}, texts)
    print(f"{len(texts)} lines in {hand}: missed by both {both:.3f}, reader {word_accuracy(readings['reader'], texts):.3f}")
    print(f"look at {args.out}/sheet-*.png beside {args.out}/texts.txt, then: "
          f"python tools/ocr_floor.py figure {args.out} --wrong LINES")


def eval_lines(args) -> tuple[list[str], list]:
    """The first --lines of `handwrite eval`'s validation lines written in --style: (texts, strokes)."""
    from handwrite.training.evaluate import prepare, read_generated_lines
    evalset = prepare(args.data, limit=args.limit, seed=args.seed, progress=False)
    if args.lines > len(evalset.lines.texts):
        sys.exit(f"--lines {args.lines}: only {len(evalset.lines.texts)} lines were drawn (raise --limit)")
    # the first N of eval's lines: written in eval's batches, so the same strokes as eval's
    evalset.lines = evalset.lines.subset(list(range(args.lines)))
    style = None if args.style == "default" else args.style
    written = read_generated_lines(evalset, args.bias, args.seed, None, progress=True, style=style)
    return evalset.lines.texts, written["strokes"]


def learned_lines(args) -> tuple[list[str], list]:
    """Hands learned from the first line of --learned validation writers, each writing
    that writer's last three texts, as `handwrite eval --styles --learn` writes them."""
    from handwrite.training.evaluate import prepare
    from handwrite.training.evaluate_learning import learned_writing, learning_plans
    evalset = prepare(args.data, seed=args.seed, progress=False)
    lines = evalset.lines
    try:
        plans = learning_plans(lines, 3, args.learned)
    except ValueError as e:
        sys.exit(f"--learned {args.learned}: {e}")
    texts, strokes = [], []
    for _, _, target, docs, _ in learned_writing(evalset.writer, lines, plans, 1, bias=args.bias, seed=args.seed,
                                                 progress=True):
        texts += [lines.texts[i] for i in target]
        strokes += [hw.strokes for hw in docs]
    return texts, strokes


def figures(texts: list[str], readings: dict, rows: list[int]) -> dict:
    """Words missed by both OCRs, and each reader's words right, over the lines `rows`."""
    from handwrite.words import missed_by_all, word_accuracy, words_of
    t = [texts[i] for i in rows]
    r = {k: [v[i] for i in rows] for k, v in readings.items()}
    return {"lines": len(rows), "words": sum(len(words_of(x)) for x in t),
            "missed_by_both_ocr": round(missed_by_all({k: r[k] for k in ("tesseract", "ppocr")}, t), 4),
            **{k: round(word_accuracy(r[k], t), 4) for k in r}}


def figure(args) -> None:
    record = json.loads((args.folder / "lines.json").read_text())
    texts, readings = record["texts"], record["readings"]
    try:
        wrong = {int(x) for x in args.wrong.split(",") if x.strip()}
    except ValueError:
        sys.exit(f"--wrong takes line numbers separated by commas, got {args.wrong!r}")
    if not wrong <= set(range(len(texts))):
        sys.exit(f"--wrong names lines outside 0-{len(texts) - 1}: {sorted(wrong - set(range(len(texts))))}")
    right = [i for i in range(len(texts)) if i not in wrong]
    print(f"{record['style']}, seed {record['seed']}, bias {record['bias']}: {len(right)} of {len(texts)} lines right by eye")
    print(f"right by eye: {json.dumps(figures(texts, readings, right))}")
    print(f"every line:   {json.dumps(figures(texts, readings, list(range(len(texts)))))}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="write, read and draw eval's first lines in a hand")
    w.add_argument("--data", required=True, help="the IAM-OnDB folder handwrite eval reads")
    w.add_argument("--style", default="default", help="a preset name or index, or 'default'")
    w.add_argument("--learned", type=int, default=0,
                   help="instead: hands learned from one line of this many validation writers (3 lines each)")
    w.add_argument("--lines", type=int, default=48, help="how many of eval's lines to write (default 48)")
    w.add_argument("--limit", type=int, default=200, help="eval's --limit: which lines are drawn (default 200)")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--bias", type=float, default=0.75)
    w.add_argument("--out", required=True, type=Path)
    f = sub.add_parser("figure", help="the measure over the lines right by eye")
    f.add_argument("folder", type=Path)
    f.add_argument("--wrong", default="", help="comma-separated numbers of the lines with a word wrong or in doubt")
    args = ap.parse_args(argv)
    write(args) if args.command == "write" else figure(args)


if __name__ == "__main__":
    main()
