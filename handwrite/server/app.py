"""The HTTP front end of `handwrite serve` (docs/serve.md): a Starlette app over one `Writer`.

It only parses requests into library objects (`WriteRequest`, `Style`, `Handwriting`) and
library errors into HTTP answers: a ValueError is 422 with its message, a body too large
is 413, JSON that does not parse is 400, a full queue is 503 with Retry-After.  Writing
runs on a worker thread, one at a time (one model in memory); a client that goes away
stops its writing.  Nothing is written to disk: downloads are rendered in memory from
the strokes the client sends back.
"""
from __future__ import annotations

import asyncio
import json
import math
import secrets
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..alphabet import UnsupportedCharacterError
from ..choices import DEFAULT_STYLE
from ..handwriting import Handwriting, WrittenLine
from ..outputs import FORMATS, SAVE_FORMATS, options_for
from ..preprocess import points_to_strokes
from ..render import RenderOptions, to_svg
from ..request import WriteRequest
from ..styles import Style, presets
from ..writer import WritingDone

STATIC = Path(__file__).parent / "static"

MAX_TEXT = 2000              # characters of text per request (413 beyond)
MAX_BODY = 2_000_000         # bytes of a request body (413 beyond)
MAX_PRIMER_LINES = 8         # lines of a recorded primer
MAX_PRIMER_POINTS = 5000     # points of one recorded primer line, as recorded (413 beyond)
MAX_RENDER_POINTS = 200_000  # points sent back for a download (413 beyond)
WAITING = 4                  # requests that may wait while one writes; more get 503
RETRY_AFTER = 2              # seconds, in a 503's Retry-After
STREAM_EVERY = 4             # sampling steps per streamed event
WRITE_FIELDS = ("text", "bias", "style", "seed", "width", "align", "line_spacing", "primer", "options")
RENDER_OPTIONS = ("color", "stroke_width", "background", "dpi", "page", "page_margin", "margin")
MIME = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf", "json": "application/json",
        "inkml": "application/inkml+xml", "gcode": "text/plain; charset=utf-8"}


class Refused(Exception):
    """An answer other than 200: status, message, and more fields for the JSON body."""

    def __init__(self, status: int, message: str, headers: dict | None = None, **fields):
        super().__init__(message)
        self.status, self.message, self.headers, self.fields = status, message, headers or {}, fields

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message, **self.fields}, self.status, headers=self.headers)


def bad_input(error: Exception) -> Refused:
    """A library error about the input -> 422, naming unsupported characters and their positions."""
    if isinstance(error, UnsupportedCharacterError):
        chars = [{"char": error.text[i], "position": i} for i in error.positions]
        return Refused(422, str(error), unsupported=chars)
    return Refused(422, str(error))


# ---- one writing at a time -------------------------------------------------------------------
class Gate:
    """Admits one writing plus `waiting` queued requests; refuses the rest (503).

    `admitted` is changed on the event loop only; the model lock is taken by the worker
    thread that writes, so the event loop never waits on it.
    """

    def __init__(self, waiting: int = WAITING):
        self.capacity = 1 + max(0, int(waiting))
        self.admitted = 0
        self.model = threading.Lock()

    def admit(self) -> None:
        if self.admitted >= self.capacity:
            raise Refused(503, f"busy: {self.admitted} requests are being written or waiting; try again shortly",
                          headers={"Retry-After": str(RETRY_AFTER)})
        self.admitted += 1

    def release(self) -> None:
        self.admitted -= 1


