"""`handwrite write` (the default command), `handwrite batch` and `handwrite styles`."""
from __future__ import annotations

from pathlib import Path

import click

from ..choices import DEFAULT_SIZE_MM, PAPERS
from ..outputs import FORMATS, SAVE_FORMATS, check_output, options_for, save_files
from .common import (EXIT_FAILED, checked, fail, load_writer, main, make_request, read_text, render_options,
                     style_options, write_options)


@main.command()
@click.argument("text", required=False)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file: .png, .svg, .pdf, .json (strokes), .inkml (ink) or .gcode (pen plotter; "
                   "also .nc, .ngc).")
@click.option("--animate", is_flag=True, help="SVG only: draw the strokes in pen order when opened in a browser.")
@click.option("--page", default=None,
              help="Write on pages of paper, as many as the text needs: A4, A5, letter, ... or WxH in mm. "
                   "A PDF holds every page; an SVG or PNG of several pages is a file per page (out-1.svg, ...).")
@click.option("--page-margin", type=float, default=20.0, show_default=True, help="Page margin in mm (with --page).")
@click.option("--size", type=float, default=None,
              help=f"Body height of the writing (the height of an x) in mm [default: {DEFAULT_SIZE_MM:g} on a page, "
                   "else the model's natural size].")
@click.option("--paper", type=click.Choice(PAPERS), default="plain", show_default=True,
              help="What the page shows under the ink (with --page); lined: the writing sits on the rules.")
@click.option("--page-number", type=click.IntRange(min=1), default=None,
              help="Write only this page (with --page).")
@write_options
@style_options
@render_options
def write(text, output, weights, precision, color, stroke_width, background, dpi, animate=False, **settings):
    """Write TEXT (or standard input when TEXT is '-' or missing) to a file."""
    text = read_text(text)
    fmt = checked(lambda: check_output(output))
    request = make_request(text, **settings)
    drawing = dict(color=color, stroke_width=stroke_width, background=background, dpi=dpi, animate=animate,
                   **request.page_options())
    options = checked(lambda: options_for(fmt, output, drawing))
    writer = load_writer(weights, precision)
    hw = checked(lambda: request.run(writer))
    # a ValueError here is input the writing cannot honour (a page it does not fill): exit 2
    paths = checked(lambda: checked(lambda: save_files(hw, output, **options), EXIT_FAILED, errors=(OSError,)))
    failed = hw.info.get("failed_lines", 0)
    if failed:
        click.echo(f"warning: {failed} line(s) still looked wrong after retries", err=True)
    misread = hw.info.get("misread_words") or []
    if misread:
        click.echo(f"warning: the reader still reads {len(misread)} word(s) otherwise after every rewrite: "
                   f"{', '.join(misread)} (another --seed writes them anew)", err=True)
    click.echo("wrote " + ", ".join(str(p) for p in paths))


@main.command()
@click.argument("input_file", type=click.File("r", encoding="utf-8"))
@click.option("--out-dir", "-d", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(SAVE_FORMATS), default="png", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Lines sampled together (more is faster per line, up to ~64).")
@write_options
@style_options
@render_options
def batch(input_file, out_dir, fmt, batch_size, weights, precision, color, stroke_width, background, dpi,
          **settings):
    """Write one file per non-empty line of INPUT_FILE, plus labels.tsv (file<TAB>text).

    Made for generating synthetic training data for handwriting recognisers.
    """
    from tqdm import tqdm

    from ..batch import file_names, read_lines, save_chunks
    from ..request import run_batch
    texts = read_lines(input_file.read())
    if not texts:
        fail("the input file has no non-empty lines")
    requests = [make_request(t, **settings) for t in texts]
    drawing = dict(color=color, stroke_width=stroke_width, background=background, dpi=dpi)
    options = checked(lambda: options_for(FORMATS[fmt], out_dir, drawing))
    writer = load_writer(weights, precision)
    chunks = checked(lambda: run_batch(writer, requests, batch_size))      # checks every line first
    names, misread = iter(file_names(len(texts), fmt)), []   # misread: files whose labels may not match

    def noted(chunks):
        for chunk in chunks:
            misread.extend(name for (_, hw), name in zip(chunk, names) if hw.info.get("misread_words"))
            yield chunk

    with tqdm(total=len(texts), desc="writing", unit="line") as bar:
        checked(lambda: save_chunks(noted(chunks), len(texts), out_dir, fmt, options, bar.update), EXIT_FAILED)
    if misread:
        click.echo(f"warning: {len(misread)} of {len(texts)} line(s) hold words the reader still reads otherwise "
                   f"after every rewrite, so their labels may not match: {', '.join(misread[:10])}"
                   + (", ..." if len(misread) > 10 else ""), err=True)
    click.echo(f"wrote {len(texts)} files and labels.tsv to {out_dir}")


@main.command()
def styles():
    """List the preset hands, for --style INDEX or --style NAME."""
    from ..styles import presets
    found = presets()
    if not found:
        fail("no preset styles are installed", EXIT_FAILED)
    for i, s in enumerate(found):
        click.echo(f"{i:>3}  {s.name:<10}  {s.text}")
    click.echo("Your own hand: --style-file strokes.inkml --style-text 'what it says' (see docs/styles.md)")

