"""A postcard for a pen plotter: G-code for a servo-lifted pen, and an SVG page for vpype.

    python examples/plotter_gcode.py [--weights W.safetensors] [--out-dir DIR]

Then, for example: send postcard.gcode with your plotter's G-code sender, or
    vpype read postcard.svg linesort write postcard_sorted.svg
"""
import argparse
from pathlib import Path

import numpy as np

from handwrite import Writer
from handwrite.plotter import GcodeProfile

CARD = """Greetings from the coast!
The sea is cold, the fish are fresh
and the plotter writes by hand."""

parser = argparse.ArgumentParser()
parser.add_argument("--weights", default=None)
parser.add_argument("--out-dir", default=".", type=Path)
args = parser.parse_args()

writer = Writer(args.weights)
hw = writer.write(CARD, bias=1.0, seed=11)

# A GRBL plotter whose pen hangs on a servo: M3 lowers it, M5 lifts it, and the servo
# needs a moment to settle.  The machine homes at the card's bottom-left corner.
profile = GcodeProfile(page_size="A6", landscape=True, margin=8, pen_up="M5", pen_down="M3 S1000",
                       pen_delay=0.15, draw_feed=2000, origin="bottom-left")
gcode = hw.to_gcode(args.out_dir / "postcard.gcode", profile=profile)
hw.to_plotter_svg(args.out_dir / "postcard.svg", page_size="A6", landscape=True, margin=8, pen_width=0.4)

# how long the pen spends on the paper at the drawing feed
drawn_mm = 0.0
pos = None
for line in gcode.splitlines():
    if line.startswith("G1 X"):
        x, y = (float(w[1:]) for w in line.split()[1:3])
        drawn_mm += float(np.hypot(x - pos[0], y - pos[1]))
    if line.startswith(("G0 X", "G1 X")):
        pos = tuple(float(w[1:]) for w in line.split()[1:3])
print(f"{len(hw.strokes)} strokes, {drawn_mm / 1000:.2f} m of ink, "
      f"about {drawn_mm / profile.draw_feed:.1f} min of drawing at {profile.draw_feed:g} mm/min")
print("wrote", args.out_dir / "postcard.gcode", "and", args.out_dir / "postcard.svg")
