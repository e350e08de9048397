"""docs/img/wordcheck.png: the same sentences written with the word check off and on.

    python docs/make_wordcheck_image.py
"""
from pathlib import Path

from handwrite import Writer

TEXT = ("The mixed jazz band played late into the quiet night.\n"
        "Zoe fixed the old box of toys before the children woke.\n"
        "Every evening the kettle hums while Harry reads the paper.")
OUT = Path(__file__).parent / "img" / "wordcheck.png"


def main():
    import io

    from PIL import Image, ImageDraw
    writer = Writer()
    panels = []
    for label, check in (("word check off", False), ("word check on (the default)", True)):
        hw = writer.with_options(check_words=check).write(TEXT, seed=7, style="cursive", width=70)
        image = Image.open(io.BytesIO(hw.to_png(dpi=110))).convert("RGB")
        titled = Image.new("RGB", (image.width, image.height + 28), "white")
        titled.paste(image, (0, 28))
        ImageDraw.Draw(titled).text((12, 8), label, fill=(90, 90, 90))
        panels.append(titled)
    out = Image.new("RGB", (max(p.width for p in panels), sum(p.height for p in panels)), "white")
    y = 0
    for p in panels:
        out.paste(p, (0, y))
        y += p.height
    out.save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
