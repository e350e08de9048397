"""`handwrite read` and `handwrite train-reader`: the reader's side of the CLI."""
from __future__ import annotations

from pathlib import Path

import click

from .common import checked, main


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reader", "reader_weights", type=click.Path(dir_okay=False), default=None,
              help="Reader weights (.safetensors) instead of the bundled reader.")
@click.option("--line", type=int, default=None, help="Read only this line of a file of several (from 0).")
def read(files, reader_weights, line):
    """Print the text of handwritten lines: our JSON, InkML or IAM-OnDB stroke XML.

    One line of output per line of handwriting in each file.
    """
    from ..reader import Reader, read_ink_file
    reader = Reader(reader_weights)
    for path in files:
        inks = checked(lambda: read_ink_file(path, line=line))
        for text in checked(lambda: reader.read_many(inks)):
            click.echo(text)


@main.command("train-reader")
@click.option("--data", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="IAM-OnDB folder (with lineStrokes/ and ascii/).")
@click.option("--out", default="runs/reader", show_default=True, type=click.Path(file_okay=False),
              help="Run folder: log.jsonl, checkpoint.pt (resumes from it), reader.safetensors (best so far).")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--max-steps", type=int, default=None, help="Stop after this many optimiser steps in all.")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--augment", type=click.FloatRange(0.0, 0.5), default=0.15, show_default=True,
              help="Change slant, width and size of training lines at random by up to this fraction.")
@click.option("--hidden", type=int, default=128, show_default=True, help="LSTM cells per direction.")
@click.option("--threads", type=int, default=None, help="CPU threads (default: all cores).")
def train_reader(data, out, hidden, **settings):
    """Train the reader on IAM-OnDB's training writers (resumable; Ctrl-C saves a checkpoint).

    Reports the character error rate on the held-out writers after every epoch.
    """
    from ..reader import ReaderConfig
    from ..training.train_reader import ReaderTrainConfig
    from ..training.train_reader import train_reader as run
    cfg = ReaderTrainConfig(data=str(data), out=str(out), model=ReaderConfig(hidden=hidden), **settings)
    try:
        result = checked(lambda: run(cfg), errors=(ValueError,))
    except KeyboardInterrupt:
        raise click.ClickException(f"interrupted; checkpoint saved in {out} (run again to resume)")
    click.echo(f"finished: {result}")
