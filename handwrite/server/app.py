"""The HTTP front end of `handwrite serve` (docs/serve.md): a Starlette app over one `Writer`.

It only parses requests into library objects (`WriteRequest`, `Style`, `Handwriting`) and
library errors into HTTP answers: a ValueError is 422 with its message, a body too large
is 413, JSON that does not parse is 400, a full queue is 503 with Retry-After.  Writing
runs on a worker thread, one at a time (one model in memory); a client that goes away
stops its writing.  Nothing is written to disk: downloads are rendered in memory from
the strokes the client sends back.

Here: the routes.  `bodies`: reading requests and answering them; `jobs`: one writing
at a time.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..outputs import SAVE_FORMATS
# the limits and helpers are importable from here, as before they had modules of their own
from .bodies import (MAX_BODY, MAX_PRIMER_LINES, MAX_PRIMER_POINTS, MAX_RENDER_POINTS,  # noqa: F401
                     MAX_TEXT, RENDER_OPTIONS, STREAM_EVERY, WRITE_FIELDS, Prepared, Refused, bad_input,
                     parse_primer, prepare, preset_list, read_body, read_json, render_download, result,
                     writing_events)
from .jobs import RETRY_AFTER, WAITING, EventStream, Gate, Job, sse, watch_disconnect  # noqa: F401

STATIC = Path(__file__).parent / "static"
MIME = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf", "json": "application/json",
        "inkml": "application/inkml+xml", "gcode": "text/plain; charset=utf-8"}


class Endpoints:
    """The app's handlers over one gate and one writer (loaded on first use)."""

    def __init__(self, writer, gate: Gate, reader=None):
        self._writer, self.gate, self._reader = writer, gate, reader

    def writer(self):
        if self._writer is None:
            from ..writer import Writer
            self._writer = Writer()
        return self._writer

    def reader(self):
        if self._reader is None:
            from ..reader import Reader
            self._reader = Reader()
        return self._reader

    async def read(self, request: Request):
        """What a recorded line says, by the reader: the pad fills in "What you wrote" with it."""
        data = await read_json(request)
        self.gate.admit()
        try:
            return JSONResponse(await run_in_threadpool(read_body, data, self.reader()))
        finally:
            self.gate.release()

    async def page(self, request: Request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def styles(self, request: Request):
        return JSONResponse(await run_in_threadpool(preset_list))

    async def config(self, request: Request):
        w = self.writer()
        return JSONResponse({"max_text": MAX_TEXT, "characters": w.alphabet.chars, "formats": list(SAVE_FORMATS),
                             "max_primer_lines": MAX_PRIMER_LINES, "waiting": self.gate.capacity - 1})

    async def start(self, request: Request) -> Job:
        data = await read_json(request)
        w = self.writer()
        prepared = await run_in_threadpool(prepare, data, w)
        return Job(self.gate, lambda: writing_events(w, prepared))

    async def write(self, request: Request):
        job = await self.start(request)
        watcher = asyncio.create_task(watch_disconnect(request, job))
        try:
            async for kind, value in job.events():
                if kind == "error":
                    raise value
                if value["event"] == "done":
                    value.pop("event")
                    return JSONResponse(value)
        finally:
            job.cancel()
            watcher.cancel()
        raise Refused(499, "the writing was cancelled")

    async def write_stream(self, request: Request):
        return self.streamed(await self.start(request))

    async def learn_stream(self, request: Request):
        """A hand learned from the recorded lines ({"primer": ...}): progress, then the hand file."""
        from .learn import learn_body, learning_events
        data = await read_json(request)
        w = self.writer()
        style = await run_in_threadpool(learn_body, data)
        try:
            await run_in_threadpool(style.primers, w.alphabet, w.normalizer)    # every line readable
        except ValueError as e:
            raise bad_input(e) from None
        return self.streamed(Job(self.gate, lambda: learning_events(w, style)))

    @staticmethod
    def streamed(job: Job) -> EventStream:
        """A job's events as server-sent events; the client leaving cancels the job."""
        async def body():
            try:
                yield ": writing\n\n"         # headers and a first byte at once, even while queued
                async for kind, value in job.events():
                    if kind == "error":
                        yield sse({"event": "error", "status": value.status, "error": value.message, **value.fields})
                    else:
                        yield sse(value)
            finally:
                job.cancel()
        return EventStream(body(), media_type="text/event-stream",
                           headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def render(self, request: Request):
        fmt = request.path_params["fmt"]
        data = await read_json(request)
        self.gate.admit()
        try:
            content, ext = await run_in_threadpool(render_download, data, fmt)
        finally:
            self.gate.release()
        return Response(content, media_type=MIME[fmt],
                        headers={"Content-Disposition": f'attachment; filename="handwriting{ext}"'})


def answers(handler):
    """`handler` with a Refused answered as its JSON error."""
    async def endpoint(request: Request):
        try:
            return await handler(request)
        except Refused as e:
            return e.response()
    return endpoint


def create_app(writer=None, *, waiting: int = WAITING, reader=None) -> Starlette:
    """The ASGI app.  writer: the `Writer` to write with (default: the bundled model, loaded
    once when the app starts); waiting: requests that may queue behind the one writing;
    reader: the `Reader` of recorded lines (default: the bundled reader, loaded on first use)."""
    gate = Gate(waiting)
    ep = Endpoints(writer, gate, reader)
    routes = [
        Route("/", ep.page),
        Route("/api/styles", answers(ep.styles)),
        Route("/api/config", answers(ep.config)),
        Route("/api/write", answers(ep.write), methods=["POST"]),
        Route("/api/write/stream", answers(ep.write_stream), methods=["POST"]),
        Route("/api/learn/stream", answers(ep.learn_stream), methods=["POST"]),
        Route("/api/render/{fmt}", answers(ep.render), methods=["POST"]),
        Route("/api/read", answers(ep.read), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.gate = gate
    return app
