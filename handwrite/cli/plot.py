"""`handwrite plot` (figures of what the model did) and `handwrite plotter` (G-code, plotter SVG)."""
from __future__ import annotations

from pathlib import Path

import click

from ..choices import ORIGINS
from ..outputs import FIGURE_FORMATS, PLOTTER_FORMATS, check_output, save
from .common import EXIT_FAILED, checked, fail, main, make_request, read_text, style_options, write_options, \
    write_text


@main.command()
@click.argument("text", required=False)
@click.option("--attention", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Heatmap of the attention window: which character the model reads at each pen step.")
@click.option("--density", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The model's predicted densities of the next pen point, along the writing.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the handwriting itself (any `write` format).")
@click.option("--dpi", type=float, default=150.0, show_default=True, help="Figure resolution.")
@write_options
@style_options
def plot(text, attention, density, output, dpi, weights, precision, **settings):
    """Write TEXT and draw what the model did while writing it (.png, .svg or .pdf figures).

    \b
    Example:
      handwrite plot "Hello world" --attention attention.png --density density.png --seed 1
    """
    if attention is None and density is None:
        fail("nothing to draw: give --attention FILE and/or --density FILE")
    for path in (attention, density):
        if path is not None:
            checked(lambda: check_output(path, FIGURE_FORMATS, what="figure"))
    if output is not None:
        checked(lambda: check_output(output))
    hw = write_text(make_request(read_text(text), **settings), weights, precision)
    figures = [(output, hw.save), (attention, lambda p: hw.plot_attention(p, dpi=dpi)),
               (density, lambda p: hw.plot_density(p, dpi=dpi))]
    for path, draw in figures:
        if path is not None:
            checked(lambda: draw(path), EXIT_FAILED)
            click.echo(f"wrote {path}")


PLOTTER_ORIGINS = ORIGINS


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
@click.option("--origin", type=click.Choice(ORIGINS), default="bottom-left", show_default=True,
              help="The page corner at the machine's (0, 0); axes point into the page.")
@click.option("--swap-xy", is_flag=True, help="Exchange the X and Y axes.")
@click.option("--invert-x", is_flag=True, help="Negate X (machines counting negative from home).")
@click.option("--invert-y", is_flag=True, help="Negate Y.")
@write_options
@style_options
def plotter(text, output, page, landscape, margin, scale, pen_width, draw_feed, travel_feed, z_up, z_down,
            pen_up, pen_down, pen_delay, origin, swap_xy, invert_x, invert_y, weights, precision, **settings):
    """Write TEXT for a pen plotter: G-code, or an SVG page in millimetres.

    \b
    Examples:
      handwrite plotter "Dear Ada," -o letter.gcode --page A5 --landscape
      handwrite plotter "Dear Ada," -o letter.gcode --pen-up M5 --pen-down "M3 S1000" --pen-delay 0.2
      handwrite plotter "Dear Ada," -o letter.svg --page letter   (then: vpype read letter.svg ...)
    """
    from ..plotter import GcodeProfile
    fmt = checked(lambda: check_output(output, PLOTTER_FORMATS, what="plotter"))
    def make_profile():
        made = GcodeProfile(page_size=page, landscape=landscape, margin=margin, scale=scale, draw_feed=draw_feed,
                            travel_feed=travel_feed, z_up=z_up, z_down=z_down, pen_up=pen_up, pen_down=pen_down,
                            pen_delay=pen_delay, origin=origin, swap_xy=swap_xy, invert_x=invert_x,
                            invert_y=invert_y)
        made.page_mm              # a bad page is bad input, found before writing
        return made
    profile = checked(make_profile)
    hw = write_text(make_request(read_text(text), **settings), weights, precision)
    if fmt.name == "gcode":
        options = {"profile": profile}
    else:
        options = dict(page_size=page, landscape=landscape, margin=margin, scale=scale, pen_width=pen_width)
    checked(lambda: save(hw, output, PLOTTER_FORMATS, **options), EXIT_FAILED)
    click.echo(f"wrote {output}")
