"""`handwrite train`, `handwrite export` and `handwrite eval`: the training side of the CLI."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..choices import DEFAULT_HIDDEN, DEVICES, EVAL_SPLITS, PRECISIONS
from .common import checked, main


@main.command()
@click.option("--data", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="IAM-OnDB folder (with lineStrokes/ and ascii/).")
@click.option("--out", "out", default="runs/handwrite", show_default=True, type=click.Path(file_okay=False),
              help="Run folder: log, checkpoints, samples.")
@click.option("--epochs", type=int, default=100, show_default=True)
@click.option("--max-steps", type=int, default=None, help="Stop after this many optimiser steps in all.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from RUN/checkpoint.pt.")
@click.option("--init-weights", type=click.Path(dir_okay=False), default=None,
              help="Start from exported weights (.safetensors; 'bundled' for the bundled model) "
                   "instead of random ones, when not resuming.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--downsample", type=int, default=2, show_default=True, help="Keep every N-th pen point.")
@click.option("--checkpoint-minutes", type=float, default=5.0, show_default=True)
@click.option("--hidden", type=int, default=DEFAULT_HIDDEN, show_default=True, help="Cells per LSTM layer.")
@click.option("--no-bf16", is_flag=True, help="Train in fp32 (slower on CPUs with bf16 instructions; the default on CPUs without them).")
@click.option("--no-samples", is_flag=True, help="Do not draw sample PNGs after each epoch.")
@click.option("--keep-epochs", is_flag=True,
              help="Export every epoch's weights to RUN/epochs/ (to average the last few: tools/average_weights.py).")
@click.option("--augment", type=click.FloatRange(0.0, 0.5), default=0.0, show_default=True,
              help="Reshape training lines at random (size, width, slant) by up to this fraction, e.g. 0.1: "
                   "a regulariser against learning the training writers by heart.")
@click.option("--capital-repeats", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Show lines that hold capital letters this many times per epoch (capitals are rare in IAM-OnDB).")
@click.option("--balance-capitals", type=click.IntRange(0, 100_000), default=0, show_default=True,
              help="List lines with rare capitals more often (up to 10 times), so that each capital letter is in "
                   "about this many lines per epoch, e.g. 600 (0: off).")
@click.option("--capital-weight", type=click.FloatRange(1.0, 100.0), default=1.0, show_default=True,
              help="Count the points drawn while the attention is on a capital letter this many times in the "
                   "loss, e.g. 4 (1: off).")
@click.option("--teach", default="", metavar="LETTERS",
              help="Letters the model writes badly, e.g. xzjIK: lines holding them are listed more often "
                   "(up to 10 times), so that each is in about --teach-lines lines per epoch.")
@click.option("--teach-lines", type=click.IntRange(1, 100_000), default=300, show_default=True,
              help="With --teach: lines per epoch holding each taught letter.")
@click.option("--teach-weight", type=click.FloatRange(1.0, 100.0), default=1.0, show_default=True,
              help="Count the points drawn while the attention is on a taught letter this many times in the loss.")
@click.option("--joined-repeats", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Show joined-up lines (<= 0.7 pen lifts per letter, one in six of IAM-OnDB) this many times per epoch.")
@click.option("--threads", type=int, default=None, help="CPU threads (default: all cores).")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
              help="auto: CUDA when present.")
def train(data, out, hidden, no_bf16, no_samples, **settings):
    """Train the synthesis network on IAM-OnDB (resumable; Ctrl-C saves a checkpoint).

    Runs unchanged under torchrun for several processes, GPUs or machines; --batch-size
    is the global batch, split across them.  See docs/training.md.
    """
    from ..model import ModelConfig
    from ..training.train import TrainConfig
    from ..training.train import train as run_training
    cfg = TrainConfig(data=str(data), out=str(out), bf16=not no_bf16, samples=not no_samples,
                      model=ModelConfig(hidden=hidden, alphabet_size=0),   # alphabet size filled in by train
                      **settings)
    # DatasetError, WeightsError, a device that is not there
    state = checked(lambda: run_training(cfg), errors=(ValueError,))
    if state.get("rank", 0) == 0:   # under torchrun every rank returns here; one report is enough
        click.echo(f"stopped at epoch {state['epoch']}, step {state['step']}; run folder {out}")


@main.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Weights file to write (.safetensors).")
def export(checkpoint, output):
    """Export a training checkpoint (best.pt or checkpoint.pt) as fp16 inference weights."""
    from ..weights import WeightsError, export_checkpoint
    digest = checked(lambda: export_checkpoint(checkpoint, output), errors=(WeightsError,))
    click.echo(f"wrote {output} (sha256 {digest})")


@main.command("eval")
@click.option("--data", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder in the IAM-OnDB layout (lineStrokes/, ascii/).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Exported weights (.safetensors) or a checkpoint (.pt) instead of the bundled model.")
@click.option("--bias", "-b", type=float, default=0.75, show_default=True, help="Sampling bias of the written lines.")
@click.option("--limit", type=int, default=None, help="Measure this many lines, drawn at random (see --seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Picks the lines and seeds the writing.")
@click.option("--split", type=click.Choice(EVAL_SPLITS), default="auto", show_default=True,
              help="val: training's held-out writers; all: every line; auto: val on the training data, else all.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True,
              help="What the written lines' sampling products run in (the NLL is always fp32).")
@click.option("--no-ocr", is_flag=True, help="Measure the NLL only: no writing, no Tesseract.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--styles", is_flag=True,
              help="Measure hands instead: style features of the writers, imitation top-1/top-3, "
                   "the presets' spread and legibility (docs/evaluation.md).")
@click.option("--primer-lines", type=click.IntRange(1, 5), default=1, show_default=True,
              help="With --styles: lines of a writer that prime each imitation.")
@click.option("--preset-lines", type=click.IntRange(0, 200), default=20, show_default=True,
              help="With --styles: validation texts each preset writes (0: measure imitation only).")
@click.option("--learn", "learn_writers", type=click.IntRange(0, 100), default=0, show_default=True,
              help="With --styles: also learn hands from 1 and 3 lines of this many writers and measure them.")
@click.option("--no-check", is_flag=True, help="Write the lines without the reader's word check.")
@click.option("--style", default=None, help="The hand the lines are written in (a preset's index or name; default: the default hand).")
@click.option("--letters", is_flag=True,
              help="Measure letters instead: how often the reader reads each character right in people's "
                   "lines and in words the model writes (docs/reading.md).")
@click.option("--htr", is_flag=True,
              help="Measure generated data instead: readers trained on generated lines, real training lines and "
                   "both read the real held-out writers' lines (CER; docs/dataset.md).")
@click.option("--htr-lines", type=click.IntRange(1), default=1000, show_default=True,
              help="With --htr: generated lines.")
@click.option("--htr-bias", type=(click.FloatRange(0, 10), click.FloatRange(0, 10)), default=None,
              help="With --htr: the generated lines' range of sampling bias, LOW HIGH [default: handwrite dataset's].")
@click.option("--htr-hands", type=click.Choice(["dataset", "writers"]), default="dataset", show_default=True,
              help="With --htr: the generated lines' hands: handwrite dataset's (presets and free), or primed by "
                   "one line of each training writer.")
@click.option("--htr-epochs", type=click.IntRange(1), default=5, show_default=True, help="With --htr: epochs a reader.")
@click.option("--htr-steps", type=click.IntRange(1), default=None, help="With --htr: at most this many batches a reader.")
@click.option("--htr-curve", type=click.IntRange(1), default=None,
              help="With --htr: also log each reader's validation CER every this many batches (logged only).")
@click.option("--htr-real-lines", type=click.IntRange(1), default=None,
              help="With --htr: use at most this many real training lines [default: all].")
@click.option("--htr-hidden", type=click.IntRange(8), default=None,
              help="With --htr: the readers' LSTM cells and convolution channels [default: the bundled reader's, 128].")
@click.option("--htr-batch", type=click.IntRange(1), default=32, show_default=True, help="With --htr: lines a batch.")
@click.option("--htr-lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="With --htr: the readers' learning rate.")
@click.option("--htr-set", "htr_sets", multiple=True, type=click.Choice(["generated", "real", "real+generated"]),
              help="With --htr: train only these readers (repeat) [default: all three].")
@click.option("--htr-work", type=click.Path(file_okay=False), default="runs/htr", show_default=True,
              help="With --htr: folder of the generated dataset (resumed when run again) and the log.")
def eval_command(data, weights, bias, limit, seed, split, precision, no_ocr, as_json, styles, primer_lines,
                 preset_lines, letters, no_check, style, htr, htr_lines, htr_bias, htr_hands, htr_epochs, htr_steps,
                 htr_curve, htr_real_lines, htr_work, htr_hidden, htr_batch, htr_lr, htr_sets, learn_writers):
    """Measure a model: NLL of real lines, Tesseract legibility of its writing, failed lines.

    Legibility needs Tesseract (apt-get install tesseract-ocr; pip install pytesseract).
    Without it the NLL is still measured and the exit status is 1.  --styles measures
    hands instead (imitation, presets); PP-OCR (pip install rapidocr-onnxruntime) reads too.
    """
    import json
    if htr:
        from ..training.evaluate_htr import HTRConfig, evaluate_htr, format_htr_report
        cfg = HTRConfig(data=str(data), work=htr_work, lines=htr_lines, bias=htr_bias, hands=htr_hands,
                        epochs=htr_epochs, max_steps=htr_steps, curve_every=htr_curve, seed=seed,
                        real_lines=htr_real_lines, check_words=not no_check, batch_size=htr_batch, lr=htr_lr,
                        sets=htr_sets or ("generated", "real", "real+generated"),
                        precision="fastest" if precision == "auto" else precision)
        if htr_hidden:
            from ..reader import ReaderConfig
            cfg.model = ReaderConfig(channels=htr_hidden, hidden=htr_hidden)
        result = checked(lambda: evaluate_htr(cfg, progress=not as_json))
        click.echo(json.dumps(result, indent=1) if as_json else format_htr_report(result))
        return
    if letters:
        from ..training.evaluate_letters import evaluate_letters, format_letters_report
        result = checked(lambda: evaluate_letters(data, weights, bias=bias, seed=seed, split=split,
                                                  precision=precision))
        click.echo(json.dumps(result, indent=1) if as_json else format_letters_report(result))
        return
    if styles:
        from ..training.evaluate_learning import format_learning_report, learned_figures
        from ..training.evaluate_styles import evaluate_styles, format_styles_report
        learning = (lambda ev, feats: learned_figures(ev, feats, bias=bias, seed=seed, writers=learn_writers)
                    ) if learn_writers else None
        result = checked(lambda: evaluate_styles(data, weights, bias=bias, seed=seed, split=split,
                                                 primer_lines=primer_lines, preset_lines=preset_lines,
                                                 precision=precision, check_words=not no_check, learning=learning))
        report = format_styles_report(result) + ("\n" + format_learning_report(result["learning"])
                                                 if "learning" in result else "")
        click.echo(json.dumps(result, indent=1) if as_json else report)
        return

    from ..training.evaluate import OCRUnavailableError, check_ocr, evaluate, format_report
    if not no_ocr:
        try:
            check_ocr()
        except OCRUnavailableError as e:
            click.echo(f"Error: {e}; measuring the NLL and failed lines only", err=True)
    # DatasetError, WeightsError, a missing folder or file
    result = checked(lambda: evaluate(data, weights, bias=bias, limit=limit, seed=seed, split=split,
                                      legibility=not no_ocr, precision=precision, check_words=not no_check, style=style))
    click.echo(json.dumps(result, indent=1) if as_json else format_report(result))
    if result["ocr_error"]:
        sys.exit(1)
