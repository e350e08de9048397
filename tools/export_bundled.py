"""Install trained weights as the package's bundled model, with its checksum.

    python tools/export_bundled.py RUN_DIR/best.pt              # a training checkpoint
    python tools/export_bundled.py RUN_DIR/epochs/epoch-9.safetensors   # exported weights

Writes handwrite/weights/model.safetensors (fp16) and handwrite/weights/model.sha256,
which `Writer()` verifies at load.  Commit the two files together, at most once a
session: every committed copy stays in the git history.
"""
import argparse
import hashlib
from pathlib import Path

from handwrite.fileio import atomic_write_bytes
from handwrite.weights import BUNDLED_CHECKSUM, BUNDLED_WEIGHTS, export_checkpoint, load_weights

parser = argparse.ArgumentParser()
parser.add_argument("source", type=Path, help="a .pt checkpoint or exported .safetensors weights")
args = parser.parse_args()

if args.source.suffix == ".safetensors":
    load_weights(args.source)                    # refuse anything that is not valid weights
    data = args.source.read_bytes()
    atomic_write_bytes(BUNDLED_WEIGHTS, data)
    digest = hashlib.sha256(data).hexdigest()
else:
    digest = export_checkpoint(args.source, BUNDLED_WEIGHTS)
BUNDLED_CHECKSUM.write_text(f"{digest}  {BUNDLED_WEIGHTS.name}\n")
loaded = load_weights()          # re-read through the checked path
print(f"wrote {BUNDLED_WEIGHTS} ({BUNDLED_WEIGHTS.stat().st_size / 1e6:.1f} MB, sha256 {digest[:16]}...)")
print("training info:", loaded.info)
