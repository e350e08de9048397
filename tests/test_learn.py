"""Learning a hand (Writer.learn), hand files and `handwrite learn`, on a tiny model."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import make_tiny_model_parts, synthetic_strokes

from handwrite import learning
from handwrite.cli import main
from handwrite.learning import LearnSettings, Lines
from handwrite.styles import Style
from handwrite.weights import export_weights
from handwrite.writer import Writer

TEXTS = ["the cat sat on a mat", "and it was fun"]


@pytest.fixture
def style():
    rng = np.random.default_rng(3)
    return Style.from_lines([(synthetic_strokes(t, rng), t) for t in TEXTS], name="tester")


@pytest.fixture(scope="module")
def learned_pair():
    """(writer, style, learned): one learning for the tests that only look at its result."""
    writer = Writer.from_model(*make_tiny_model_parts(), precision="fp32")
    rng = np.random.default_rng(3)
    style = Style.from_lines([(synthetic_strokes(t, rng), t) for t in TEXTS], name="tester")
    return writer, style, writer.learn(style)


def test_learning_lowers_the_nll_of_the_primer_lines(learned_pair):
    writer, style, learned = learned_pair
    lines = Lines.of(style.primers(writer.alphabet, writer.normalizer))
    with torch.no_grad():
        before, after = lines.nll(writer.model).mean(), lines.nll(writer.model, learned.adapters).mean()
    assert after < before - 0.1
    s = learned.info["learned"]
    assert s["nll_after"] < s["nll_before"] and s["steps"] == LearnSettings().steps
    assert s["anchor_nll_after"] <= s["anchor_nll_before"] + 0.2      # the anchors stay written as well
    assert [t for _, t in learned.lines] == TEXTS and learned.name == style.name


def test_a_learned_hand_writes_differently_and_leaves_the_base_model_alone(learned_pair):
    writer, style, learned = learned_pair
    base = [p.detach().clone() for p in writer.model.parameters()]
    plain = writer.write("ok go", style=style, seed=4).lines[0].points
    mine = writer.write("ok go", style=learned, seed=4).lines[0].points
    assert not (plain.shape == mine.shape and np.allclose(plain, mine))
    assert all(torch.equal(a, b) for a, b in zip(base, writer.model.parameters()))
    assert np.array_equal(writer.write("ok go", style=style, seed=4).lines[0].points, plain)
    again = writer.with_options(check_words=False).write("ok go", style=learned, seed=4).lines[0].points
    assert np.array_equal(again, mine) and len(writer._hands) == 1    # one merged model, shared by copies


def test_several_hands_at_once_are_bounded(monkeypatch, learned_pair):
    writer, style, learned = learned_pair
    monkeypatch.setattr(learning, "HANDS_KEPT", 2)
    hands = [learned]
    for k in range(2):
        other = Style.from_lines(learned.lines, name=f"h{k}")
        other.adapters = learning.Adapters({n: t * (k + 2) for n, t in learned.adapters.tensors.items()})
        other.base_digest = writer.digest
        hands.append(other)
    for h in hands:
        writer.write("ok", style=h, seed=1)
    assert len(writer._hands) == 2


def test_hand_file_round_trips_and_refuses_another_model(tmp_path, learned_pair):
    writer, _, learned = learned_pair
    path = learned.save(tmp_path / "me.hand")
    assert path.stat().st_size < 2_000_000
    assert path.read_bytes()[8:9] == b"{"                  # safetensors: a JSON header, no pickle
    back = Style.from_file(path)
    assert back.name == learned.name and [t for _, t in back.lines] == TEXTS
    assert back.base_digest == writer.digest and back.adapters.digest() == learned.adapters.digest()
    a = writer.write("ok go", style=learned, seed=2).lines[0].points
    b = writer.write("ok go", style=back, seed=2).lines[0].points
    assert np.allclose(a, b, atol=0.5)
    torch.manual_seed(1)
    model, alphabet, normalizer = make_tiny_model_parts()
    with torch.no_grad():
        model.output.bias.add_(0.01)
    other = Writer.from_model(model, alphabet, normalizer)
    with pytest.raises(ValueError, match="learned on another base model"):
        other.write("ok", style=back)
    with pytest.raises(ValueError, match="a hand file carries"):
        Style.from_file(path, text="what")


def test_damaged_hand_files_are_clear_errors(tmp_path, learned_pair):
    path = tmp_path / "bad.hand"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ValueError, match="bad.hand: not a readable hand file"):
        Style.from_file(path)
    from safetensors.torch import save
    path.write_bytes(save({"x": torch.zeros(2)}, metadata={"format": "something"}))
    with pytest.raises(ValueError, match="not a handwrite hand file"):
        Style.from_file(path)


def test_bad_input_is_refused_before_learning(tiny_writer, style):
    with pytest.raises(ValueError, match="1 to 10 lines"):
        tiny_writer.learn(Style.from_lines(style.lines * 6))
    with pytest.raises(ValueError, match="no lines given"):
        Style.from_lines([])
    with pytest.raises(ValueError, match="NaN or infinite"):
        Style([np.array([[0.0, 0.0], [np.nan, 1.0]])], "ok go")
    with pytest.raises(ValueError, match="cannot write"):
        tiny_writer.learn(Style(style.strokes, "the cat sat on a mat \u2603"))
    long = [np.c_[np.arange(10_000.0), 100 * np.sin(np.arange(10_000.0) / 7)]]
    with pytest.raises(ValueError, match="too long"):
        tiny_writer.learn(Style(long, "a line of ten thousand points"))
    with pytest.raises(ValueError, match="seconds"):
        tiny_writer.learn(style, seconds=-1)


def test_a_line_read_as_another_text_warns(tiny_model_parts, style, monkeypatch):
    class Misreader:
        def read(self, ink):
            return "something else entirely"
    writer = Writer.from_model(*tiny_model_parts, reader=Misreader())
    monkeypatch.setattr(learning, "LearnSettings", lambda: LearnSettings(steps=2))
    with pytest.warns(UserWarning) as caught:
        writer.learn(style)
    assert [str(w.message).split(":")[0] for w in caught] == ["style 'tester', line 1", "style 'tester', line 2"]
    assert "read as 'something else entirely', not 'the cat sat on a mat'" in str(caught[0].message)


def test_seconds_and_progress(tiny_writer, style):
    seen = []
    learned = tiny_writer.learn(style, seconds=1e-6, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, LearnSettings().steps)] and learned.info["learned"]["steps"] == 1


@pytest.mark.filterwarnings("ignore:.*strokes read as")
def test_cli_learn_then_write_with_the_hand(tmp_path, tiny_model_parts, style):
    weights = tmp_path / "tiny.safetensors"
    export_weights(weights, *tiny_model_parts)
    lines = tmp_path / "lines.json"
    style.to_json(lines)
    out = tmp_path / "me.hand"
    r = CliRunner().invoke(main, ["learn", str(lines), "-o", str(out), "--weights", str(weights), "--seconds", "2"])
    assert r.exit_code == 0, r.output
    assert "learned 2 line(s)" in r.output and out.is_file()
    png = tmp_path / "out.json"
    r = CliRunner().invoke(main, ["write", "ok go", "-o", str(png), "--weights", str(weights), "--style-file", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["write", "ok go", "-o", str(png), "--weights", str(weights),
                                  "--style-file", str(out), "--style-file", str(lines)])
    assert r.exit_code == 2 and "give it alone" in r.output


def test_cli_learn_writes_nothing_on_bad_input_or_ctrl_c(tmp_path, tiny_model_parts, style, monkeypatch):
    weights = tmp_path / "tiny.safetensors"
    export_weights(weights, *tiny_model_parts)
    bad = tmp_path / "bad.json"
    Style(style.strokes, "the cat sat on a mat \u2603").to_json(bad)
    out = tmp_path / "me.hand"
    r = CliRunner().invoke(main, ["learn", str(bad), "-o", str(out), "--weights", str(weights)])
    assert r.exit_code == 2 and "cannot write" in r.output and not out.exists()
    good = tmp_path / "good.json"
    style.to_json(good)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(Writer, "learn", interrupted)
    r = CliRunner().invoke(main, ["learn", str(good), "-o", str(out), "--weights", str(weights)])
    assert r.exit_code == 1 and "nothing written" in r.output and not list(tmp_path.glob("me.hand*"))


def test_training_after_reading_in_inference_mode(tiny_model_parts):
    # the recurrence's buffers, reused between calls, were once made under inference_mode by
    # a write and then written by a learning step outside it, which torch refuses
    model = tiny_model_parts[0]
    x, chars = torch.randn(8, 600, 3), torch.randint(1, 20, (8, 12))
    with torch.inference_mode():
        model(x, chars)
    with torch.enable_grad():
        model(x, chars).sum().backward()
