"""docs/img/capital-e.png: one line in several hands, the E's top arm added (right) or not.

    python docs/make_capital_e_image.py
"""
from pathlib import Path

from handwrite import Writer

TEXT = "Every Evening, Emma eats early."
HANDS = ("default", "plain", "print", "slanted", "backhand", "narrow", "cursive", "natural")
OUT = Path(__file__).parent / "img" / "capital-e.png"


def main():
    import io

    from PIL import Image, ImageDraw
    writer = Writer()
    cells = [[Image.open(io.BytesIO(writer.with_options(add_top_arms=arms).write(
        TEXT, seed=0, style=None if hand == "default" else hand, width=40).to_png(dpi=80))).convert("RGB")
        for arms in (False, True)] for hand in HANDS]
    left, width = 100, max(c.width for row in cells for c in row)
    heights = [max(c.height for c in row) for row in cells]
    out = Image.new("RGB", (left + 2 * width, 24 + sum(heights)), "white")
    draw = ImageDraw.Draw(out)
    draw.text((left, 6), "add_top_arms=False", fill=(90, 90, 90))
    draw.text((left + width, 6), "add_top_arms=True (the default)", fill=(90, 90, 90))
    y = 24
    for hand, row, height in zip(HANDS, cells, heights):
        draw.text((8, y + height // 2 - 6), hand, fill=(90, 90, 90))
        for k, cell in enumerate(row):
            out.paste(cell, (left + k * width, y))
        y += height
    out.save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
