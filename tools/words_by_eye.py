"""Ten ordinary sentences (101 words, written for this, not from IAM-OnDB) in each hand, as
PNGs to count misspelt words by eye; the reader's own verdict is printed beside each.

    python tools/words_by_eye.py --out /tmp/eye                        # every preset and the default hand
    python tools/words_by_eye.py --out /tmp/eye --styles cursive,print --weights other.safetensors
    python tools/words_by_eye.py --out /tmp/eye --no-check             # the same without the word check

The sentences hold the letters that fail most often (x, z, j, q, capitals, digits).
Counting is by eye: the printed readings only point at words to look at twice.
"""
from __future__ import annotations

import argparse
from pathlib import Path

SENTENCES = (
    "Six boxes of fresh quince jam arrived on Friday morning.",
    "Zara quietly fixed the broken window before the guests came.",
    "We walked along the canal and watched the herons fishing.",
    "Please bring your jacket, the evening will be cold and windy.",
    "Uncle Kevin drove 45 miles to visit the old lighthouse.",
    "The children laughed when the puppy chased its own tail.",
    "Yesterday I bought two lemons, a melon and some bread.",
    "Every winter the lake freezes and people skate across it.",
    "Olivia wrote a long letter to her grandmother in Vienna.",
    "Maybe next year we will explore the mountains of Norway.",
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--styles", default=None, help="comma-separated preset names or indices (default: all, and the default hand)")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    import torch

    from handwrite import Writer
    from handwrite.styles import presets
    from handwrite.words import misread_indices
    torch.set_num_threads(1)
    writer = Writer(args.weights) if args.weights else Writer()
    if args.no_check:
        writer = writer.with_options(check_words=False)
    reader = Writer().reader
    styles = args.styles.split(",") if args.styles else ["default"] + [p.name for p in presets()]
    args.out.mkdir(parents=True, exist_ok=True)
    words = sum(len(s.split()) for s in SENTENCES)
    for name in styles:
        hw = writer.write("\n".join(SENTENCES), seed=args.seed, style=None if name == "default" else name, width=64)
        path = args.out / f"{name}.png"
        path.write_bytes(hw.to_png(dpi=100))
        flagged = []
        for line, text in zip(hw.lines, SENTENCES):
            flagged += [text.split()[k] for k in misread_indices(reader.read(line), text)]
        print(f"{name:12s} {path}  reader flags {len(flagged)}/{words}: {' '.join(flagged)}")


if __name__ == "__main__":
    main()
