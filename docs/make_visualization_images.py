"""Make the pictures of docs/visualization.md and docs/plotter.md.

    python docs/make_visualization_images.py                      # the bundled model
    python docs/make_visualization_images.py runs/main/best.pt    # a training checkpoint
    python docs/make_visualization_images.py model.safetensors    # exported weights

Writes into docs/img/: attention.png, density.png, density_detail.png, animated.svg,
plotter_preview.png.  Seeds are fixed, so a given model always gives the same pictures.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path


IMG = Path(__file__).resolve().parent / "img"
SEED = 12


def load_writer(weights):
    """A Writer for the bundled model (None), exported weights, or a training checkpoint (.pt)."""
    from handwrite.writer import Writer
    if weights is None or Path(weights).suffix != ".pt":
        return Writer(weights)
    from handwrite.weights import load_checkpoint, model_from_checkpoint
    lm = model_from_checkpoint(load_checkpoint(weights), weights)
    return Writer.from_model(lm.model, lm.alphabet, lm.normalizer, lm.info)


def attention(writer):
    hw = writer.write("Attention moves\nalong the text", bias=1.0, seed=SEED)
    hw.plot_attention(IMG / "attention.png", figsize=(9, 5.5), dpi=100)


def density(writer):
    hw = writer.write("handwriting synthesis", bias=1.0, seed=SEED)
    hw.plot_density(IMG / "density.png", dpi=90)
    # a close-up of one short word: each step's mixture is visible on its own
    word = writer.write("hand", bias=1.0, seed=SEED)
    word.plot_density(IMG / "density_detail.png", figsize=(8, 3.4), dpi=110, cell=0.2)


def animation(writer):
    hw = writer.write("Written stroke by stroke", bias=1.0, seed=SEED)
    hw.to_svg(IMG / "animated.svg", animate=True, loop=True, stroke_width=2.2)


def plotter_preview(writer):
    """The G-code of a short note on an A6 card, drawn back from the G-code itself."""
    from handwrite.plotter import GcodeProfile
    from handwrite.plots import new_figure, save_figure

    hw = writer.write("Dear Ada,\nthe plotter writes\nthis card by hand.", bias=1.0, seed=SEED)
    profile = GcodeProfile(page_size="A6", landscape=True, margin=10)
    program = hw.to_gcode(profile=profile)
    w, h = profile.page_mm
    fig = new_figure((7, 7 * h / w + 0.4), 100)
    ax = fig.add_subplot()
    ax.add_patch(_rect(0, 0, w, h, edgecolor="black", facecolor="#fbfaf4"))
    ax.add_patch(_rect(10, 10, w - 20, h - 20, edgecolor="#bbbbbb", facecolor="none", linestyle=":"))
    pos, down, stroke = (0.0, 0.0), False, []
    for line in program.splitlines():
        line = line.split(";")[0].strip()
        if line == profile.pen_down_command:
            down, stroke = True, [pos]
        elif line == profile.pen_up_command:
            if down and len(stroke) > 0:
                xs, ys = zip(*stroke)
                ax.plot(xs, ys, color="#1a1a6e", linewidth=1.0, solid_capstyle="round")
            down = False
        elif m := re.fullmatch(r"G([01]) X([-\d.]+) Y([-\d.]+).*", line):
            new = (float(m[2]), float(m[3]))
            if down:
                stroke.append(new)
            else:
                ax.plot(*zip(pos, new), color="#d0453a", linewidth=0.4, linestyle="--", alpha=0.6)
            pos = new
    ax.plot([0], [0], marker="o", color="#d0453a")
    ax.annotate("machine (0, 0)", (0, 0), (4, -7), fontsize=8, color="#d0453a")
    ax.set_xlim(-5, w + 5)
    ax.set_ylim(-10, h + 5)
    ax.set_aspect("equal")
    ax.set_xlabel("X (mm)")
    ax.set_ylabel("Y (mm)")
    ax.set_title("G-code on an A6 card (landscape): pen down in blue, pen-up travel dashed", fontsize=9)
    save_figure(fig, IMG / "plotter_preview.png")


def _rect(x, y, w, h, **style):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), w, h, linewidth=0.8, **style)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="?", default=None,
                        help="exported weights (.safetensors) or a checkpoint (.pt); default: the bundled model")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)          # pictures are small; leave the machine to other work
    writer = load_writer(args.weights)
    IMG.mkdir(exist_ok=True)
    for make in (attention, density, animation, plotter_preview):
        make(writer)
        print("made", make.__name__)


if __name__ == "__main__":
    main()
