"""A load test of `handwrite serve`: a real server (a subprocess on 127.0.0.1, tiny model),
50 concurrent requests: each is answered 200 or 503, and the server stays up, answering,
with its memory bounded.  Bounded in count and time; the server is stopped at the end."""
import concurrent.futures
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install -e '.[serve]'")
httpx = pytest.importorskip("httpx", reason="httpx is not installed (the test extra)")

TESTS = Path(__file__).parent
SERVER = """
import sys
sys.path.insert(0, {tests!r})
from conftest import make_tiny_model_parts
from handwrite.server import create_app, run
from handwrite.writer import Writer
run(create_app(Writer.from_model(*make_tiny_model_parts())), host="127.0.0.1", port={port},
    on_start=lambda: print("listening", flush=True))
"""
REQUESTS = 50


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(tests=str(TESTS), port=port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/config", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def one_request(url: str, n: int) -> int:
    body = {"text": f"load {n}", "seed": n}
    with httpx.Client(timeout=60) as client:
        if n % 2:
            return client.post(f"{url}/api/write", json=body).status_code
        with client.stream("POST", f"{url}/api/write/stream", json=body) as answer:
            if n % 4 == 0 and answer.status_code == 200:
                next(answer.iter_bytes())          # a client that leaves after the first bytes
                return answer.status_code
            text = "".join(answer.iter_text())
            if answer.status_code == 200:
                assert "event: done" in text, text[-300:]
            return answer.status_code


def burst(url: str) -> list[int]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        return list(pool.map(lambda n: one_request(url, n), range(REQUESTS), timeout=120))


def test_fifty_concurrent_requests_are_answered_200_or_503(server):
    proc, url = server
    before = rss_mb(proc.pid)
    started = time.monotonic()
    first = burst(url)
    assert set(first) <= {200, 503}, first
    assert first.count(200) >= 1 and first.count(503) >= 1        # some written, the rest turned away
    after_first = rss_mb(proc.pid)
    second = burst(url)
    assert set(second) <= {200, 503}, second
    after_second = rss_mb(proc.pid)
    assert time.monotonic() - started < 120
    # still alive and answering, with nothing left in its queue
    assert proc.poll() is None
    assert httpx.post(f"{url}/api/write", json={"text": "still here"}, timeout=60).status_code == 200
    print(f"rss {before:.0f} -> {after_first:.0f} -> {after_second:.0f} MB; 200s {first.count(200)}+{second.count(200)}")
    assert after_first - before < 300, (before, after_first)
    assert after_second - after_first < 100, (after_first, after_second)   # no growth per burst