class Job:
    """One writing on its own thread: `make_events()` is a generator of JSON-able events,
    run under the model lock; they reach the event loop through a queue.  `cancel()`
    stops it at its next event (or before it starts, while it waits for the model)."""

    def __init__(self, gate: Gate, make_events):
        self.gate, self.make_events = gate, make_events
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.cancelled = threading.Event()
        self.finished = threading.Event()
        gate.admit()
        self.thread = threading.Thread(target=self._work, name="handwrite-writer", daemon=True)
        self.thread.start()

    def _put(self, item) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:         # the event loop has closed: nobody is listening
            pass

    def _work(self) -> None:
        try:
            with self.gate.model:
                if self.cancelled.is_set():
                    return
                events = self.make_events()
                try:
                    for event in events:
                        if self.cancelled.is_set():
                            break
                        self._put(("event", event))
                finally:
                    events.close()         # stops the sampling when it was cancelled
        except (ValueError, OSError) as e:
            self._put(("error", bad_input(e)))
        except Exception as e:             # a bug: answered as 500, not a hang
            self._put(("error", Refused(500, f"writing failed: {type(e).__name__}: {e}")))
        finally:
            self.finished.set()
            self._put(("end", None))
            try:
                self.loop.call_soon_threadsafe(self.gate.release)
            except RuntimeError:
                pass

    def cancel(self) -> None:
        self.cancelled.set()

    async def events(self):
        """(kind, value) pairs: ("event", dict) and ("error", Refused), until the job ends."""
        while True:
            kind, value = await self.queue.get()
            if kind == "end":
                return
            yield kind, value


# ---- reading requests ------------------------------------------------------------------------
async def read_json(request: Request) -> dict:
    """The body as a JSON object: 413 when too large, 400 when it does not parse."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise Refused(413, f"the request body is larger than {MAX_BODY} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, f"the request body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused(400, f"the body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise Refused(400, f"the body must be a JSON object, not {type(data).__name__}")
    return data


def parse_primer(primer) -> Style:
    """{"lines": [{"text", "points": [[x, y, end_of_stroke], ...]}, ...]} -> a Style (422/413)."""
    if not isinstance(primer, dict) or not isinstance(primer.get("lines"), list):
        raise Refused(422, 'primer must be {"lines": [{"text": ..., "points": [[x, y, end_of_stroke], ...]}, ...]}')
    lines = primer["lines"]
    if not 1 <= len(lines) <= MAX_PRIMER_LINES:
        raise Refused(422 if not lines else 413, f"primer needs 1 to {MAX_PRIMER_LINES} lines, got {len(lines)}")
    parsed = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, dict) or not isinstance(line.get("text"), str) or not isinstance(line.get("points"), list):
            raise Refused(422, f"primer line {n} must be {{\"text\": a string, \"points\": [[x, y, end_of_stroke], ...]}}")
        if len(line["points"]) > MAX_PRIMER_POINTS:
            raise Refused(413, f"primer line {n} has {len(line['points'])} points, at most {MAX_PRIMER_POINTS}")
        points = _points(line["points"], f"primer line {n}")
        parsed.append((points_to_strokes(points), line["text"]))
    try:
        return Style.from_lines(parsed, name="primer")
    except (ValueError, TypeError) as e:
        raise Refused(422, str(e)) from None


def _points(raw: list, what: str) -> np.ndarray:
    """[[x, y, end_of_stroke], ...] -> (n, 3) float32, finite, or 422."""
    try:
        points = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        points = None
    if points is None or (points.size and (points.ndim != 2 or points.shape[1] != 3)) or not np.all(np.isfinite(points)):
        raise Refused(422, f"{what}: points must be a list of [x, y, end_of_stroke] numbers")
    return points.reshape(-1, 3).astype(np.float32)


class Prepared:
    """A checked write request: the WriteRequest, the resolved style, the settings to report."""

    def __init__(self, request: WriteRequest, style, settings: dict):
        self.request, self.style, self.settings = request, style, settings


def prepare(data: dict, writer) -> Prepared:
    """Check a write body against the API's limits and the library: a `Prepared`, or Refused."""
    unknown = sorted(set(data) - set(WRITE_FIELDS))
    if unknown:
        raise Refused(422, f"unknown setting(s) {', '.join(map(repr, unknown))}; known: {', '.join(WRITE_FIELDS)}")
    text = data.get("text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise Refused(413, f"the text has {len(text)} characters; at most {MAX_TEXT} can be written at once")
    fields = {k: v for k, v in data.items() if k != "primer" and v is not None}
    fields.setdefault("text", text)
    if data.get("primer") is not None:
        if data.get("style") is not None:
            raise Refused(422, "give a style or a primer, not both")
        fields["style"] = parse_primer(data["primer"])
    fields.setdefault("seed", secrets.randbelow(2**31))     # reported, so the result can be written again
    try:
        request = WriteRequest.from_dict(fields)
        writer.prepare(request.text)
        style = request.resolved_style(writer)
        if isinstance(style, Style):
            style.primers(writer.alphabet, writer.normalizer)    # every line of it, before writing
    except (ValueError, TypeError) as e:
        raise bad_input(e) from None
    style_name = "primer" if data.get("primer") is not None else request.style
    settings = {"bias": request.bias, "seed": request.seed, "width": request.width, "align": request.align,
                "line_spacing": request.line_spacing, "style": style_name}
    return Prepared(request, style, settings)


def result(hw: Handwriting, settings: dict) -> dict:
    """The JSON answer of a finished writing."""
    def rows(points):
        return np.round(np.asarray(points, np.float64), 2).tolist()
    return {"text": hw.text, "svg": hw.to_svg(), "points": rows(hw.points),
            "lines": [{"text": ln.text, "points": rows(ln.points)} for ln in hw.lines],
            "settings": settings,
            "info": {k: hw.info.get(k, 0) for k in ("retried_lines", "failed_lines")}}


def writing_events(writer, prepared: Prepared):
    """JSON-able events of one writing: {"event": "points", ...} while writing, then {"event": "done", ...}."""
    for event in prepared.request.stream(writer, prepared.style, every=STREAM_EVERY):
        if isinstance(event, WritingDone):
            yield {"event": "done", **result(event.handwriting, prepared.settings)}
        else:
            yield {"event": "points", "line": event.line, "restart": event.restart,
                   "points": np.round(event.points.astype(np.float64), 2).tolist()}


def sse(event: dict) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event)}\n\n"


