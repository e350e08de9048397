"""`handwrite learn`: a hand learned from a few lines of someone's writing, to a hand file."""
from __future__ import annotations

from pathlib import Path

import click

from .common import EXIT_FAILED, checked, fail, load_writer, main


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--text", "texts", multiple=True,
              help="What a file's strokes say, if it does not (one per file, in order).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The hand file to write (e.g. me.hand).")
@click.option("--name", default=None, help="The hand's name [default: the first file's].")
@click.option("--seconds", type=click.FloatRange(min=1), default=None, help="Stop learning after about this long.")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Exported weights (.safetensors) instead of the bundled model.")
def learn(files, texts, output, name, seconds, weights):
    """Learn a hand from 1 to 10 lines of someone's writing and save it as a hand file.

    FILES: handwrite .json (several lines each, texts included), IAM-OnDB .xml or .inkml.
    Write with it: handwrite "Hello" --style-file me.hand -o hello.png
    """
    from ..styles import Style
    if not output.suffix:
        output = output.with_suffix(".hand")
    style = checked(lambda: Style.from_files(files, texts=list(texts) or None, name=name))
    writer = load_writer(weights)
    learned = _learn_with_bar(writer, style, seconds)
    checked(lambda: learned.save(output), code=EXIT_FAILED, errors=(OSError,))
    s = learned.info["learned"]
    click.echo(f"learned {len(learned.lines)} line(s) in {s['seconds']:.0f} s ({s['steps']} steps, NLL per point "
               f"{s['nll_before']:.2f} -> {s['nll_after']:.2f}); wrote {output} ({output.stat().st_size // 1024} KB)")


def _learn_with_bar(writer, style, seconds):
    """writer.learn with a progress bar; Ctrl-C stops it and writes nothing."""
    from tqdm import tqdm
    bar = tqdm(desc="learning the hand", unit="step", leave=False)

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)
    try:
        return checked(lambda: writer.learn(style, seconds=seconds, progress=progress))
    except KeyboardInterrupt:
        bar.close()
        fail("interrupted; nothing written", EXIT_FAILED)
    finally:
        bar.close()
