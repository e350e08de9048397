"""`handwrite serve`: start the local web page (the front end in `handwrite.server`)."""
from __future__ import annotations

import click

from ..choices import PRECISIONS
from .common import EXIT_FAILED, fail, load_writer, main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address lets other machines write.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Exported weights (.safetensors) instead of the bundled model.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True)
def serve(host, port, open_browser, weights, precision):
    """Serve a web page that writes as you watch, in a preset or your own hand (docs/serve.md)."""
    try:
        from ..server import create_app, is_loopback, run     # the `serve` extra: Starlette, uvicorn
    except ImportError as e:
        fail(f"handwrite serve needs the serve extra ({e.name} is missing): "
             "pip install 'handwrite-synthesis[serve]'", EXIT_FAILED)
    if not is_loopback(host):
        click.echo(f"warning: listening on {host}: other machines can reach this server and use its CPU; "
                   "it has no login. Use --host 127.0.0.1 to keep it to this machine.", err=True)
    writer = load_writer(weights, precision)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"

    def started():
        click.echo(f"handwrite is serving on {url}  (Ctrl+C stops it)")
        if open_browser:
            import webbrowser
            webbrowser.open(url)
    try:
        run(create_app(writer), host=host, port=port, on_start=started)
    except OSError as e:
        fail(str(e), EXIT_FAILED)
