"""Draw the preset-style gallery for docs/styles.md.

    python docs/make_style_gallery.py                      # the bundled model
    python docs/make_style_gallery.py --weights m.safetensors

Writes docs/img/styles.png (every preset writing the same two sentences, same seed),
docs/img/style-primers.png (the primer lines the presets hold) and docs/img/imitation.png
(a hand to imitate, the model's imitation of it writing a new text, and the default
hand writing the same text).  The hand to imitate is the model's own free writing,
reshaped: it stands in for a person's line, which this repository does not ship.
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
    imitation_figure(writer, args.out / "imitation.png")


# the stand-in for a user's line: text index, seed and bias of the model's free writing
# (tools/make_presets.py free_lines), then sheared to 22 degrees and narrowed
IMITATED = {"text": 4, "seed": 5, "bias": 0.35, "slant": 22.0, "stretch": 0.85}
NEW_TEXT = "Meet me by the river at noon"


def imitation_figure(writer, path: Path) -> None:
    from handwrite.preprocess import points_to_strokes
    from handwrite.styles import Style
    from tools.make_presets import TEXTS, free_lines, load_writer, reshape, sheet
    fp32 = load_writer(None)
    pts, _ = free_lines(fp32, IMITATED["seed"], IMITATED["bias"])[IMITATED["text"]]
    text = TEXTS[IMITATED["text"]]
    pts = reshape(pts, text, IMITATED["slant"], IMITATED["stretch"])
    hand = Style(points_to_strokes(pts), text, "a hand to imitate")
    rows = [("a hand to imitate", pts),
            ("imitated", writer.write(NEW_TEXT, seed=SEED, bias=BIAS, style=hand).points),
            ("default hand", writer.write(NEW_TEXT, seed=SEED, bias=BIAS).points)]
    sheet(rows, path, unit=1.0)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
