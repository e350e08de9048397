"""Draw the preset-style gallery for docs/styles.md.

    python docs/make_style_gallery.py                      # the bundled model
    python docs/make_style_gallery.py --weights m.safetensors

Writes docs/img/styles.png (every preset writing the same two sentences, same seed) and
docs/img/style-primers.png (the primer lines the presets hold).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))          # for tools/make_presets.py (the contact-sheet drawing)

SENTENCES = "Every hand tells its own story.\nQuiet Zoe mixed jam with grapes."
SEED = 11
BIAS = 0.75


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", help="exported weights (default: the bundled model)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch

    from handwrite.styles import presets
    from handwrite.writer import Writer
    from tools.make_presets import sheet
    torch.set_num_threads(args.threads)
    writer = Writer(args.weights)
    args.out.mkdir(parents=True, exist_ok=True)

    rows = []
    for label, style in [("free (no primer)", "free")] + [(f"{i} {s.name}", i) for i, s in enumerate(presets())]:
        hw = writer.write(SENTENCES, seed=SEED, bias=BIAS, style=style)
        for k, line in enumerate(hw.lines):
            rows.append((label if k == 0 else "", line.points))
    sheet(rows, args.out / "styles.png", unit=1.0)       # written points are already in page units
    print(f"wrote {args.out / 'styles.png'}")

    primer_rows = []
    for i, style in enumerate(presets()):
        pts = np.concatenate([np.c_[s, np.r_[np.zeros(len(s) - 1), 1.0]] for s in style.strokes])
        primer_rows.append((f"{i} {style.name}", pts))
    sheet(primer_rows, args.out / "style-primers.png", unit=1.0)     # presets are stored in page units
    print(f"wrote {args.out / 'style-primers.png'}")


if __name__ == "__main__":
    main()
