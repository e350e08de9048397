"""Legibility and NLL against the sampling bias, as a Markdown table for docs/evaluation.md.

    python docs/make_bias_table.py --data ~/data/iam-ondb --weights model.safetensors --limit 40

The NLL and the human lines' OCR do not depend on the bias: they are measured once,
then the same texts are written and read at every bias.  Needs Tesseract.
"""
from __future__ import annotations

import argparse
import sys

from handwrite.choices import EVAL_SPLITS
from handwrite.training import evaluate as ev

BIASES = (0.25, 0.5, 0.75, 1.0, 1.5)


def bias_table(data, weights=None, biases=BIASES, limit=40, seed=0, split="auto") -> str:
    pytesseract = ev.check_ocr()
    evalset = ev.prepare(data, weights, split=split, limit=limit, seed=seed)
    nll = ev.measure_nll(evalset)
    texts = evalset.lines.texts
    human = ev.read_human_lines(evalset, pytesseract)
    human_cer = ev.corpus_cer(human, texts)
    info = evalset.writer.info
    trained = f"epoch {info['epochs']}, step {info['steps']}" if info.get("epochs") is not None else "unknown training"
    out = [
        f"Weights: {evalset.weights} ({trained}); {nll['lines']} {evalset.split} lines drawn with seed {seed}.",
        "",
        f"NLL (any bias): {nll['nll_per_line']:.1f} nats per line, {nll['nll_per_point']:.3f} nats per point "
        f"({ev.PREPROCESSING.format(d=evalset.downsample)}).",
        f"Human CER (Tesseract on the people's own lines): {human_cer:.3f}.",
        "",
        "| bias | generated CER | CER ratio (generated / human) | failed lines | retry rate |",
        "|---:|---:|---:|---:|---:|",
    ]
    for bias in biases:
        gen = ev.read_generated_lines(evalset, bias, seed, pytesseract)
        s = ev.legibility_summary(human, gen["readings"], texts)
        ratio = "n/a" if s["cer_ratio"] is None else f"{s['cer_ratio']:.2f}"
        n = len(texts)
        out.append(f"| {bias:g} | {s['generated_cer']:.3f} | {ratio} | "
                   f"{gen['failed_lines']} / {n} ({100 * gen['failed_lines'] / n:.0f}%) | {gen['retried_lines'] / n:.2f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="IAM-OnDB layout folder")
    p.add_argument("--weights", default=None, help=".safetensors or .pt (default: the bundled model)")
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=EVAL_SPLITS, default="auto")
    p.add_argument("--biases", type=float, nargs="+", default=list(BIASES))
    args = p.parse_args(argv)
    try:
        table = bias_table(args.data, args.weights, args.biases, args.limit, args.seed, args.split)
    except (ev.OCRUnavailableError, ValueError, OSError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
