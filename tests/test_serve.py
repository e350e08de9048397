"""The HTTP API of `handwrite serve` (docs/serve.md), in process, on the tiny untrained model.

Every endpoint, every kind of bad input (a clear 4xx JSON answer, never a 500 or a hang),
the stream's events, the queue limit (503) and a client leaving mid-writing.
"""
import json
import threading
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install -e '.[serve]'")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx (the test extra)")

from conftest import synthetic_strokes  # noqa: E402

with warnings.catch_warnings():      # starlette >= 1.x would rather use httpx2; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from handwrite.server import app as server  # noqa: E402
from handwrite.server import create_app  # noqa: E402


class Spy:
    """A writer that reports how its streams ended, and can hold them until released."""

    def __init__(self, writer, hold: threading.Event | None = None):
        self.writer, self.hold = writer, hold
        self.started = threading.Event()
        self.events = 0
        self.finished = self.closed = False

    def __getattr__(self, name):
        return getattr(self.writer, name)

    def stream(self, text, **options):
        self.started.set()
        if self.hold is not None:
            assert self.hold.wait(20), "the test never released the writer"
        try:
            for event in self.writer.stream(text, **options):
                self.events += 1
                yield event
            self.finished = True
        finally:
            self.closed = True


@pytest.fixture
def client(tiny_writer):
    with TestClient(create_app(tiny_writer)) as c:
        yield c


def sse_events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for block in text.split("\n\n") for line in block.split("\n")
            if line.startswith("data: ")]


def primer_body(texts=("the cat sat", "on a mat")):
    rng = np.random.default_rng(0)
    lines = []
    for text in texts:
        points = []
        for s in synthetic_strokes(text, rng):
            rows = np.zeros((len(s), 3))
            rows[:, :2] = s
            rows[-1, 2] = 1
            points += rows.tolist()
        lines.append({"text": text, "points": points})
    return {"lines": lines}


