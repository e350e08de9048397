"""Command line: `handwrite TEXT -o out.png` and subcommands.

The CLI parses arguments and calls the library; heavy imports (torch) happen inside
the commands so that `handwrite --help` answers at once.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_BAD_INPUT = 2


class DefaultGroup(click.Group):
    """A group whose unknown first word is the TEXT of the default `write` command."""

    default_command = "write"

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _fail(message: str, code: int = EXIT_BAD_INPUT):
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="handwrite-synthesis", prog_name="handwrite")
def main():
    """Turn text into realistic pen-stroke handwriting.

    \b
    Examples:
      handwrite "Hello world" -o hello.png
      handwrite "Hello world" -o hello.svg --bias 1.0 --seed 7
      echo "from stdin" | handwrite - -o note.pdf
      handwrite batch lines.txt --out-dir samples/
      handwrite train --data iam-ondb/ --out runs/first
    """


def _write_options(f):
    options = [
        click.option("--bias", "-b", type=float, default=0.75, show_default=True,
                     help="Neatness: 0 samples freely, higher is more regular."),
        click.option("--seed", type=int, default=None, help="Same seed, same handwriting."),
        click.option("--width", "-w", type=int, default=None, help="Wrap lines at this many characters [default: 50]."),
        click.option("--align", type=click.Choice(["left", "center", "right"]), default="left", show_default=True),
        click.option("--line-spacing", type=float, default=1.0, show_default=True),
        click.option("--weights", type=click.Path(dir_okay=False), default=None,
                     help="Exported weights (.safetensors) instead of the bundled model."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _render_options(f):
    options = [
        click.option("--color", default="black", show_default=True, help="Ink colour (any SVG colour)."),
        click.option("--stroke-width", type=float, default=2.0, show_default=True),
        click.option("--background", default="white", show_default=True, help='"none" for transparent.'),
        click.option("--dpi", type=float, default=150.0, show_default=True, help="PNG resolution."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _writer(weights):
    from .weights import WeightsError
    from .writer import Writer
    try:
        return Writer(weights)
    except WeightsError as e:
        _fail(str(e))


def _render_kwargs(ext, color, stroke_width, background, dpi):
    kw = {"color": color, "stroke_width": stroke_width, "background": None if background == "none" else background}
    if ext == ".png":
        kw["dpi"] = dpi
    return kw


def _check_output(path: Path):
    from .handwriting import FORMATS
    if path.suffix.lower().lstrip(".") not in FORMATS:
        _fail(f"{path}: unknown output format {path.suffix!r}; use " + ", ".join("." + f for f in FORMATS))
    if not path.parent.is_dir():
        _fail(f"{path}: the folder {path.parent} does not exist")


@main.command()
@click.argument("text", required=False)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file: .png, .svg, .pdf or .json (strokes).")
@_write_options
@_render_options
def write(text, output, bias, seed, width, align, line_spacing, weights, color, stroke_width, background, dpi):
    """Write TEXT (or standard input when TEXT is '-' or missing) to a file."""
    if text is None or text == "-":
        text = click.get_text_stream("stdin").read()
    _check_output(output)
    writer = _writer(weights)
    from .layout import DEFAULT_WIDTH
    try:
        hw = writer.write(text, bias=bias, seed=seed, width=width or DEFAULT_WIDTH, align=align,
                          line_spacing=line_spacing)
    except ValueError as e:
        _fail(str(e))
    try:
        hw.save(output, **_render_kwargs(output.suffix.lower(), color, stroke_width, background, dpi))
    except (OSError, ValueError) as e:
        _fail(str(e), 1)
    failed = hw.info.get("failed_lines", 0)
    if failed:
        click.echo(f"warning: {failed} line(s) still looked wrong after retries", err=True)
    click.echo(f"wrote {output}")


@main.command()
@click.argument("input_file", type=click.File("r", encoding="utf-8"))
@click.option("--out-dir", "-d", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf", "json"]), default="png", show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True, help="Lines sampled together.")
@_write_options
@_render_options
def batch(input_file, out_dir, fmt, batch_size, bias, seed, width, align, line_spacing, weights,
          color, stroke_width, background, dpi):
    """Write one file per non-empty line of INPUT_FILE, plus labels.tsv (file<TAB>text).

    Made for generating synthetic training data for handwriting recognisers.
    """
    texts = [ln.rstrip("\n") for ln in input_file if ln.strip()]
    if not texts:
        _fail("the input file has no non-empty lines")
    writer = _writer(weights)
    for n, t in enumerate(texts, 1):
        try:
            writer.prepare(t)
        except ValueError as e:
            _fail(f"line {n}: {e}")
    out_dir.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    from .dataset import atomic_write_bytes
    from .layout import DEFAULT_WIDTH
    labels = []
    digits = max(4, len(str(len(texts))))
    with tqdm(total=len(texts), desc="writing", unit="line") as bar:
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            docs = writer.write_many(chunk, bias=bias, seed=None if seed is None else seed + start,
                                     width=width or DEFAULT_WIDTH, align=align, line_spacing=line_spacing)
            for i, (t, hw) in enumerate(zip(chunk, docs), start):
                name = f"{i + 1:0{digits}d}.{fmt}"
                hw.save(out_dir / name, **_render_kwargs("." + fmt, color, stroke_width, background, dpi))
                labels.append(f"{name}\t{t}\n")
            bar.update(len(chunk))
    atomic_write_bytes(out_dir / "labels.tsv", "".join(labels).encode("utf-8"))
    click.echo(f"wrote {len(texts)} files and labels.tsv to {out_dir}")


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
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--downsample", type=int, default=2, show_default=True, help="Keep every N-th pen point.")
@click.option("--checkpoint-minutes", type=float, default=5.0, show_default=True)
@click.option("--hidden", type=int, default=400, show_default=True, help="Cells per LSTM layer.")
@click.option("--no-bf16", is_flag=True, help="Train in fp32 (slower on CPU).")
@click.option("--no-samples", is_flag=True, help="Do not draw sample PNGs after each epoch.")
@click.option("--threads", type=int, default=None, help="CPU threads (default: all cores).")
def train(data, out, epochs, max_steps, batch_size, lr, resume, seed, downsample, checkpoint_minutes,
          hidden, no_bf16, no_samples, threads):
    """Train the synthesis network on IAM-OnDB (resumable; Ctrl-C saves a checkpoint)."""
    from .iam import DatasetError
    from .train import TrainConfig
    from .train import train as run_training
    model_cfg = None
    if hidden != 400:
        from .model import ModelConfig
        model_cfg = ModelConfig(hidden=hidden, alphabet_size=0)  # alphabet size filled in by train
    cfg = TrainConfig(data=str(data), out=str(out), epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                      lr=lr, resume=resume, seed=seed, downsample=downsample,
                      checkpoint_minutes=checkpoint_minutes, bf16=not no_bf16, samples=not no_samples,
                      threads=threads, model=model_cfg)
    try:
        state = run_training(cfg)
    except DatasetError as e:
        _fail(str(e))
    click.echo(f"stopped at epoch {state['epoch']}, step {state['step']}; run folder {out}")


@main.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Weights file to write (.safetensors).")
def export(checkpoint, output):
    """Export a training checkpoint (best.pt or checkpoint.pt) as fp16 inference weights."""
    from .weights import WeightsError, export_checkpoint
    try:
        digest = export_checkpoint(checkpoint, output)
    except WeightsError as e:
        _fail(str(e))
    click.echo(f"wrote {output} (sha256 {digest})")


if __name__ == "__main__":
    main()
