"""A short letter: paragraphs, wrapping, alignment, ink colour, and a PDF.

    python examples/letter.py [--weights W.safetensors] [--out-dir DIR]
"""
import argparse
from pathlib import Path

from handwrite import Writer

LETTER = """Dear Sam,

thank you for the lovely afternoon. The garden looked wonderful and the cake was even better.

See you soon, Alex"""

parser = argparse.ArgumentParser()
parser.add_argument("--weights", default=None)
parser.add_argument("--out-dir", default=".", type=Path)
args = parser.parse_args()

writer = Writer(args.weights)
hw = writer.write(LETTER, width=40, bias=0.9, seed=7, line_spacing=1.2)
for line in hw.lines:
    print(f"{line.text!r:50} {len(line.strokes):3d} strokes")
hw.save(args.out_dir / "letter.pdf", color="#1a237e", stroke_width=1.8)
hw.save(args.out_dir / "letter.png", color="#1a237e", stroke_width=1.8)
print("wrote", args.out_dir / "letter.pdf")
