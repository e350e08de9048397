"""Writer.stream: the pen's points while the network draws them, then what `write` returns."""
import numpy as np
import pytest
import torch

from handwrite import UnsupportedCharacterError
from handwrite import sampling
from handwrite.writer import WritingDone, WritingPoints


@pytest.mark.parametrize("style", [None, "free", "slanted"])
def test_the_stream_ends_with_exactly_what_write_returns(tiny_writer, style):
    text = "one line\n\nand another one"
    events = list(tiny_writer.stream(text, seed=4, style=style, width=12, align="right", line_spacing=1.3))
    assert isinstance(events[-1], WritingDone)
    assert all(isinstance(e, WritingPoints) for e in events[:-1])
    streamed = events[-1].handwriting
    written = tiny_writer.write(text, seed=4, style=style, width=12, align="right", line_spacing=1.3)
    assert streamed.points.tobytes() == written.points.tobytes()
    assert streamed.text == written.text and streamed.info == written.info


def test_points_come_per_line_as_they_are_drawn(tiny_writer):
    events = list(tiny_writer.stream("ab cd\nef", seed=1, width=5, every=3))[:-1]
    hw = tiny_writer.write("ab cd\nef", seed=1, width=5)
    assert {e.line for e in events} == set(range(len(hw.lines)))
    assert all(e.points.dtype == np.float32 and e.points.shape[1:] == (3,) for e in events)
    # the untrained model's lines look wrong, so they are written again: a restart drops the old points
    assert any(e.restart for e in events)
    assert all(len(e.points) <= 3 for e in events)        # at most one point per line and step
    for line in range(len(hw.lines)):
        pts = np.concatenate([e.points for e in events if e.line == line])
        assert np.all(np.isfinite(pts))
        assert np.all(np.abs(pts[:, 1] - line * 60.0) < 400)    # drawn on or near its own row


def test_closing_the_stream_stops_the_sampling(tiny_writer, monkeypatch):
    calls = []
    real, real_one = sampling.sample_point, sampling._OnePoint.__call__      # batches, and one line
    monkeypatch.setattr(sampling.stepper, "sample_point", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(sampling._OnePoint, "__call__", lambda *a: calls.append(1) or real_one(*a))
    threads = torch.get_num_threads()
    stream = tiny_writer.stream("a text of a few words to write", seed=0, style="free")
    next(stream)
    stream.close()
    stopped_at = len(calls)
    assert torch.get_num_threads() == threads       # put back when the stream ends
    list(tiny_writer.stream("a text of a few words to write", seed=0, style="free"))
    assert stopped_at < (len(calls) - stopped_at) / 10


def test_bad_input_raises_when_iteration_starts(tiny_writer):
    stream = tiny_writer.stream("caf\u00e9")
    with pytest.raises(UnsupportedCharacterError):
        next(stream)
    with pytest.raises(ValueError, match="every"):
        next(tiny_writer.stream("ab", every=0))
    with pytest.raises(ValueError, match="bias"):
        next(tiny_writer.stream("ab", bias=-1))


def test_a_write_request_streams_with_its_settings(tiny_writer):
    from handwrite import WriteRequest
    request = WriteRequest.from_dict({"text": "ab", "seed": 2, "bias": 1.5, "style": "free"})
    *_, done = request.stream(tiny_writer)
    assert done.handwriting.points.tobytes() == request.run(tiny_writer).points.tobytes()