# ---- the page and the read-only endpoints ------------------------------------------------------
def test_the_page_and_its_files_are_served_and_need_no_network(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in ("app.js", "app.css"):
        assert f"/static/{name}" in page.text
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200
        # nothing from a CDN or any other host: the only URL is the SVG namespace
        assert set(__import__("re").findall(r"https?://[^\s\"')]+", answer.text)) <= {"http://www.w3.org/2000/svg"}
    assert "http" not in page.text.replace("http://www.w3.org/2000/svg", "")


def test_styles_lists_every_preset_with_a_preview(client):
    from handwrite.styles import presets
    styles = client.get("/api/styles").json()
    assert [s["index"] for s in styles] == list(range(len(presets())))
    assert [s["name"] for s in styles] == [p.name for p in presets()]
    assert all(s["svg"].startswith("<svg") and "<path" in s["svg"] for s in styles)
    from handwrite.choices import DEFAULT_STYLE
    assert [s["index"] for s in styles if s["default"]] == [DEFAULT_STYLE]     # the page starts on it


def test_config_names_the_limits_and_the_alphabet(client, tiny_writer):
    config = client.get("/api/config").json()
    assert config["max_text"] == server.MAX_TEXT == 2000
    assert config["characters"] == tiny_writer.alphabet.chars
    assert config["formats"] == ["svg", "png", "pdf", "json", "inkml", "gcode"]


# ---- writing ---------------------------------------------------------------------------------------
def test_write_answers_svg_points_and_the_settings_used(client, tiny_writer):
    body = {"text": "hi there", "seed": 5, "bias": 1.0, "style": "slanted", "width": 20, "align": "center",
            "line_spacing": 1.5}
    answer = client.post("/api/write", json=body)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["svg"].startswith("<svg")
    assert out["settings"] == {"bias": 1.0, "seed": 5, "width": 20, "align": "center", "line_spacing": 1.5,
                               "style": "slanted"}
    expected = tiny_writer.write("hi there", seed=5, bias=1.0, style="slanted", width=20, align="center",
                                 line_spacing=1.5)
    assert np.allclose(np.asarray(out["points"]), expected.points, atol=0.006)
    assert [ln["text"] for ln in out["lines"]] == [ln.text for ln in expected.lines]
    assert set(out["info"]) == {"retried_lines", "failed_lines", "misread_words"}
    assert out["info"]["misread_words"] == list(expected.info.get("misread_words", []))


def test_without_a_seed_the_server_picks_and_reports_one(client):
    first = client.post("/api/write", json={"text": "ab"}).json()
    seed = first["settings"]["seed"]
    assert isinstance(seed, int) and seed >= 0
    again = client.post("/api/write", json={"text": "ab", "seed": seed}).json()
    assert again["points"] == first["points"]


def test_stream_sends_points_as_they_are_drawn_then_the_result(client):
    with client.stream("POST", "/api/write/stream", json={"text": "hello\nworld", "seed": 2}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        text = "".join(answer.iter_text())
    events = sse_events(text)
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "done" and kinds.count("done") == 1 and "error" not in kinds
    points = [e for e in events if e["event"] == "points"]
    assert len(points) > 5 and {e["line"] for e in points} == {0, 1}
    assert all(np.asarray(e["points"]).reshape(-1, 3).shape[1] == 3 for e in points)
    done = events[-1]
    whole = client.post("/api/write", json={"text": "hello\nworld", "seed": 2}).json()
    assert done["points"] == whole["points"] and done["svg"] == whole["svg"]


def test_a_recorded_primer_is_used_as_the_style(client):
    answer = client.post("/api/write", json={"text": "in my hand", "seed": 1, "primer": primer_body()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["settings"]["style"] == "primer"
    other = client.post("/api/write", json={"text": "in my hand", "seed": 1}).json()
    assert other["points"] != answer.json()["points"]


# ---- bad input: a clear 4xx, never a 500 ---------------------------------------------------------------
BAD = [
    ("malformed JSON", b'{"text": "hi"', 400, "not valid JSON"),
    ("not an object", b'["hi"]', 400, "JSON object"),
    ("no text", {"bias": 1}, 422, "text"),
    ("text not a string", {"text": 5}, 422, "text must be"),
    ("empty text", {"text": "   "}, 422, "empty"),
    ("unknown key", {"text": "hi", "colour": "red"}, 422, "'colour'"),
    ("a server file as style", {"text": "hi", "style_file": "/etc/passwd"}, 422, "unknown setting"),
    ("absurd bias", {"text": "hi", "bias": 1e9}, 422, "bias"),
    ("negative bias", {"text": "hi", "bias": -1}, 422, "bias"),
    ("bias not a number", {"text": "hi", "bias": "neat"}, 422, "bias"),
    ("absurd width", {"text": "hi", "width": 100000}, 422, "width"),
    ("zero width", {"text": "hi", "width": 0}, 422, "width"),
    ("width not an integer", {"text": "hi", "width": 2.5}, 422, "width"),
    ("bad align", {"text": "hi", "align": "diagonal"}, 422, "align"),
    ("bad line spacing", {"text": "hi", "line_spacing": -1}, 422, "line_spacing"),
    ("negative seed", {"text": "hi", "seed": -3}, 422, "seed"),
    ("unknown preset", {"text": "hi", "style": 999}, 422, "no preset style"),
    ("style and primer", {"text": "hi", "style": 1, "primer": primer_body()}, 422, "give one of"),
    ("primer not an object", {"text": "hi", "primer": [1, 2]}, 422, "primer"),
    ("primer without lines", {"text": "hi", "primer": {"lines": []}}, 422, "primer"),
    ("primer line not an object", {"text": "hi", "primer": {"lines": ["x"]}}, 422, "primer line 1"),
    ("primer points not numbers", {"text": "hi", "primer": {"lines": [{"text": "ab", "points": [["a", 1, 0]]}]}},
     422, "points"),
    ("primer points of 2 values", {"text": "hi", "primer": {"lines": [{"text": "ab", "points": [[1, 2]] * 30}]}},
     422, "points"),
    ("primer too short", {"text": "hi", "primer": {"lines": [{"text": "ab", "points": [[1, 2, 0], [2, 3, 1]]}]}},
     422, "too short"),
    ("primer text unwritable", {"text": "hi", "primer": {"lines": [{**primer_body()["lines"][0], "text": "ça va"}]}},
     422, "cannot write"),
    ("primer of too many lines", {"text": "hi", "primer": {"lines": primer_body()["lines"] * 5}}, 413, "lines"),
    ("huge primer line", {"text": "hi", "primer": {"lines": [{"text": "ab", "points": [[1, 2, 0]] * 6000}]}},
     413, "points"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
@pytest.mark.parametrize("path", ["/api/write", "/api/write/stream"])
def test_bad_input_gets_a_clear_4xx_json_error(client, case, path):
    _, body, status, words = case
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = client.post(path, content=data, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert words in answer.json()["error"]


def test_unsupported_characters_are_named_with_their_positions(client):
    answer = client.post("/api/write", json={"text": "café ok€"})
    assert answer.status_code == 422
    err = answer.json()
    assert err["unsupported"] == [{"char": "é", "position": 3}, {"char": "€", "position": 7}]
    assert "'é'" in err["error"] and "position 3" in err["error"]


def test_text_over_the_limit_is_refused_before_any_work(client):
    answer = client.post("/api/write", json={"text": "a" * 2001})
    assert answer.status_code == 413 and "2000" in answer.json()["error"]
    assert client.post("/api/write/stream", json={"text": "b " * 1001}).status_code == 413


def test_a_body_over_the_limit_is_refused(client):
    answer = client.post("/api/write", content=b'{"text": "' + b"a" * (server.MAX_BODY + 10) + b'"}',
                         headers={"content-type": "application/json"})
    assert answer.status_code == 413


# ---- downloads -------------------------------------------------------------------------------------------
MAGIC = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF", "json": b'{"format": "handwrite-strokes"',
         "inkml": b"<ink", "gcode": b"\nG21\n"}


def test_every_output_format_can_be_downloaded():
    from handwrite.outputs import SAVE_FORMATS
    assert set(MAGIC) == set(SAVE_FORMATS) == set(server.MIME)


@pytest.fixture
def written(client):
    return client.post("/api/write", json={"text": "ab\ncd", "seed": 3}).json()


@pytest.mark.parametrize("fmt", sorted(MAGIC))
def test_render_downloads_every_format(client, written, fmt):
    body = {"text": written["text"], "lines": written["lines"], "color": "#1a237e", "stroke_width": 3}
    answer = client.post(f"/api/render/{fmt}", json=body)
    assert answer.status_code == 200, answer.text
    content = answer.content
    assert MAGIC[fmt] in content[:200], content[:80]
    assert f'filename="handwriting.{"gcode" if fmt == "gcode" else fmt}"' in answer.headers["content-disposition"]
    if fmt == "svg":
        assert b"#1a237e" in content
    if fmt == "json":
        from handwrite import Handwriting
        back = Handwriting.from_json(content.decode())
        assert [ln.text for ln in back.lines] == ["ab", "cd"]


BAD_RENDER = [
    ("unknown format", "bmp", None, 404),
    ("no lines", "svg", {"text": "x"}, 422),
    ("line not an object", "svg", {"lines": [3]}, 422),
    ("points not numbers", "svg", {"lines": [{"text": "a", "points": [["x", 1, 0]]}]}, 422),
    ("unknown option", "svg", {"lines": [{"text": "a", "points": [[1, 2, 1]]}], "font": "x"}, 422),
    ("bad stroke width", "png", {"lines": [{"text": "a", "points": [[1, 2, 1]]}], "stroke_width": "wide"}, 422),
    ("bad page", "pdf", {"lines": [{"text": "a", "points": [[1, 2, 1]]}], "page": "B52"}, 422),
    ("too many points", "svg", {"lines": [{"text": "a", "points": [[1, 2, 0]] * 200_001}]}, 413),
]


@pytest.mark.parametrize("case", BAD_RENDER, ids=[c[0] for c in BAD_RENDER])
def test_bad_downloads_get_a_clear_4xx(client, case):
    _, fmt, body, status = case
    answer = client.post(f"/api/render/{fmt}", json=body if body is not None else {"lines": []})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]


# ---- the queue, and clients that leave ------------------------------------------------------------
def test_requests_beyond_the_queue_get_503_with_retry_after(tiny_writer):
    hold = threading.Event()
    spy = Spy(tiny_writer, hold)
    app = create_app(spy, waiting=1)
    answers = {}
    with TestClient(app) as client:
        def post(name):
            answers[name] = client.post("/api/write", json={"text": "ab", "seed": 1})
        threads = [threading.Thread(target=post, args=(n,)) for n in ("first", "second")]
        threads[0].start()
        assert spy.started.wait(10)                 # the first is writing (held) ...
        threads[1].start()
        deadline = time.monotonic() + 10
        while app.state.gate.admitted < 2:          # ... and the second waits for the model
            assert time.monotonic() < deadline
            time.sleep(0.01)
        refused = client.post("/api/write", json={"text": "ab"})
        refused_stream = client.post("/api/write/stream", json={"text": "ab"})
        hold.set()
        for t in threads:
            t.join(20)
        deadline = time.monotonic() + 10
        while app.state.gate.admitted:              # each worker leaves the queue as it ends
            assert time.monotonic() < deadline
            time.sleep(0.01)
        after = client.post("/api/write", json={"text": "ab"})
    for answer in (refused, refused_stream):
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == str(server.RETRY_AFTER)
        assert "busy" in answer.json()["error"]
    assert answers["first"].status_code == answers["second"].status_code == after.status_code == 200


async def _call_and_leave(app, path: str, body: dict, leave_after: bytes | None):
    """Call the ASGI app as a client that disconnects once `leave_after` arrived (None: at once)."""
    import anyio

    seen = anyio.Event()
    if leave_after is None:
        seen.set()
    messages = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await seen.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if leave_after is not None and leave_after in message.get("body", b""):
            seen.set()
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"content-type", b"application/json")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    with anyio.fail_after(20):
        await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("path, leave_after", [("/api/write/stream", b"event: points"), ("/api/write", None)])
def test_a_client_that_leaves_stops_its_writing(tiny_writer, path, leave_after):
    import anyio
    spy = Spy(tiny_writer)
    app = create_app(spy)
    text = "a long text that takes a while to write " * 4
    anyio.run(_call_and_leave, app, path, {"text": text, "seed": 0}, leave_after)
    deadline = time.monotonic() + 10
    while not spy.closed:
        assert time.monotonic() < deadline, "the writing went on after the client left"
        time.sleep(0.01)
    assert not spy.finished
    whole = sum(1 for _ in tiny_writer.stream(text, seed=0, every=server.STREAM_EVERY))
    assert spy.events < whole / 2


# ---- the command -----------------------------------------------------------------------------------------
def test_the_serve_command_prints_the_url_and_warns_off_loopback(tiny_writer, monkeypatch):
    from click.testing import CliRunner

    import handwrite.server
    from handwrite.cli import main
    from handwrite.cli import serve as serve_command
    calls = []

    def fake_run(app, host, port, on_start):
        calls.append((host, port))
        on_start()
    monkeypatch.setattr(handwrite.server, "run", fake_run)
    monkeypatch.setattr(serve_command, "load_writer", lambda *a: tiny_writer)
    local = CliRunner().invoke(main, ["serve", "--port", "8123"])
    assert local.exit_code == 0, local.output
    assert "http://127.0.0.1:8123/" in local.output and "warning" not in local.output
    wide = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8124"])
    assert wide.exit_code == 0 and "warning: listening on 0.0.0.0" in wide.output
    assert calls == [("127.0.0.1", 8123), ("0.0.0.0", 8124)]


def test_the_serve_command_fails_clearly_when_the_port_is_taken(tiny_writer, monkeypatch):
    import socket

    from click.testing import CliRunner

    from handwrite.cli import main
    from handwrite.cli import serve as serve_command
    monkeypatch.setattr(serve_command, "load_writer", lambda *a: tiny_writer)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = CliRunner().invoke(main, ["serve", "--port", str(taken.getsockname()[1])])
    assert result.exit_code == 1 and "could not listen" in result.output


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                            ("[::1]", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                            ("example.com", False)])
def test_is_loopback(host, loopback):
    from handwrite.server import is_loopback
    assert is_loopback(host) is loopback


# ---- reading a recorded line ------------------------------------------------------------------
class EchoReader:
    """Reads every line as the same text, and counts the points it was given."""
    def __init__(self, text):
        self.text, self.seen = text, []

    def read(self, points):
        self.seen.append(len(points))
        return self.text


def test_read_says_what_a_recorded_line_reads_and_whether_the_typed_text_fits(tiny_writer):
    reader = EchoReader("the cat sat")
    points = primer_body(["the cat sat"])["lines"][0]["points"]
    with TestClient(create_app(tiny_writer, reader=reader)) as c:
        r = c.post("/api/read", json={"points": points})
        assert r.status_code == 200 and r.json() == {"text": "the cat sat", "agrees": None}
        assert reader.seen == [len(points)]
        assert c.post("/api/read", json={"points": points, "text": "The cat sat."}).json()["agrees"] is True
        assert c.post("/api/read", json={"points": points, "text": "a quick brown fox"}).json()["agrees"] is False


@pytest.mark.parametrize("body, status, message", [
    ({"points": [[0, 0]]}, 422, "points must be"),
    ({"points": [[0, 0, 1]], "lines": 3}, 422, "unknown field"),
    ({"points": [[0, 0, 0]] * 5001}, 413, "at most 5000"),
    ({"points": [[0, 0, 1]], "text": 7}, 422, "text must be a string"),
])
def test_read_refuses_bad_lines_clearly(tiny_writer, body, status, message):
    with TestClient(create_app(tiny_writer, reader=EchoReader("x"))) as c:
        r = c.post("/api/read", json=body)
        assert r.status_code == status and message in r.json()["error"]
