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
        click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
                     help="Matrix products: auto uses bf16 for several lines at once where the CPU is faster "
                          "at it; fp32 makes what a seed writes independent of the CPU."),
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


def _style_options(f):
    options = [
        click.option("--style", default=None,
                     help="A preset hand, by index or name (list them: handwrite styles) [default: 0]; "
                          "'free' for no preset."),
        click.option("--style-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write in the hand of these strokes: handwrite .json, IAM-OnDB .xml or .inkml."),
        click.option("--style-text", default=None, help="What the --style-file strokes say, if the file does not."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _style(writer, style, style_file, style_text):
    """The Style the options ask for, checked against the model (None: the default)."""
    if style is not None and style_file is not None:
        _fail("give --style or --style-file, not both")
    if style_text is not None and style_file is None:
        _fail("--style-text needs --style-file (it is the text of that file's strokes)")
    if style is None and style_file is None:
        return None
    from .writer import FREE_STYLE
    if style is not None and style.strip().lower() == FREE_STYLE:
        return FREE_STYLE
    from .styles import Style, resolve_style
    try:
        chosen = Style.from_file(style_file, text=style_text) if style_file is not None else resolve_style(style)
        chosen.primer(writer.alphabet, writer.normalizer)
    except (OSError, ValueError) as e:
        _fail(str(e))
    return chosen


def _writer(weights, precision="auto"):
    from .weights import WeightsError
    from .writer import Writer
    try:
        return Writer(weights, precision=precision)
    except WeightsError as e:
        _fail(str(e))


def _render_kwargs(ext, color, stroke_width, background, dpi):
    if ext == ".gcode":
        return {}       # no colours on a plotter; `handwrite plotter` sets the machine up
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
              help="Output file: .png, .svg, .pdf, .json (strokes) or .gcode (pen plotter).")
@click.option("--animate", is_flag=True, help="SVG only: draw the strokes in pen order when opened in a browser.")
@click.option("--page", default=None, help="Put the writing on a real page: A4, A5, letter, ... or WxH in mm.")
@click.option("--page-margin", type=float, default=20.0, show_default=True, help="Page margin in mm (with --page).")
@_write_options
@_style_options
@_render_options
def write(text, output, bias, seed, width, align, line_spacing, weights, precision, style, style_file, style_text,
          color, stroke_width, background, dpi, animate=False, page=None, page_margin=20.0):
    """Write TEXT (or standard input when TEXT is '-' or missing) to a file."""
    if text is None or text == "-":
        text = sys.stdin.read()
    _check_output(output)
    if animate and output.suffix.lower() != ".svg":
        _fail(f"{output}: --animate needs an .svg output file")
    writer = _writer(weights, precision)
    chosen_style = _style(writer, style, style_file, style_text)
    from .layout import DEFAULT_WIDTH
    try:
        hw = writer.write(text, bias=bias, seed=seed, width=width or DEFAULT_WIDTH, align=align,
                          line_spacing=line_spacing, style=chosen_style)
    except ValueError as e:
        _fail(str(e))
    try:
        options = _render_kwargs(output.suffix.lower(), color, stroke_width, background, dpi)
        if animate:
            options["animate"] = True
        if page is not None and output.suffix.lower() in (".svg", ".png", ".pdf"):
            from .layout import page_size_mm
            page_size_mm(page)                         # a bad page name is bad input (exit 2)
            options.update(page=page, page_margin=page_margin)
    except ValueError as e:
        _fail(str(e))
    try:
        hw.save(output, **options)
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
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Lines sampled together (more is faster per line, up to ~64).")
@_write_options
@_style_options
@_render_options
def batch(input_file, out_dir, fmt, batch_size, bias, seed, width, align, line_spacing, weights, precision,
          style, style_file, style_text, color, stroke_width, background, dpi):
    """Write one file per non-empty line of INPUT_FILE, plus labels.tsv (file<TAB>text).

    Made for generating synthetic training data for handwriting recognisers.
    """
    texts = [ln.rstrip("\n") for ln in input_file if ln.strip()]
    if not texts:
        _fail("the input file has no non-empty lines")
    writer = _writer(weights, precision)
    chosen_style = _style(writer, style, style_file, style_text)
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
                                     width=width or DEFAULT_WIDTH, align=align, line_spacing=line_spacing,
                                     style=chosen_style)
            for i, (t, hw) in enumerate(zip(chunk, docs), start):
                name = f"{i + 1:0{digits}d}.{fmt}"
                hw.save(out_dir / name, **_render_kwargs("." + fmt, color, stroke_width, background, dpi))
                labels.append(f"{name}\t{t}\n")
            bar.update(len(chunk))
    atomic_write_bytes(out_dir / "labels.tsv", "".join(labels).encode("utf-8"))
    click.echo(f"wrote {len(texts)} files and labels.tsv to {out_dir}")


