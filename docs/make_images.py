"""Make the pictures of docs/ (quick start, API, CLI, layout) with the model.

    python docs/make_images.py [--weights W.safetensors]

Default: the bundled model.  Every picture is written by the library itself.
"""
import argparse
from pathlib import Path

from handwrite import Writer

IMG = Path(__file__).parent / "img"

parser = argparse.ArgumentParser()
parser.add_argument("--weights", default=None)
args = parser.parse_args()
IMG.mkdir(exist_ok=True)
writer = Writer(args.weights)

# README: a few sentences that are not in the training data
samples = writer.write("Handwriting from a small neural network\nWritten on a CPU in a few hours\n"
                       "Every line of a page in one hand", seed=11, bias=0.75)
samples.to_png(IMG / "samples.png", dpi=110)

# five ordinary sentences that are not in IAM-OnDB, at the default bias 0.75
SENTENCES = [
    "Please remember to water the plants on Friday.",
    "The train to Edinburgh leaves at half past nine.",
    "My grandmother kept every letter she ever received.",
    "Could you send me the report before lunch?",
    "We walked along the river until the sun went down.",
]
for i, sentence in enumerate(SENTENCES, 1):
    writer.write(sentence, seed=i, bias=0.75).to_png(IMG / f"sentence-{i}.png", dpi=110)

# quick start
writer.write("Hello world", seed=1).to_png(IMG / "hello.png", dpi=150)

# bias: the same text from sloppy to neat
for bias in (0.0, 0.5, 1.0, 2.0):
    writer.write(f"bias {bias}: the quick brown fox", bias=bias, seed=5).to_png(IMG / f"bias-{bias}.png", dpi=110)

# layout: wrapping and alignment
text = "Lines longer than the width are wrapped at word boundaries, and every line is written on its own."
for align in ("left", "center", "right"):
    writer.write(text, width=30, align=align, seed=3).to_png(IMG / f"align-{align}.png", dpi=90)

# colours and stroke width
writer.write("Ink colour and pen width", seed=2).to_png(IMG / "style-ink.png", dpi=110, color="#1565c0",
                                                      stroke_width=3.0, background="#fffde7")
print("wrote pictures to", IMG)

# layout: a letter that fills two A5 pages of lined paper, at the default size (2.5 mm)
LETTER = ("Dear Sam,\n\nThank you for the long letter and the photographs from the coast. The house "
          "looks wonderful in the spring light, and I can almost hear the sea from here. We have "
          "had a quiet month: the garden is finally planted, the old apple tree survived the "
          "winter, and the cat has learned to open the kitchen door by herself.\n\nI will be in "
          "town for a few days at the end of May and would love to see you. Could we meet for "
          "lunch on the Thursday? There is a small place near the station that makes the best "
          "soup I have ever had, and they do not mind if we talk for hours.\n\nPlease give my "
          "love to everyone, and write again soon.\n\nWith warm wishes,\nAnna")
letter = writer.write(LETTER, seed=3, width=30)
for page in letter.pages("A5", paper="lined"):
    page.to_png(IMG / f"letter-{page.sheet.number}.png", dpi=75)
