"""One writing at a time, off the event loop: the `Gate` that admits requests, the `Job`
that writes on its own thread, and the streaming that stops when the client leaves."""
from __future__ import annotations

import asyncio
import json
import threading

from starlette.requests import Request
from starlette.responses import StreamingResponse

from .bodies import Refused, bad_input

WAITING = 4                  # requests that may wait while one writes; more get 503
RETRY_AFTER = 2              # seconds, in a 503's Retry-After


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


def sse(event: dict) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event)}\n\n"


async def watch_disconnect(request: Request, job: Job) -> None:
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
