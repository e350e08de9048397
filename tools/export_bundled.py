"""Export a training checkpoint as the package's bundled model, with its checksum.

    python tools/export_bundled.py RUN_DIR/best.pt

Writes handwrite/weights/model.safetensors (fp16) and handwrite/weights/model.sha256,
which `Writer()` verifies at load.  Commit the two files together, at most once a
session: every committed copy stays in the git history.
"""
import argparse
from pathlib import Path

from handwrite.weights import BUNDLED_CHECKSUM, BUNDLED_WEIGHTS, export_checkpoint, load_weights

parser = argparse.ArgumentParser()
parser.add_argument("checkpoint", type=Path)
args = parser.parse_args()

digest = export_checkpoint(args.checkpoint, BUNDLED_WEIGHTS)
BUNDLED_CHECKSUM.write_text(f"{digest}  {BUNDLED_WEIGHTS.name}\n")
loaded = load_weights()          # re-read through the checked path
print(f"wrote {BUNDLED_WEIGHTS} ({BUNDLED_WEIGHTS.stat().st_size / 1e6:.1f} MB, sha256 {digest[:16]}...)")
print("training info:", loaded.info)
