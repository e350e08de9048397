"""Average the weights of several epochs of one run into one file.

    python tools/average_weights.py RUN/epochs/all-epoch-{5,6,7,8}.safetensors -o avg.safetensors

The validation NLL of single epochs swings by several nats per line from one epoch to
the next, even at a low learning rate; the mean of the last few epochs' weights (all from
one run, so they lie in one basin) is usually better than any one of them.  Measure it
before believing it: `handwrite eval --data D --weights avg.safetensors --no-ocr`, then
tools/compare_weights.py.
"""
import argparse
from pathlib import Path

import torch

from handwrite.weights import export_weights, load_weights

parser = argparse.ArgumentParser()
parser.add_argument("weights", nargs="+", help="exported .safetensors of one run")
parser.add_argument("-o", "--output", required=True)
args = parser.parse_args()

loaded = [load_weights(p) for p in args.weights]
first = loaded[0]
for other, path in zip(loaded[1:], args.weights[1:]):
    if other.model.config != first.model.config or other.alphabet.chars != first.alphabet.chars:
        raise SystemExit(f"{path}: a different network or alphabet than {args.weights[0]}")
states = [w.model.state_dict() for w in loaded]
with torch.no_grad():
    mean = {k: torch.stack([s[k].float() for s in states]).mean(0) for k in states[0]}
first.model.load_state_dict(mean)
# the run's summary as of the latest file; the mean's NLL is not known until measured
info = {k: v for k, v in loaded[-1].info.items() if not k.startswith("val_")}
info["averaged_from"] = [Path(p).name for p in args.weights]   # names only: no paths of this machine
digest = export_weights(args.output, first.model, first.alphabet, first.normalizer, info)
print(f"wrote {args.output} (mean of {len(args.weights)}), sha256 {digest}")
