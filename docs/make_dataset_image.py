"""docs/img/dataset-samples.png: a page of samples from `handwrite dataset`, as a
recogniser would see them (line and word samples, augmentation on).

    python docs/make_dataset_image.py

The texts are made up here; the pictures are written by the bundled model.
"""
import io
import tempfile
from pathlib import Path

TEXTS = ["The harbour lights came on one by one.", "Please send the report before Friday.",
         "Seven quick zebras jumped over the wall.", "A cup of tea, two biscuits and a book.",
         "Meet me at the station at half past six.", "Our garden needs rain after this week.",
         "He wrote the numbers 1984 and 2024 down.", "Questions? Call Maria on Monday morning."]
OUT = Path(__file__).parent / "img" / "dataset-samples.png"


def main():
    import pyarrow.parquet as pq
    from PIL import Image, ImageDraw

    from handwrite.dataset import DatasetSettings, make_dataset
    with tempfile.TemporaryDirectory() as tmp:
        texts = Path(tmp) / "texts.txt"
        texts.write_text("\n".join(TEXTS) + "\n")
        make_dataset(DatasetSettings(texts=str(texts), out=f"{tmp}/ds", lines=8, seed=3, level="both", augment=True,
                                     shard_lines=8, group_lines=1, workers=1, formats=("parquet",)))
        rows = sorted(pq.read_table(f"{tmp}/ds/data").to_pylist(), key=lambda r: r["id"])
    lines = [r for r in rows if r["level"] == "line"]
    words = [r for r in rows if r["level"] == "word"][::3][:12]
    tiles = [_tile(r, Image, ImageDraw) for r in lines] + [_tile(r, Image, ImageDraw) for r in words]
    width = 1100
    page = Image.new("RGB", (width, 2400), (236, 236, 236))
    x = y = 10
    row_h = 0
    for t in tiles:
        if x + t.width > width - 10:
            x, y, row_h = 10, y + row_h + 10, 0
        page.paste(t, (x, y))
        x, row_h = x + t.width + 10, max(row_h, t.height)
    page.crop((0, 0, width, y + row_h + 10)).save(OUT)
    print(f"wrote {OUT}")


def _tile(row, Image, ImageDraw):
    """The sample's picture over its label and hand, as the dataset holds them."""
    img = Image.open(io.BytesIO(row["image"]["bytes"])).convert("RGB")
    if img.width > 1060:
        img = img.resize((1060, int(img.height * 1060 / img.width)))
    tile = Image.new("RGB", (max(img.width, 200), img.height + 18), "white")
    tile.paste(img, (0, 18))
    ImageDraw.Draw(tile).text((4, 3), f"{row['text']!r}  ({row['hand']}, bias {row['bias']:.2f})", fill=(110, 110, 110))
    return tile


if __name__ == "__main__":
    main()
