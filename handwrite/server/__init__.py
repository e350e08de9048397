"""`handwrite serve`: a local web page over the library (docs/serve.md).

    from handwrite.server import create_app, run
    run(create_app(), host="127.0.0.1", port=8000)

Needs the `serve` extra (Starlette and uvicorn): pip install "handwrite-synthesis[serve]".
"""
from __future__ import annotations

import contextlib
import ipaddress
import threading
import time

from .app import MAX_TEXT, create_app

__all__ = ["create_app", "run", "background_server", "is_loopback", "MAX_TEXT"]


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _server(app, host: str, port: int):
    import uvicorn
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def run(app, host: str = "127.0.0.1", port: int = 8000, on_start=None) -> None:
    """Serve `app` until interrupted (Ctrl+C).  on_start(): called once the server listens."""
    server = _server(app, host, port)
    if on_start is not None:
        def wait():
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                on_start()
        threading.Thread(target=wait, daemon=True).start()
    try:
        server.run()
    except SystemExit:           # uvicorn exits when it cannot bind; it has logged why
        if server.started:
            raise
    if not server.started:
        raise OSError(f"could not listen on {host}:{port} (is the port in use, or the address not this machine's?)")


def _quietly(fn):
    try:
        fn()
    except SystemExit:           # uvicorn could not bind: background_server reports it
        pass


@contextlib.contextmanager
def background_server(app, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0):
    """Serve `app` on a thread while the block runs; yields its URL (port 0: a free port)."""
    server = _server(app, host, port)
    thread = threading.Thread(target=_quietly, args=(server.run,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise OSError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout)
