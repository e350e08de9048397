"""Make the bundled preset styles (handwrite/styles/NN-name.json) with our own model.

Every preset is a line the model itself wrote, unprimed, with a fixed seed and bias;
some are then sheared or stretched to widen the range of hands (the network copies a
primer's slant and letter width).  Nothing comes from IAM-OnDB.

    # 1. look at candidate hands: one contact sheet per primer text
    python tools/make_presets.py candidates --weights model.safetensors --out /tmp/candidates
    # 2. copy the seeds/biases you like into PRESETS below, then write the presets
    python tools/make_presets.py build --weights model.safetensors --preview /tmp/presets.png
    # or let Tesseract choose: for each preset, the seed (of --seeds) whose line reads
    # closest to its text; prints the seeds to copy into PRESETS, then builds
    python tools/make_presets.py choose --weights model.safetensors --preview /tmp/presets.png
    # --checkpoint best.pt instead of --weights reads a training checkpoint

A seed names a particular line only for one set of weights: after retraining, run
`candidates` again and re-curate PRESETS (a curated seed whose line now fails the
writer's sanity check is replaced by a nearby one, with a note).  Then re-draw the
gallery: python docs/make_style_gallery.py.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = Path.home() / ".cache/handwrite/runs/main/best.pt"

# Primer texts: pangrams, so each preset shows the network every lowercase letter.
TEXTS = [
    "Sphinx of black quartz, judge my vow",
    "Pack my box with five dozen liquor jugs",
    "The five boxing wizards jump quickly",
    "How vexingly quick daft zebras jump",
    "Jackdaws love my big sphinx of quartz",
    "Waltz, bad nymph, for quick jigs vex",
    "Bright vixens jump, dozy fowl quack",
    "Quick zephyrs blow, vexing daft Jim",
    "A quick brown fox jumps over the lazy dog",
    "Big fjords vex quick waltz nymph",
]


@dataclass
class Preset:
    name: str
    text: int               # index into TEXTS
    seed: int
    bias: float
    slant: float = 0.0      # shear: x += slant * (baseline - y); > 0 leans right
    stretch: float = 1.0    # horizontal scale of the letters


# Seeds chosen by `choose` (seeds 0-11, Tesseract agreement with the text) for the
# session-2 bundled model (the mean of fine-tune epochs 1 and 4); biases, slants and
# stretches as first curated by eye from `candidates` sheets.  `candidates`/`choose` and
# `build` must see the same weights for the seeds to mean the same lines.
# Names and order are public (--style NAME or INDEX): keep them when re-curating, and
# keep each hand's character (slanted stays slanted, wide stays wide).
PRESETS = [
    Preset("plain", 0, 7, 1.0),
    Preset("neat", 0, 8, 1.0),
    Preset("print", 2, 5, 1.0),
    Preset("tall", 3, 11, 1.0),
    Preset("slanted", 6, 0, 1.0, slant=0.35),
    Preset("narrow", 8, 3, 1.0, slant=0.15, stretch=0.8),
    Preset("wide", 5, 0, 0.6, stretch=1.2),
    Preset("backhand", 9, 11, 1.0, slant=-0.2),
    Preset("bold", 9, 5, 1.0),
    Preset("airy", 6, 9, 1.0),
]


def load_writer(weights: str | None, checkpoint: str | None):
    from handwrite.writer import Writer
    if weights:
        return Writer(weights)
    from handwrite.weights import load_checkpoint, model_from_checkpoint
    lm = model_from_checkpoint(load_checkpoint(checkpoint or DEFAULT_CHECKPOINT), checkpoint or DEFAULT_CHECKPOINT)
    return Writer.from_model(lm.model, lm.alphabet, lm.normalizer, lm.info)


def sample(writer, texts: list[str], seeds: list[int], bias: float):
    """One line per (text, seed): (level points in model units (n, 3), looks written) each."""
    from handwrite.preprocess import offsets_to_points
    from handwrite.sampling import sample_lines
    from handwrite.writer import UNIT, line_looks_written
    out = []
    for text, seed in zip(texts, seeds):
        (s,) = sample_lines(writer.model, [writer.alphabet.encode(text)], bias=bias, seed=seed,
                            normalizer=writer.normalizer)
        pts = level(offsets_to_points(writer.normalizer.denormalize(s.offsets)))
        page = pts.copy()
        page[:, :2] *= UNIT
        out.append((pts, line_looks_written(s, page, len(text))))
    return out


def level(points: np.ndarray) -> np.ndarray:
    """The line rotated so that its baseline is horizontal (as priming will see it)."""
    from handwrite.preprocess import align_baseline
    p = np.array(points, dtype=np.float64, copy=True)
    p[:, :2] = align_baseline([p[:, :2]])[0]
    return p


def reshape(points: np.ndarray, slant: float, stretch: float) -> np.ndarray:
    """Shear and stretch a level line about its baseline (y down)."""
    p = level(points)
    base = np.percentile(p[:, 1], 75)
    p[:, 0] = p[:, 0] * stretch + slant * (base - p[:, 1])
    return p


def sheet(rows: list[tuple[str, np.ndarray]], path: Path, unit: float = 0.1) -> None:
    """A PNG contact sheet: one labelled line of strokes per row."""
    from handwrite.fileio import atomic_write_bytes
    from handwrite.preprocess import points_to_strokes
    from handwrite.render import smooth_path, svg_to_png
    row_h, label_w, width = 70.0, 150.0, 0.0
    parts = []
    for i, (label, pts) in enumerate(rows):
        p = np.asarray(pts, dtype=np.float64)[:, :3].copy()
        p[:, :2] *= unit
        p[:, 0] += label_w + 10 - p[:, 0].min()
        p[:, 1] += (i + 0.7) * row_h - np.percentile(p[:, 1], 75)
        width = max(width, float(p[:, 0].max()) + 20)
        paths = "".join(f'<path d="{smooth_path(s)}"/>' for s in points_to_strokes(p))
        parts.append(f'<text x="8" y="{(i + 0.6) * row_h:.0f}" font-size="13" font-family="sans-serif" '
                     f'fill="#555">{label}</text><g fill="none" stroke="black" stroke-width="1.6" '
                     f'stroke-linecap="round" stroke-linejoin="round">{paths}</g>')
    height = row_h * len(rows) + 10
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}">'
           f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>')
    atomic_write_bytes(path, svg_to_png(svg, dpi=96))


def candidates(writer, out: Path, seeds: list[int], biases: list[float], texts: list[int]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for t in texts:
        rows = []
        for bias in biases:
            for (pts, ok), seed in zip(sample(writer, [TEXTS[t]] * len(seeds), seeds, bias), seeds):
                rows.append((f"s{seed} b{bias:g}{'' if ok else ' BAD'}", pts))
        sheet(rows, out / f"text{t}.png")
        print(f"wrote {out / f'text{t}.png'}: {TEXTS[t]!r}")


def choose(writer, seeds: list[int]) -> None:
    """Give each preset the seed whose line Tesseract reads closest to the preset's text.

    A primer whose strokes do not spell its text (a letter left out or half drawn) makes
    the model finish it at the start of every line it primes, so agreement with the text
    matters more than looks here; each preset keeps its text, bias, slant and stretch.
    """
    from handwrite.training.evaluate import cer, check_ocr, read_line, render_line
    from handwrite.preprocess import points_to_strokes
    from handwrite.writer import UNIT
    tesseract = check_ocr()
    taken = set()                       # (text, seed): presets sharing a text get different hands
    for i, p in enumerate(PRESETS):
        text = TEXTS[p.text]
        scored = []
        for seed, (pts, ok) in zip(seeds, sample(writer, [text] * len(seeds), seeds, p.bias)):
            if ok and (p.text, seed) not in taken:
                page = pts.copy()
                page[:, :2] *= UNIT
                scored.append((cer(read_line(render_line(points_to_strokes(page)), tesseract), text), seed))
        if not scored:
            print(f"  {p.name}: no seed of {seeds} wrote a usable line; kept seed {p.seed}", file=sys.stderr)
            continue
        best_cer, best_seed = min(scored)
        taken.add((p.text, best_seed))
        PRESETS[i] = Preset(p.name, p.text, best_seed, p.bias, p.slant, p.stretch)
        print(f"  {p.name}: seed {best_seed} (CER {best_cer:.2f}; {len(scored)} usable of {len(seeds)})")
    print("PRESETS = [\n" + "".join(f"    {p!r},\n" for p in PRESETS) + "]")


def build(writer, out: Path, preview: Path | None) -> None:
    from handwrite.preprocess import points_to_strokes
    from handwrite.styles import Style
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    rows = []
    for i, p in enumerate(PRESETS):
        text = TEXTS[p.text]
        # if the curated seed fails with these weights, try nearby ones (and say so)
        for seed in [p.seed] + [p.seed + 1000 * k for k in range(1, 6)]:
            (pts, ok), = sample(writer, [text], [seed], p.bias)
            if ok:
                break
        if seed != p.seed:
            print(f"  {p.name}: seed {p.seed} failed, used {seed}", file=sys.stderr)
        pts = reshape(pts, p.slant, p.stretch)
        made_with = {"seed": seed, "bias": p.bias, "slant": p.slant, "stretch": p.stretch,
                     "weights": {k: writer.info.get(k) for k in ("epochs", "steps", "val_nll_per_point") if k in writer.info}}
        style = Style(points_to_strokes(pts), text, p.name, {"made_with": made_with})
        style.primer(writer.alphabet, writer.normalizer)          # fails loudly if unusable
        path = out / f"{i:02d}-{p.name}.json"
        style.to_json(path)
        rows.append((f"{i} {p.name}", pts))
        print(f"wrote {path}")
    if preview:
        sheet(rows, preview)
        print(f"wrote {preview}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["candidates", "build", "choose"])
    ap.add_argument("--weights", help="exported weights (.safetensors)")
    ap.add_argument("--checkpoint", help=f"training checkpoint (default {DEFAULT_CHECKPOINT})")
    ap.add_argument("--out", type=Path, help="candidates: folder for sheets; build: preset folder "
                                             "(default handwrite/styles)")
    ap.add_argument("--seeds", default="0-11", help="candidates, choose: seeds, e.g. 0-11 or 1,5,9")
    ap.add_argument("--biases", default="0.5,0.75,1.0", help="candidates: biases")
    ap.add_argument("--texts", default=None, help="candidates: indexes into TEXTS (default all)")
    ap.add_argument("--preview", type=Path, default=None, help="build: also write a PNG sheet of the presets")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    writer = load_writer(args.weights, args.checkpoint)
    if "-" in args.seeds:
        a, b = map(int, args.seeds.split("-"))
        seeds = list(range(a, b + 1))
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
    if args.mode == "candidates":
        texts = [int(t) for t in args.texts.split(",")] if args.texts else list(range(len(TEXTS)))
        candidates(writer, args.out or Path("preset-candidates"), seeds,
                   [float(b) for b in args.biases.split(",")], texts)
    else:
        if args.mode == "choose":
            choose(writer, seeds)
        build(writer, args.out or ROOT / "handwrite" / "styles", args.preview)


if __name__ == "__main__":
    main()
