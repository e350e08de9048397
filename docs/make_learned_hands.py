"""Draw the learned-hand pictures for docs/styles.md.

    python docs/make_learned_hands.py [--weights m.safetensors] [--paragraphs DIR]

For each stand-in writer, docs/img/learned-<name>.png: the primer line, the default
model primed with it, and the hand learned from it (`Writer.learn`), writing the same
text with the same seed.  The stand-in writers are model-made (a line the model wrote in
a preset hand, or in a hand of its own choosing): this repository ships no person's
strokes.  With --paragraphs, each learned hand also writes a 100-word paragraph to
DIR/<name>.png, and the words the reader still misreads are printed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))          # for tools/make_presets.py (the contact-sheet drawing)

STAND_INS = [("narrow", "narrow", 0), ("backhand", "backhand", 1), ("own", "free", 5)]  # name, hand, seed
PRIMER = "Seven quiet mornings by the harbour"
TEXT = "Jumping foxes vex the lazy brown dog.\nWe kept the character of the garden."
PARAGRAPH = ("The harbour was quiet when we arrived, and the boats rocked slowly in the grey water. "
             "My sister wanted to walk along the old wall before breakfast, so we left our bags at the "
             "station and followed the road past the church. A fisherman mended his nets and told us "
             "about the storm last winter, when the waves broke over the lighthouse and the whole town "
             "stayed awake. Later we found a small cafe that served fresh bread with honey, and we wrote "
             "postcards to everyone at home while the rain drummed on the windows above our heads.")
SEED, BIAS = 3, 0.75


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", help="exported weights (default: the bundled model)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--paragraphs", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch

    from handwrite import Style, Writer
    from tools.make_presets import sheet
    torch.set_num_threads(args.threads)
    writer = Writer(args.weights)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, hand, seed in STAND_INS:
        made = writer.with_options(check_words=False).write(PRIMER, style=hand, seed=seed, bias=1.0)
        style = Style.from_handwriting(made, name=f"stand-in {name}")
        start = time.monotonic()
        learned = writer.learn(style)
        took = time.monotonic() - start
        primed = writer.write(TEXT, style=style, seed=SEED, bias=BIAS)
        mine = writer.write(TEXT, style=learned, seed=SEED, bias=BIAS)
        rows = [("primer", made.lines[0].points)]
        rows += [("primed" if k == 0 else "", ln.points) for k, ln in enumerate(primed.lines)]
        rows += [("learned" if k == 0 else "", ln.points) for k, ln in enumerate(mine.lines)]
        path = args.out / f"learned-{name}.png"
        sheet(rows, path, unit=1.0)
        print(f"wrote {path} (learned in {took:.0f} s: {learned.info['learned']})")
        if args.paragraphs is not None:
            args.paragraphs.mkdir(parents=True, exist_ok=True)
            hw = writer.write(PARAGRAPH, style=learned, seed=SEED, bias=BIAS, width=60)
            hw.save(args.paragraphs / f"{name}.png")
            print(f"  paragraph: {len(PARAGRAPH.split())} words, rewritten {hw.info['rewritten_words']}, "
                  f"still misread by the reader: {hw.info['misread_words']}")


if __name__ == "__main__":
    main()
