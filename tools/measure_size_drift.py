"""How much the letters of written lines shrink (or grow) from start to end.

    python tools/measure_size_drift.py                  # default, free and cursive hands, bias 0.5
    python tools/measure_size_drift.py --off            # the same with the writer's correction switched off
    python tools/measure_size_drift.py --styles 3,free --bias 0.75 --seeds 8
    python tools/measure_size_drift.py --picture docs/img/size-drift.png   # lines without / with it

Prints, per hand, the median end/start size of the small letters (handwrite.letters.size_drift)
over the lines of a few ~55-character texts, and how many lines drift by more than 15%.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # for tools/make_presets.py (the sheet)

TEXTS = ["the quick brown fox jumps over the lazy dog near the river",
         "she sells sea shells by the sea shore every single summer",
         "a journey of a thousand miles begins with a single step",
         "we never saw so many cars on the new road into town"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--styles", default="default,free,cursive", help="comma-separated; 'default' for none")
    ap.add_argument("--bias", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--off", action="store_true", help="switch the writer's size correction off")
    ap.add_argument("--picture", type=Path, help="write a PNG: two texts in the free hand, without and with it")
    args = ap.parse_args(argv)
    if args.picture:
        picture(args.picture, args.weights, args.bias)
        return

    import handwrite.writer as writer_module
    from handwrite import Writer
    from handwrite.letters import size_drift
    if args.off:
        writer_module.even_word_sizes = lambda points, phi, text: points
    writer = Writer(args.weights)
    for name in args.styles.split(","):
        style = None if name == "default" else name
        ratios = []
        for seed in range(args.seeds):
            for hw in writer.write_many(TEXTS, style=style, seed=seed, bias=args.bias):
                for line in hw.lines:
                    if line.phi is not None and len(line.text) >= 30:
                        ratios.append(float(np.exp(size_drift(line.points, line.phi, line.text)[0])))
        r = np.array(ratios)
        print(f"{name}: end/start size of the small letters, median {np.median(r):.2f}; "
              f"below 0.85: {(r < 0.85).sum()}, above 1.15: {(r > 1.15).sum()} of {len(r)} lines")


def picture(path: Path, weights, bias: float) -> None:
    import handwrite.writer as writer_module
    from handwrite import Writer
    from tools.make_presets import sheet
    writer, correct, rows = Writer(weights), writer_module.even_word_sizes, []
    for on in (False, True):
        writer_module.even_word_sizes = correct if on else (lambda points, phi, text: points)
        for hw in writer.write_many(TEXTS[:2], style="free", seed=1, bias=bias):
            rows.append(("free, corrected" if on else "free, as sampled", hw.lines[0].points))
    writer_module.even_word_sizes = correct
    sheet(rows, path, unit=1.0)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