def render_download(data: dict, fmt_name: str) -> tuple[bytes, str]:
    """Bytes of a download: the strokes sent back ({"text", "lines": [...]}, drawing options)."""
    if fmt_name not in SAVE_FORMATS:
        raise Refused(404, f"unknown format {fmt_name!r}; use one of {', '.join(SAVE_FORMATS)}")
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Refused(422, 'send the result\'s "lines": [{"text": ..., "points": [[x, y, end_of_stroke], ...]}, ...]')
    written, total = [], 0
    for n, line in enumerate(lines, 1):
        if not isinstance(line, dict) or not isinstance(line.get("text"), str) or not isinstance(line.get("points"), list):
            raise Refused(422, f"line {n} must be {{\"text\": a string, \"points\": [[x, y, end_of_stroke], ...]}}")
        total += len(line["points"])
        if total > MAX_RENDER_POINTS:
            raise Refused(413, f"more than {MAX_RENDER_POINTS} points to draw")
        written.append(WrittenLine(line["text"], _points(line["points"], f"line {n}")))
    unknown = sorted(set(data) - {"text", "lines", *RENDER_OPTIONS})
    if unknown:
        raise Refused(422, f"unknown option(s) {', '.join(map(repr, unknown))}; known: {', '.join(RENDER_OPTIONS)}")
    options = {k: data[k] for k in RENDER_OPTIONS if k in data}
    for k in ("stroke_width", "dpi", "page_margin", "margin"):
        if k in options and not (isinstance(options[k], (int, float)) and not isinstance(options[k], bool)
                                 and math.isfinite(options[k]) and 0 <= options[k] <= 1200):
            raise Refused(422, f"{k} must be a number from 0 to 1200, got {options[k]!r}")
    for k in ("color", "background", "page"):
        if k in options and not (isinstance(options[k], str) and len(options[k]) <= 40):
            raise Refused(422, f"{k} must be a short string, got {options[k]!r}")
    fmt = FORMATS[fmt_name]
    text = data.get("text") if isinstance(data.get("text"), str) else "\n".join(ln.text for ln in written)
    try:
        kept = options_for(fmt, f"handwriting{fmt.extensions[0]}", options)
        return fmt.render(Handwriting(text, written), **kept), fmt.extensions[0]
    except ValueError as e:
        raise Refused(422, str(e)) from None


