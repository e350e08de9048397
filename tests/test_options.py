"""WriterOptions: the writer's settings as checked plain data, set from Python, a request,
the command line and the vpype plugin; SettingError: errors naming settings."""
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from handwrite.options import SettingError, WriterOptions, as_flag


@pytest.mark.parametrize("changes, message", [
    ({"retries": -1}, "options.retries must be between 0 and 10"),
    ({"retries": 2.5}, "options.retries must be an integer"),
    ({"retries": True}, "options.retries must be an integer"),
    ({"check_capitals": "no"}, "options.check_capitals must be true or false"),
    ({"steady_capitals": float("nan")}, "options.steady_capitals must be between"),
    ({"precision": "fp64"}, "options.precision must be one of auto"),
    ({"batch_lines": 0}, "options.batch_lines must be between 1"),
])
def test_bad_options_are_named(changes, message):
    with pytest.raises(SettingError, match=message) as e:
        WriterOptions(**changes)
    assert e.value.settings == [f"options.{next(iter(changes))}"]


def test_options_from_plain_data():
    options = WriterOptions.from_dict({"check_capitals": False, "retries": 1, "steady_capitals": 0})
    assert (options.check_capitals, options.retries, options.steady_capitals) == (False, 1, 0)
    assert options.even_sizes is WriterOptions().even_sizes            # the rest stay as they were
    assert WriterOptions.from_dict(options.to_dict()) == options
    with pytest.raises(SettingError, match="unknown writer option.*'retry'.*known: precision"):
        WriterOptions.from_dict({"retry": 1})
    with pytest.raises(SettingError, match="options must be a dict"):
        WriterOptions.from_dict([("retries", 1)])


@pytest.mark.parametrize("name, text, value", [
    ("check_capitals", "false", False), ("check_capitals", "On", True), ("retries", "2", 2),
    ("steady_capitals", "0.5", 0.5), ("precision", "fp32", "fp32")])
def test_options_from_command_line_text(name, text, value):
    assert WriterOptions.parse(name, text) == value


def test_command_line_text_that_is_not_a_value_is_named():
    with pytest.raises(SettingError, match="options.retries must be an integer, got 'many'"):
        WriterOptions.parse("retries", "many")
    with pytest.raises(SettingError, match="options.check_capitals must be true or false"):
        WriterOptions.parse("check_capitals", "maybe")
    with pytest.raises(SettingError, match="unknown writer option 'nope'"):
        WriterOptions.parse("nope", "1")


def test_a_setting_error_is_shown_in_each_front_end_s_words():
    e = SettingError("`style_text` needs `style_file`")
    assert str(e) == "style_text needs style_file"                    # Python and the JSON API
    assert e.shown_with(as_flag) == "--style-text needs --style-file"  # the command line
    assert e.settings == ["style_text", "style_file"]
    assert isinstance(e, ValueError)


def test_the_cli_names_its_own_flags():
    from handwrite.cli.common import cli_name
    assert cli_name("page_number") == "--page-number"
    assert cli_name("options.retries") == "--option retries=..."


def test_a_request_carries_options_to_the_writer(tiny_writer, monkeypatch):
    from handwrite import WriteRequest, pipeline
    calls = []
    monkeypatch.setattr(pipeline, "line_looks_written", lambda *a: calls.append(1) or False)
    request = WriteRequest.from_dict({"text": "abc", "seed": 0, "options": {"retries": 1}})
    hw = request.run(tiny_writer)
    assert len(calls) == 2 and hw.info["failed_lines"] == 1           # one retry, not the writer's three
    assert tiny_writer.options == WriterOptions()                      # the writer itself is unchanged
    assert WriteRequest.from_dict(request.to_dict()) == request
    calls.clear()
    WriteRequest("abc", seed=0).run(tiny_writer)
    assert len(calls) == tiny_writer.options.retries + 1


def test_a_request_names_a_bad_option():
    from handwrite import WriteRequest
    with pytest.raises(SettingError, match="options.retries must be between 0 and 10"):
        WriteRequest.from_dict({"text": "hi", "options": {"retries": 99}})
    with pytest.raises(SettingError, match="options must be an object of writer options"):
        WriteRequest.from_dict({"text": "hi", "options": "fast"})


def test_with_options_shares_the_model_and_keeps_the_original(tiny_writer):
    quick = tiny_writer.with_options(check_capitals=False, retries=0)
    assert quick.model is tiny_writer.model and quick.alphabet is tiny_writer.alphabet
    assert (quick.options.check_capitals, quick.options.retries) == (False, 0)
    assert tiny_writer.options.check_capitals and tiny_writer.options.retries == 3
    same = tiny_writer.with_options({"precision": "fp32"})
    assert same.precision == "fp32" and tiny_writer.precision == "auto"
    a = quick.write("hello", seed=1).points
    np.testing.assert_array_equal(a, tiny_writer.with_options(check_capitals=False, retries=0)
                                  .write("hello", seed=1).points)


def test_writer_takes_options_or_precision(tiny_model_parts):
    from handwrite.writer import Writer
    writer = Writer.from_model(*tiny_model_parts, options=WriterOptions(retries=1), precision="fp32")
    assert writer.options == WriterOptions(retries=1, precision="fp32")
    with pytest.raises(ValueError, match="precision"):
        Writer.from_model(*tiny_model_parts, precision="fp64")


def test_the_cli_takes_writer_options(tmp_path, tiny_model_parts, monkeypatch):
    from handwrite import pipeline
    from handwrite.cli import main
    from handwrite.weights import export_weights
    weights = str(tmp_path / "tiny.safetensors")
    export_weights(weights, *tiny_model_parts)
    calls = []
    monkeypatch.setattr(pipeline, "line_looks_written", lambda *a: calls.append(1) or False)
    out = tmp_path / "o.svg"
    r = CliRunner().invoke(main, ["abc", "-o", str(out), "--weights", weights, "--seed", "0",
                                  "--option", "retries=0", "--option", "check_capitals=false"])
    assert r.exit_code == 0, r.output
    assert len(calls) == 1 and out.exists()
    r = CliRunner().invoke(main, ["abc", "-o", str(out), "--weights", weights, "--option", "retries=lots"])
    assert r.exit_code == 2 and "--option retries=... must be an integer, got 'lots'" in r.output
    r = CliRunner().invoke(main, ["abc", "-o", str(out), "--weights", weights, "--style-text", "x"])
    assert r.exit_code == 2 and "--style-text needs --style-file" in r.output


def test_requests_and_choices_load_without_torch():
    code = ("import sys, handwrite.request, handwrite.choices, handwrite.options; "
            "from handwrite import WriteRequest, WriterOptions; "
            "WriteRequest.from_dict({'text': 'hi', 'options': {'retries': 1}}); "
            "heavy = [m for m in ('torch', 'handwrite.writer', 'handwrite.sampling') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_server_takes_writer_options(tiny_writer):
    pytest.importorskip("starlette")
    from handwrite.server.app import Refused, prepare
    prepared = prepare({"text": "hi", "options": {"check_capitals": False}}, tiny_writer)
    assert prepared.request.options == {"check_capitals": False}
    assert prepared.request.writer_for(tiny_writer).options.check_capitals is False
    with pytest.raises(Refused) as e:
        prepare({"text": "hi", "options": {"retries": 99}}, tiny_writer)
    assert e.value.status == 422 and "options.retries must be between 0 and 10" in e.value.message
