"""The `handwrite` command group and what its commands share: options, errors, the writer.

Commands only parse options and call the library; the rules of writing live in
`handwrite.request` and `handwrite.outputs`.  Heavy imports (torch) happen inside the
commands, so that `handwrite --help` answers at once.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..choices import ALIGNMENTS, DEFAULT_STYLE, DEFAULT_WIDTH, FREE_STYLE, PRECISIONS

EXIT_BAD_INPUT = 2      # the user's input cannot be used
EXIT_FAILED = 1         # good input, but writing the result failed


class DefaultGroup(click.Group):
    """A group whose unknown first word is the TEXT of the default `write` command."""

    default_command = "write"

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


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


def fail(message: str, code: int = EXIT_BAD_INPUT):
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def checked(call, code: int = EXIT_BAD_INPUT, errors=(OSError, ValueError)):
    """call(), or exit with `code` and the message of a library error (settings it names
    shown as this command line's options)."""
    try:
        return call()
    except errors as e:
        from ..options import SettingError
        fail(e.shown_with(cli_name) if isinstance(e, SettingError) else str(e), code)


def cli_name(setting: str) -> str:
    """How the command line spells a setting of the library: style_text -> --style-text,
    options.retries -> --option retries=..."""
    from ..options import as_flag
    if setting.startswith("options."):
        return f"--option {setting.split('.', 1)[1]}=..."
    return as_flag(setting)


def _options(*options):
    def decorate(f):
        for opt in reversed(options):
            f = opt(f)
        return f
    return decorate


write_options = _options(
    click.option("--bias", "-b", type=float, default=0.75, show_default=True,
                 help="Neatness: 0 samples freely, higher is more regular."),
    click.option("--seed", type=int, default=None, help="Same seed, same handwriting."),
    click.option("--width", "-w", type=int, default=None, help=f"Wrap lines at this many characters [default: {DEFAULT_WIDTH}]."),
    click.option("--align", type=click.Choice(ALIGNMENTS), default="left", show_default=True),
    click.option("--line-spacing", type=float, default=1.0, show_default=True),
    click.option("--weights", type=click.Path(dir_okay=False), default=None,
                 help="Exported weights (.safetensors) instead of the bundled model."),
    click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True,
                 help="Matrix products: auto picks by the CPU's kind (int8 or bf16 where it has the "
                      "instructions, else fp32, with fp16 weights for batches); fastest adds onnx-int8 "
                      "for single lines; fp32 makes what a seed writes independent of the CPU (docs/speed.md)."),
    click.option("--no-check", is_flag=True, default=None,
                 help="Do not check each word with the reader as it is written (faster; some words may "
                      "come out misspelt). The same as --option check_words=false."),
    click.option("--option", "option", multiple=True, metavar="NAME=VALUE",
                 help="A writer option (handwrite.WriterOptions, docs/api.md), e.g. check_capitals=false "
                      "or retries=1; repeat for several."),
)

style_options = _options(
    click.option("--style", default=None,
                 help=f"A preset hand, by index or name (list them: handwrite styles) [default: {DEFAULT_STYLE}]; "
                      f"'{FREE_STYLE}' for no preset."),
    click.option("--style-file", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
                 help="Write in the hand of these strokes: handwrite .json, IAM-OnDB .xml or .inkml, or a hand file "
                      "(.hand, from handwrite learn). "
                      "Repeat it for several lines of one hand (imitated better)."),
    click.option("--style-text", multiple=True,
                 help="What the --style-file strokes say, if the file does not (one per --style-file, in order)."),
)

render_options = _options(
    click.option("--color", default="black", show_default=True, help="Ink colour (any SVG colour)."),
    click.option("--stroke-width", type=float, default=2.0, show_default=True),
    click.option("--background", default="white", show_default=True, help='"none" for transparent.'),
    click.option("--dpi", type=float, default=150.0, show_default=True, help="PNG resolution."),
)


def read_text(text):
    """TEXT, or standard input when it is '-' or missing."""
    return sys.stdin.read() if text is None or text == "-" else text


def make_request(text: str, option=(), no_check=None, **settings):
    """The WriteRequest of the parsed options; options left unset keep the library's defaults.
    option: the --option NAME=VALUE texts, the request's writer options; no_check: --no-check."""
    from ..request import WriteRequest
    settings = {k: v for k, v in settings.items() if v is not None}
    if option or no_check:
        settings["options"] = {**checked(lambda: writer_options(option)), **({"check_words": False} if no_check else {})}
    return checked(lambda: WriteRequest(text=text, **settings))


def writer_options(texts) -> dict:
    """{name: value} of --option NAME=VALUE texts (a SettingError for a bad one)."""
    from ..options import parse_assignments
    return parse_assignments(texts)


def load_writer(weights, precision="auto"):
    from ..weights import WeightsError
    from ..writer import Writer
    return checked(lambda: Writer(weights, precision=precision), errors=(WeightsError,))


def write_text(request, weights, precision):
    """Run a request on a freshly loaded writer: its Handwriting (exit 2 for bad input)."""
    writer = load_writer(weights, precision)
    return checked(lambda: request.run(writer))
