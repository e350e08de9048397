"""Generate a small synthetic handwriting dataset for training a recogniser:
one PNG per text plus labels.tsv, with varied neatness and seeds.

    python examples/synthetic_dataset.py [--weights W.safetensors] [--out-dir DIR]
"""
import argparse
from pathlib import Path

from handwrite import Writer

TEXTS = ["invoice number 4471", "Meet me at 10.30", "apples, pears and plums", "Total: 17 items"]

parser = argparse.ArgumentParser()
parser.add_argument("--weights", default=None)
parser.add_argument("--out-dir", default="synthetic", type=Path)
args = parser.parse_args()
args.out_dir.mkdir(parents=True, exist_ok=True)

writer = Writer(args.weights)
labels = []
for bias in (0.5, 1.0):
    # all texts of one bias are sampled together as one batch
    for i, hw in enumerate(writer.write_many(TEXTS, bias=bias, seed=int(bias * 100))):
        name = f"b{bias:.1f}-{i:03d}.png"
        hw.to_png(args.out_dir / name, dpi=120)
        labels.append(f"{name}\t{hw.text}")
(args.out_dir / "labels.tsv").write_text("\n".join(labels) + "\n", encoding="utf-8")
print(f"wrote {len(labels)} images to {args.out_dir}")
