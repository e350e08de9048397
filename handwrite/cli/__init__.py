"""The command line front end: `handwrite TEXT -o out.png` and subcommands (docs/cli.md).

Each command parses its options, builds library objects (a `WriteRequest`, a
`TrainConfig`) and turns library errors into exit codes: 2 for bad input, 1 when
writing a result failed.  No rule of writing lives here.
"""
from . import dataset, learn, plot, read, serve, train, write  # noqa: F401  (each module adds its commands to `main`)
from .common import main
from .plot import PLOTTER_ORIGINS  # noqa: F401

__all__ = ["main"]
