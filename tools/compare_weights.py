"""Compare candidate weights by what matters to users, not by NLL alone.

    python tools/compare_weights.py --data ~/data/iam-ondb --limit 60 RUN/epochs/*.safetensors

Validation NLL keeps improving while the writing of a given epoch can still get stuck
or skip letters (seen here: epoch 8 of the first run needed retries on most lines that
epoch 7 and epoch 9 wrote cleanly).  For each candidate this prints the NLL, Tesseract's
CER of its writing of validation texts, and its retry and failure rates, all at one bias,
so the bundled model can be chosen by legibility and reliability.
"""
import argparse

from handwrite.training.evaluate import evaluate

parser = argparse.ArgumentParser()
parser.add_argument("weights", nargs="+")
parser.add_argument("--data", required=True)
parser.add_argument("--limit", type=int, default=60)
parser.add_argument("--bias", type=float, default=0.75)
args = parser.parse_args()

print(f"{'weights':50s} {'NLL/line':>9s} {'gen CER':>8s} {'ratio':>6s} {'retry':>6s} {'failed':>6s}")
for path in args.weights:
    r = evaluate(args.data, path, bias=args.bias, limit=args.limit, split="val", progress=False)
    cer = f"{r['generated_cer']:.3f}" if r["generated_cer"] is not None else "-"
    ratio = f"{r['cer_ratio']:.2f}" if r["cer_ratio"] is not None else "-"
    print(f"{path[-50:]:50s} {r['nll_per_line']:9.1f} {cer:>8s} {ratio:>6s} "
          f"{r['retry_rate']:6.1%} {r['failure_rate']:6.1%}", flush=True)
