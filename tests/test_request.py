"""WriteRequest: every front end's way to ask the writer for something, checked in one place."""
import numpy as np
import pytest

from handwrite.request import WriteRequest, run_batch
from handwrite.styles import Style, presets


def test_a_request_runs_like_the_writer_it_calls(tiny_writer):
    request = WriteRequest("hi there", seed=3, bias=1.0, width=5, align="right", line_spacing=1.5)
    hw = request.run(tiny_writer)
    same = tiny_writer.write("hi there", seed=3, bias=1.0, width=5, align="right", line_spacing=1.5)
    assert np.array_equal(hw.points, same.points)
    assert [ln.text for ln in hw.lines] == ["hi", "there"]


@pytest.mark.parametrize("settings, message", [
    ({"bias": -1}, "bias must be between 0 and 10"),
    ({"bias": float("nan")}, "bias must be between 0 and 10"),
    ({"line_spacing": 0}, "line_spacing must be a positive number"),
    ({"seed": -2}, "seed must be a non-negative integer"),
    ({"width": 0}, "width must be at least 1"),
    ({"width": 200}, "too wide"),
    ({"align": "justify"}, "align must be one of"),
    ({"page": "B17"}, "unknown page size"),
    ({"style": 1, "style_file": "x.json"}, "give style or style_file, not both"),
    ({"style_text": "hello"}, "style_text needs style_file"),
])
def test_bad_settings_fail_when_the_request_is_made(settings, message):
    with pytest.raises(ValueError, match=message):
        WriteRequest("hi", **settings)


def test_text_is_checked_against_the_model_when_run(tiny_writer):
    request = WriteRequest("snow \u2603")
    with pytest.raises(ValueError, match="unsupported character"):
        request.run(tiny_writer)


def test_styles_by_index_name_free_file_and_object(tiny_writer, tmp_path):
    first = presets()[0]
    assert WriteRequest("hi", style=0).resolved_style(tiny_writer) is first
    assert WriteRequest("hi", style=first.name.upper()).resolved_style(tiny_writer) is first
    assert WriteRequest("hi", style=" Free ").resolved_style(tiny_writer) == "free"
    assert WriteRequest("hi").resolved_style(tiny_writer) is None          # the writer's default preset
    path = tmp_path / "mine.json"
    first.to_json(path)
    from_file = WriteRequest("hi", style_file=path, style_text="other words").resolved_style(tiny_writer)
    assert isinstance(from_file, Style) and from_file.text == "other words"
    assert WriteRequest("hi", style=first).resolved_style(tiny_writer) is first
    with pytest.raises(ValueError, match="no preset style"):
        WriteRequest("hi", style=99).resolved_style(tiny_writer)
    with pytest.raises(OSError):
        WriteRequest("hi", style_file=tmp_path / "missing.json").resolved_style(tiny_writer)


def test_from_dict_reads_plain_values_and_round_trips(tiny_writer):
    data = {"text": "hi there", "seed": 4, "bias": 1, "style": "free", "page": "A5", "align": "center"}
    request = WriteRequest.from_dict(data)
    assert request == WriteRequest("hi there", seed=4, bias=1, style="free", page="A5", align="center")
    assert WriteRequest.from_dict(request.to_dict()) == request
    assert request.page_options() == {"page": "A5", "page_margin": 20.0}
    assert WriteRequest("hi").page_options() == {}


@pytest.mark.parametrize("data, message", [
    ({"text": "hi", "colour": "red"}, "unknown write request setting.*'colour'"),
    ({"seed": 1}, "needs a text"),
    ({"text": 3}, "text must be a string"),
    ({"text": "hi", "bias": "high"}, "bias must be a number"),
    ({"text": "hi", "seed": 1.5}, "seed must be a non-negative integer"),
    ({"text": "hi", "seed": True}, "seed must be a non-negative integer"),
    ({"text": "hi", "width": "10"}, "width must be an integer"),
    ({"text": "hi", "style": [1]}, "style must be a preset index or name"),
    ("text", "a write request is a dict"),
])
def test_from_dict_names_what_is_wrong(data, message):
    with pytest.raises(ValueError, match=message):
        WriteRequest.from_dict(data)


def test_a_batch_is_seeded_per_chunk_and_checked_first(tiny_writer):
    texts = ["one", "two", "three", "four", "five"]
    requests = [WriteRequest(t, seed=7) for t in texts]
    chunks = list(run_batch(tiny_writer, requests, batch_size=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    third = chunks[1][0][1]            # the chunk starting at line 2 is seeded with 7 + 2
    assert np.array_equal(third.points, tiny_writer.write_many(["three", "four"], seed=9)[0].points)
    with pytest.raises(ValueError, match="line 2: "):
        run_batch(tiny_writer, [WriteRequest("fine"), WriteRequest("bad \u2603")])
    with pytest.raises(ValueError, match="no non-empty lines"):
        run_batch(tiny_writer, [])
    with pytest.raises(ValueError, match="differ only in their text"):
        run_batch(tiny_writer, [WriteRequest("a", seed=1), WriteRequest("b", seed=2)])


def test_several_style_files_make_one_style_of_several_lines(tiny_writer, tmp_path):
    first, second = presets()[0], presets()[1]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    first.to_json(a)
    second.to_json(b)
    request = WriteRequest.from_dict({"text": "hi", "style_file": [str(a), str(b)]})
    chosen = request.resolved_style(tiny_writer)
    assert [t for _, t in chosen.lines] == [first.text, second.text]
    assert WriteRequest.from_dict(request.to_dict()) == request
    one = WriteRequest("hi", style_file=[a], style_text=["words"])         # a list of one is that one
    assert one.style_file == a and one.style_text == "words"
    assert WriteRequest("hi", style_file=()).style_file is None
    with pytest.raises(ValueError, match="2 style files but 1 style_text"):
        WriteRequest("hi", style_file=[a, b], style_text="words")
    with pytest.raises(ValueError, match="several style_text need as many style_file"):
        WriteRequest("hi", style_file=a, style_text=["x", "y"])
    with pytest.raises(ValueError, match="style_file must be a file path or a list of them"):
        WriteRequest.from_dict({"text": "hi", "style_file": [1, 2]})
