"""Write a sentence with the bundled model and save it as SVG and PNG.

    python examples/quickstart.py [--weights W.safetensors] [--out-dir DIR]
"""
import argparse
from pathlib import Path

from handwrite import Writer

parser = argparse.ArgumentParser()
parser.add_argument("--weights", default=None, help="exported weights (default: the bundled model)")
parser.add_argument("--out-dir", default=".", type=Path)
args = parser.parse_args()

writer = Writer(args.weights)
hw = writer.write("The quick brown fox jumps over the lazy dog", bias=0.75, seed=42)
print(f"{len(hw.strokes)} strokes, {len(hw.points)} points")
hw.to_svg(args.out_dir / "quickstart.svg")
hw.to_png(args.out_dir / "quickstart.png", dpi=150)
print("wrote", args.out_dir / "quickstart.svg", "and", args.out_dir / "quickstart.png")
