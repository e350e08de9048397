"""`handwrite serve`'s "Learn my hand": progress streamed, the hand sent back, written with."""
import json
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install -e '.[serve]'")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx (the test extra)")

from conftest import make_tiny_model_parts, synthetic_strokes  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from handwrite import learning  # noqa: E402
from handwrite.server import create_app  # noqa: E402
from handwrite.writer import Writer  # noqa: E402


def primer(text="the cat sat on a mat"):
    strokes = synthetic_strokes(text, np.random.default_rng(0))
    points = [[float(x), float(y), float(k == len(s) - 1)] for s in strokes for k, (x, y) in enumerate(s)]
    return {"lines": [{"text": text, "points": points}]}


def sse_events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for block in text.split("\n\n") for line in block.split("\n")
            if line.startswith("data: ")]


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                       # anything written would land here
    settings = learning.LearnSettings
    monkeypatch.setattr(learning, "LearnSettings", lambda: settings(steps=5))
    writer = Writer.from_model(*make_tiny_model_parts())
    with TestClient(create_app(writer)) as c:
        yield c, writer


def test_learn_streams_progress_then_a_hand_that_writes(client, tmp_path):
    c, writer = client
    answer = c.post("/api/learn/stream", json={"primer": primer()})
    assert answer.status_code == 200
    events = sse_events(answer.text)
    assert [e["done"] for e in events if e["event"] == "progress"] == [1, 2, 3, 4, 5]
    done = events[-1]
    assert done["event"] == "done" and done["learned"]["steps"] == 5
    hand = done["hand"]
    written = c.post("/api/write", json={"text": "ok go", "hand": hand, "seed": 1})
    assert written.status_code == 200, written.text
    assert written.json()["settings"]["style"] == "hand"
    plain = c.post("/api/write", json={"text": "ok go", "primer": primer(), "seed": 1}).json()
    assert plain["lines"] != written.json()["lines"]
    assert len(writer._hands) == 1 and not list(tmp_path.iterdir())     # kept in memory only


@pytest.mark.parametrize("body,status,msg", [
    ({"primer": {"lines": []}}, 422, "primer needs 1 to"),
    ({"primer": primer(), "extra": 1}, 422, "unknown field"),
    ({"primer": primer("the cat sat on a mat \u2603")}, 422, "cannot write"),
])
def test_learn_refuses_bad_primers(client, body, status, msg):
    answer = client[0].post("/api/learn/stream", json=body)
    assert answer.status_code == status and msg in answer.json()["error"]


def test_write_refuses_a_bad_hand(client):
    c, _ = client
    for hand, msg in (("not base64!", "hand"), ("aGVsbG8=", "not a readable hand file"), (3, "base64")):
        answer = c.post("/api/write", json={"text": "ok", "hand": hand})
        assert answer.status_code == 422 and msg in answer.json()["error"]
    answer = c.post("/api/write", json={"text": "ok", "hand": "aGVsbG8=", "style": 1})
    assert answer.status_code == 422 and "give one of" in answer.json()["error"]
