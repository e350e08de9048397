"""`POST /api/learn/stream`: a hand learned from the recorded lines, its progress streamed.

The learned hand goes back to the browser as a hand file in base64 (`Style.hand_bytes`),
which the page keeps and sends with each write request ("hand"); the server writes
nothing to disk.  The writer keeps the merged weights of the last few hands it wrote
with (`learning.HANDS_KEPT`), and no more.
"""
from __future__ import annotations

import base64
import queue
import threading

from .bodies import Refused, parse_primer


class Stopped(Exception):
    """Raised in the learning's progress call when the client went away."""


def learn_body(data: dict):
    """{"primer": {"lines": [...]}} -> the Style to learn (422/413 as for a primer)."""
    unknown = sorted(set(data) - {"primer"})
    if unknown:
        raise Refused(422, f"unknown field(s) {', '.join(map(repr, unknown))}; known: 'primer'")
    return parse_primer(data.get("primer"))


def learning_events(writer, style):
    """JSON-able events: {"event": "progress", "done", "total"} per step, then
    {"event": "done", "hand": base64, "name", "learned": the summary}.  Closing the
    generator (the client left) stops the learning at its next step."""
    steps, stop, box = queue.Queue(), threading.Event(), {}

    def progress(done, total):
        if stop.is_set():
            raise Stopped
        steps.put((done, total))

    def run():
        try:
            box["hand"] = writer.learn(style, progress=progress)
        except Exception as e:        # passed on to the job, which answers it (422 for a ValueError)
            box["error"] = e
        finally:
            steps.put(None)
    worker = threading.Thread(target=run, name="handwrite-learner", daemon=True)
    worker.start()
    try:
        while (item := steps.get()) is not None:
            yield {"event": "progress", "done": item[0], "total": item[1]}
    finally:
        stop.set()
        worker.join()
    if "error" in box:
        raise box["error"]
    hand = box["hand"]
    yield {"event": "done", "hand": base64.b64encode(hand.hand_bytes()).decode("ascii"), "name": hand.name,
           "learned": hand.info.get("learned", {})}