@lru_cache(maxsize=1)
def preset_list() -> list[dict]:
    """The presets with a preview: their own primer strokes, drawn about 40 px tall."""
    out = []
    for i, style in enumerate(presets()):
        strokes = style.strokes
        pts = np.concatenate(strokes)
        lo, hi = np.percentile(pts[:, 1], [5, 95])
        scale = 20.0 / max(float(hi - lo), 1e-6)
        svg = to_svg([(s - pts.min(0)) * scale for s in strokes], RenderOptions(stroke_width=1.5, margin=8.0,
                                                                              background=None))
        out.append({"index": i, "name": style.name, "text": style.text, "svg": svg, "default": i == DEFAULT_STYLE})
    return out


# ---- the app ---------------------------------------------------------------------------------
def create_app(writer=None, *, waiting: int = WAITING) -> Starlette:
    """The ASGI app.  writer: the `Writer` to write with (default: the bundled model, loaded
    once when the app starts); waiting: requests that may queue behind the one writing."""
    gate = Gate(waiting)
    state = {"writer": writer}

    def current_writer():
        if state["writer"] is None:
            from ..writer import Writer
            state["writer"] = Writer()
        return state["writer"]

    def answers(handler):
        async def endpoint(request: Request):
            try:
                return await handler(request)
            except Refused as e:
                return e.response()
        return endpoint

    async def page(request: Request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def styles(request: Request):
        return JSONResponse(await run_in_threadpool(preset_list))

    async def config(request: Request):
        w = current_writer()
        return JSONResponse({"max_text": MAX_TEXT, "characters": w.alphabet.chars, "formats": list(SAVE_FORMATS),
                             "max_primer_lines": MAX_PRIMER_LINES, "waiting": gate.capacity - 1})

    async def start(request: Request) -> Job:
        data = await read_json(request)
        w = current_writer()
        prepared = await run_in_threadpool(prepare, data, w)
        return Job(gate, lambda: writing_events(w, prepared))

    async def write(request: Request):
        job = await start(request)
        watcher = asyncio.create_task(_watch_disconnect(request, job))
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

    async def write_stream(request: Request):
        job = await start(request)

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

    async def render(request: Request):
        fmt = request.path_params["fmt"]
        data = await read_json(request)
        gate.admit()
        try:
            content, ext = await run_in_threadpool(render_download, data, fmt)
        finally:
            gate.release()
        return Response(content, media_type=MIME[fmt],
                        headers={"Content-Disposition": f'attachment; filename="handwriting{ext}"'})

    routes = [
        Route("/", page),
        Route("/api/styles", answers(styles)),
        Route("/api/config", answers(config)),
        Route("/api/write", answers(write), methods=["POST"]),
        Route("/api/write/stream", answers(write_stream), methods=["POST"]),
        Route("/api/render/{fmt}", answers(render), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.gate = gate
    return app


async def _watch_disconnect(request: Request, job: Job) -> None:
    """Cancel the job when the client goes away (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            job.cancel()
            return


class EventStream(StreamingResponse):
    """A streaming response that always watches for the client leaving while it streams
    (Starlette does so only for ASGI servers older than spec 2.4); leaving cancels the body."""

    async def __call__(self, scope, receive, send) -> None:
        import anyio

        async with anyio.create_task_group() as group:
            async def stream():
                await self.stream_response(send)
                group.cancel_scope.cancel()

            async def listen():
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()
            group.start_soon(stream)
            group.start_soon(listen)