@main.command()
def styles():
    """List the preset hands, for --style INDEX or --style NAME."""
    from .styles import presets
    found = presets()
    if not found:
        _fail("no preset styles are installed", 1)
    for i, s in enumerate(found):
        click.echo(f"{i:>3}  {s.name:<10}  {s.text}")
    click.echo("Your own hand: --style-file strokes.inkml --style-text 'what it says' (see docs/styles.md)")


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
@click.option("--hidden", type=int, default=400, show_default=True, help="Cells per LSTM layer.")
@click.option("--no-bf16", is_flag=True, help="Train in fp32 (slower on CPU).")
@click.option("--no-samples", is_flag=True, help="Do not draw sample PNGs after each epoch.")
@click.option("--keep-epochs", is_flag=True,
              help="Export every epoch's weights to RUN/epochs/ (to average the last few: tools/average_weights.py).")
@click.option("--augment", type=click.FloatRange(0.0, 0.5), default=0.0, show_default=True,
              help="Reshape training lines at random (size, width, slant) by up to this fraction, e.g. 0.1: "
                   "a regulariser against learning the training writers by heart.")
@click.option("--capital-repeats", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Show lines that hold capital letters this many times per epoch (capitals are rare in IAM-OnDB).")
@click.option("--threads", type=int, default=None, help="CPU threads (default: all cores).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto: CUDA when present.")
def train(data, out, epochs, max_steps, batch_size, lr, resume, seed, downsample, checkpoint_minutes,
          hidden, no_bf16, no_samples, keep_epochs, augment, capital_repeats, threads, device, init_weights=None):
    """Train the synthesis network on IAM-OnDB (resumable; Ctrl-C saves a checkpoint).

    Runs unchanged under torchrun for several processes, GPUs or machines; --batch-size
    is the global batch, split across them.  See docs/training.md.
    """
    from .train import TrainConfig
    from .train import train as run_training
    model_cfg = None
    if hidden != 400:
        from .model import ModelConfig
        model_cfg = ModelConfig(hidden=hidden, alphabet_size=0)  # alphabet size filled in by train
    cfg = TrainConfig(data=str(data), out=str(out), epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                      lr=lr, resume=resume, seed=seed, downsample=downsample,
                      checkpoint_minutes=checkpoint_minutes, bf16=not no_bf16, samples=not no_samples,
                      keep_epochs=keep_epochs, augment=augment, capital_repeats=capital_repeats, threads=threads, device=device, model=model_cfg, init_weights=init_weights)
    if init_weights == "bundled":
        from .weights import BUNDLED_WEIGHTS
        cfg.init_weights = str(BUNDLED_WEIGHTS)
    try:
        state = run_training(cfg)
    except ValueError as e:   # DatasetError, WeightsError, a device that is not there
        _fail(str(e))
    if state.get("rank", 0) == 0:   # under torchrun every rank returns here; one report is enough
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


@main.command("eval")
@click.option("--data", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder in the IAM-OnDB layout (lineStrokes/, ascii/).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Exported weights (.safetensors) or a checkpoint (.pt) instead of the bundled model.")
@click.option("--bias", "-b", type=float, default=0.75, show_default=True, help="Sampling bias of the written lines.")
@click.option("--limit", type=int, default=None, help="Measure this many lines, drawn at random (see --seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Picks the lines and seeds the writing.")
@click.option("--split", type=click.Choice(["auto", "val", "all"]), default="auto", show_default=True,
              help="val: training's held-out writers; all: every line; auto: val on the training data, else all.")
@click.option("--no-ocr", is_flag=True, help="Measure the NLL only: no writing, no Tesseract.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_command(data, weights, bias, limit, seed, split, no_ocr, as_json):
    """Measure a model: NLL of real lines, Tesseract legibility of its writing, failed lines.

    Legibility needs Tesseract (apt-get install tesseract-ocr; pip install pytesseract).
    Without it the NLL is still measured and the exit status is 1.
    """
    import json

    from .evaluate import OCRUnavailableError, check_ocr, evaluate, format_report
    if not no_ocr:
        try:
            check_ocr()
        except OCRUnavailableError as e:
            click.echo(f"Error: {e}; measuring the NLL and failed lines only", err=True)
    try:
        result = evaluate(data, weights, bias=bias, limit=limit, seed=seed, split=split, legibility=not no_ocr)
    except (ValueError, OSError) as e:   # DatasetError, WeightsError, a missing folder or file
        _fail(str(e))
    click.echo(json.dumps(result, indent=1) if as_json else format_report(result))
    if result["ocr_error"]:
        sys.exit(1)


def _read_text(text):
    return click.get_text_stream("stdin").read() if text is None or text == "-" else text


def _write_for_plot(text, bias, seed, width, align, line_spacing, weights, precision, style, style_file, style_text):
    """Shared by `plot` and `plotter`: the Writer and its Handwriting of TEXT."""
    writer = _writer(weights, precision)
    chosen_style = _style(writer, style, style_file, style_text)
    from .layout import DEFAULT_WIDTH
    try:
        return writer.write(text, bias=bias, seed=seed, width=width or DEFAULT_WIDTH, align=align,
                            line_spacing=line_spacing, style=chosen_style)
    except ValueError as e:
        _fail(str(e))


@main.command()
@click.argument("text", required=False)
@click.option("--attention", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Heatmap of the attention window: which character the model reads at each pen step.")
@click.option("--density", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The model's predicted densities of the next pen point, along the writing.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the handwriting itself (any `write` format).")
@click.option("--dpi", type=float, default=150.0, show_default=True, help="Figure resolution.")
@_write_options
@_style_options
def plot(text, attention, density, output, dpi, bias, seed, width, align, line_spacing, weights, precision,
         style, style_file, style_text):
    """Write TEXT and draw what the model did while writing it (.png, .svg or .pdf figures).

    \b
    Example:
      handwrite plot "Hello world" --attention attention.png --density density.png --seed 1
    """
    from .plots import FIGURE_FORMATS
    if attention is None and density is None:
        _fail("nothing to draw: give --attention FILE and/or --density FILE")
    for path in (attention, density):
        if path is not None:
            if path.suffix.lower().lstrip(".") not in FIGURE_FORMATS:
                _fail(f"{path}: unknown figure format {path.suffix!r}; use "
                      + ", ".join("." + f for f in FIGURE_FORMATS))
            if not path.parent.is_dir():
                _fail(f"{path}: the folder {path.parent} does not exist")
    if output is not None:
        _check_output(output)
    hw = _write_for_plot(_read_text(text), bias, seed, width, align, line_spacing, weights, precision,
                         style, style_file, style_text)
    try:
        if output is not None:
            hw.save(output)
            click.echo(f"wrote {output}")
        if attention is not None:
            hw.plot_attention(attention, dpi=dpi)
            click.echo(f"wrote {attention}")
        if density is not None:
            hw.plot_density(density, dpi=dpi)
            click.echo(f"wrote {density}")
    except (OSError, ValueError) as e:
        _fail(str(e), 1)


PLOTTER_ORIGINS = ["bottom-left", "top-left", "bottom-right", "top-right", "center"]   # plotter.ORIGINS


@main.command()
@click.argument("text", required=False)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="G-code (.gcode, .nc, .ngc) or a single-stroke SVG page (.svg).")
@click.option("--page", default="A4", show_default=True,
              help="A3, A4, A5, A6, letter, legal, tabloid, or WIDTHxHEIGHT in mm.")
@click.option("--landscape", is_flag=True, help="Turn the page sideways.")
@click.option("--margin", type=float, default=15.0, show_default=True, help="Millimetres kept empty at each edge.")
@click.option("--scale", type=float, default=None,
              help="Millimetres per page unit (0.2646 is 96 dpi) [default: fit inside the margins].")
@click.option("--pen-width", type=float, default=0.5, show_default=True, help="SVG: line width in mm.")
@click.option("--draw-feed", type=float, default=1500.0, show_default=True, help="mm/min with the pen down.")
@click.option("--travel-feed", type=float, default=None, help="mm/min with the pen up [default: rapid G0].")
@click.option("--z-up", type=float, default=5.0, show_default=True)
@click.option("--z-down", type=float, default=0.0, show_default=True)
@click.option("--pen-up", default=None, help='Pen-lift command instead of a Z move, e.g. "M5".')
@click.option("--pen-down", default=None, help='Pen-drop command instead of a Z move, e.g. "M3 S1000".')
@click.option("--pen-delay", type=float, default=0.0, show_default=True, help="Seconds to wait after each pen move.")
@click.option("--origin", type=click.Choice(PLOTTER_ORIGINS), default="bottom-left", show_default=True,
              help="The page corner at the machine's (0, 0); axes point into the page.")
@click.option("--swap-xy", is_flag=True, help="Exchange the X and Y axes.")
@click.option("--invert-x", is_flag=True, help="Negate X (machines counting negative from home).")
@click.option("--invert-y", is_flag=True, help="Negate Y.")
@_write_options
@_style_options
def plotter(text, output, page, landscape, margin, scale, pen_width, draw_feed, travel_feed, z_up, z_down,
            pen_up, pen_down, pen_delay, origin, swap_xy, invert_x, invert_y,
            bias, seed, width, align, line_spacing, weights, precision, style, style_file, style_text):
    """Write TEXT for a pen plotter: G-code, or an SVG page in millimetres.

    \b
    Examples:
      handwrite plotter "Dear Ada," -o letter.gcode --page A5 --landscape
      handwrite plotter "Dear Ada," -o letter.gcode --pen-up M5 --pen-down "M3 S1000" --pen-delay 0.2
      handwrite plotter "Dear Ada," -o letter.svg --page letter   (then: vpype read letter.svg ...)
    """
    from .plotter import GcodeProfile, page_size_mm
    ext = output.suffix.lower()
    if ext not in (".gcode", ".nc", ".ngc", ".svg"):
        _fail(f"{output}: unknown plotter format {output.suffix!r}; use .gcode, .nc, .ngc or .svg")
    if not output.parent.is_dir():
        _fail(f"{output}: the folder {output.parent} does not exist")
    try:
        page_size_mm(page)
        profile = GcodeProfile(page_size=page, landscape=landscape, margin=margin, scale=scale,
                               draw_feed=draw_feed, travel_feed=travel_feed, z_up=z_up, z_down=z_down,
                               pen_up=pen_up, pen_down=pen_down, pen_delay=pen_delay, origin=origin,
                               swap_xy=swap_xy, invert_x=invert_x, invert_y=invert_y)
    except ValueError as e:
        _fail(str(e))
    hw = _write_for_plot(_read_text(text), bias, seed, width, align, line_spacing, weights, precision,
                         style, style_file, style_text)
    try:
        if ext == ".svg":
            hw.to_plotter_svg(output, page_size=page, landscape=landscape, margin=margin, scale=scale,
                              pen_width=pen_width)
        else:
            hw.to_gcode(output, profile=profile)
    except (OSError, ValueError) as e:
        _fail(str(e), 1)
    click.echo(f"wrote {output}")


if __name__ == "__main__":
    main()
