"""The vpype plugin: `vpype handwrite "Dear Sam" linemerge write letter.svg` (docs/vpype.md).

A front end: it parses vpype's options (lengths in vpype's units: "3mm", "0.5in", ...),
builds a `WriteRequest`, writes with the library and hands the pen strokes to vpype as
lines.  vpype's unit is the CSS pixel (1/96 inch), the library's page unit, so points
go over unchanged.  With --page, each page of the writing goes on its own layer (the
target layer, then the next ones) and the document gets the page's size.

Installed by the `vpype` extra: `pip install "handwrite-synthesis[vpype]"`; vpype finds
the command through the `vpype.plugins` entry point.
"""
from __future__ import annotations

import click
import vpype as vp
import vpype_cli

from .choices import ALIGNMENTS, DEFAULT_SIZE_MM, FREE_STYLE

MM = 96 / 25.4         # vpype units (px) per mm


@click.command("handwrite")
@click.argument("text")
@click.option("-s", "--style", default=None, help=f"A preset hand, by index or name; '{FREE_STYLE}' for none.")
@click.option("--style-file", type=click.Path(dir_okay=False), multiple=True,
              help="Write in the hand of these strokes (handwrite .json, IAM-OnDB .xml, .inkml) or a learned "
                   "hand file (.hand, from handwrite learn).")
@click.option("--style-text", multiple=True, help="What the --style-file strokes say, if the file does not.")
@click.option("-b", "--bias", type=float, default=0.75, show_default=True, help="Neatness: 0 free, higher neater.")
@click.option("--seed", type=int, default=None, help="Same seed, same handwriting.")
@click.option("-w", "--width", type=int, default=None, help="Wrap lines at this many characters.")
@click.option("--align", type=click.Choice(ALIGNMENTS), default="left", show_default=True)
@click.option("--line-spacing", type=float, default=1.0, show_default=True)
@click.option("-p", "--page", type=vpype_cli.PageSizeType(), default=None,
              help="Flow the writing over pages of this size (a4, letter, 10x15cm, ...): a layer per page.")
@click.option("-m", "--margin", type=vpype_cli.LengthType(), default="20mm", show_default=True,
              help="Page margin (with --page).")
@click.option("--size", type=vpype_cli.LengthType(), default=None,
              help=f"Body height of the writing (the height of an x) [default: {DEFAULT_SIZE_MM:g}mm on a page, "
                   "else the model's natural size].")
@click.option("--page-number", type=click.IntRange(min=1), default=None, help="Only this page (with --page).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Exported weights (.safetensors) instead of the bundled model.")
@click.option("-l", "--layer", type=vpype_cli.LayerType(accept_new=True), default=None,
              help="Target layer (the first page's, with --page) or 'new'.")
@click.option("--option", "option", multiple=True, metavar="NAME=VALUE",
              help="A writer option (handwrite.WriterOptions), e.g. check_capitals=false; repeat for several.")
@vpype_cli.global_processor
def handwrite(document: vp.Document, text, style, style_file, style_text, bias, seed, width, align, line_spacing,
              page, margin, size, page_number, weights, layer, option) -> vp.Document:
    """Write TEXT as pen strokes (Graves' handwriting synthesis); "\\n" in TEXT starts a new line."""
    from .options import SettingError, parse_assignments
    from .request import WriteRequest
    from .writer import Writer

    page_name = None if page is None else f"{page[0] / MM:.4f}x{page[1] / MM:.4f}"
    try:
        options = parse_assignments(option)
        request = WriteRequest(text=text.replace("\\n", "\n"), bias=bias, seed=seed, width=width, align=align,
                               line_spacing=line_spacing, style=style, style_file=list(style_file) or None,
                               style_text=list(style_text) or None, page=page_name, page_margin=margin / MM,
                               size=None if size is None else size / MM, page_number=page_number,
                               options=options or None)
        writer = Writer(weights)
        drawings = request.drawings(request.run(writer))
    except ValueError as e:
        raise click.BadParameter(e.shown_with(_flag) if isinstance(e, SettingError) else str(e)) from None
    except OSError as e:
        raise click.ClickException(str(e)) from None
    first = vpype_cli.single_to_layer_id(layer, document)
    for k, drawing in enumerate(drawings):
        lines = vp.LineCollection([s[:, 0] + 1j * s[:, 1] for s in drawing.strokes])
        document.add(lines, first + k)
        if drawing.sheet is not None:
            document.layers[first + k].set_property(vp.METADATA_FIELD_NAME, f"page {drawing.sheet.number}")
    if page is not None:
        document.page_size = page
    return document


handwrite.help_group = "Plugins"

# settings whose flag here is not the setting's name as a flag (options.as_flag)
_FLAGS = {"page_margin": "--margin"}


def _flag(setting: str) -> str:
    """How this command spells a setting of the library."""
    from .options import as_flag
    if setting.startswith("options."):
        return f"--option {setting.split('.', 1)[1]}=..."
    return _FLAGS.get(setting, as_flag(setting))
