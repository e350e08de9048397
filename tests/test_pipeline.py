"""The writing pipeline (handwrite.pipeline): each step on its own, the checks' verdicts,
and the capital policy taken out or swapped without touching the sampler."""
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from handwrite import pipeline
from handwrite.capitals import CAPITAL_SCALE, CAPITAL_WIDEN, enlarge_stand_ins
from handwrite.drafts import Check, CheckContext, LineDraft, Step
from handwrite.options import WriterOptions
from handwrite.sampling import SampledLine

OPTIONS = WriterOptions()


def zigzag_line(text: str, tilt: float = 0.0, height: float = 10.0):
    """Page points (y down) and attention of a line whose letters are zig-zags of one
    stroke each, the baseline rising by `tilt` per unit of x; a space is a gap."""
    points, owner, x = [], [], 0.0
    for pos, char in enumerate(text):
        if char == " ":
            x += 8.0
            continue
        xs = x + np.linspace(0, 8.0, 7)
        ys = -height * np.array([0, 1, 0, 1, 0, 1, 0], float) - tilt * xs
        points.append(np.c_[xs, ys, np.eye(7)[-1]])
        owner += [pos] * 7
        x = xs[-1] + 2.0
    points = np.concatenate(points).astype(np.float32)
    phi = np.eye(len(text), dtype=np.float32)[owner[1:]]        # point k drawn under phi[k - 1]
    return points, phi


def draft(text: str, points, phi, model_text=None, **kw) -> LineDraft:
    sampled = SampledLine(np.zeros((len(points), 3), np.float32), phi, True)
    return LineDraft((0, 0), text, model_text or text, sampled, points, phi, **kw)


def test_the_default_pipeline_runs_its_steps_in_order():
    names = pipeline.DEFAULT_PIPELINE.names()
    assert names["line"] == ["level_baseline", "redraw_x", "add_top_arms", "enlarge_stand_ins", "even_word_sizes",
                             "drop_marks_after_stop", "open_word_gaps", "drop_marks_between_words"]
    assert names["checks"] == ["looks_written", "capitals_clear"]
    assert names["hand"] == ["match_hand", "join_letters"]
    assert names["page"] == ["same_size"]
    assert names["policies"] == ["capitals"]


def test_the_architecture_doc_lists_every_step():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = doc.split("## The writing pipeline", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\s*\d+\. `(\w+)`", section, re.M)
    names = pipeline.DEFAULT_PIPELINE.names()
    assert listed == names["line"] + names["checks"] + names["hand"] + names["page"]


def test_every_switch_names_an_option():
    p = pipeline.DEFAULT_PIPELINE
    for step in (*p.line_steps, *p.checks, *p.hand_steps, *p.page_steps):
        assert step.option is None or isinstance(getattr(OPTIONS, step.option), bool), step.name
        assert step.applies(OPTIONS)
    assert not Step("x", None, "even_sizes").applies(WriterOptions(even_sizes=False))


def test_level_baseline_makes_a_tilted_line_horizontal():
    points, phi = zigzag_line("abcdef", tilt=0.2)
    level = pipeline.level_baseline(draft("abcdef", points, phi), OPTIONS).points
    bottoms = level[level[:, 1] >= np.percentile(level[:, 1], 80)]
    slope = np.polyfit(bottoms[:, 0], bottoms[:, 1], 1)[0]
    assert abs(slope) < 0.02                                   # from 0.2
    assert level.shape == points.shape and np.array_equal(level[:, 2], points[:, 2])


def test_stand_ins_are_enlarged_only_where_the_network_wrote_one():
    points, phi = zigzag_line("ax")
    asked = draft("aX", points, phi, model_text="ax")
    big = enlarge_stand_ins(asked, OPTIONS).points
    x_of = lambda p: p[7:]                               # noqa: E731  (the second letter's points)
    np.testing.assert_allclose(np.ptp(x_of(big)[:, :2], axis=0),
                               [CAPITAL_SCALE * CAPITAL_WIDEN, CAPITAL_SCALE] * np.ptp(x_of(points)[:, :2], axis=0),
                               rtol=1e-5)
    np.testing.assert_array_equal(big[:7], points[:7])
    same = draft("ax", points, phi)
    assert enlarge_stand_ins(same, OPTIONS) is same


def test_even_word_sizes_step_evens_a_shrinking_line():
    text = "once more we swam near an ocean"
    rng = np.random.default_rng(0)
    parts, owner, x = [], [], 0.0
    for pos, char in enumerate(text):            # small letters shrinking to half their height
        if char == " ":
            x += 8.0
            continue
        h = 10.0 * (1 - 0.5 * pos / (len(text) - 1))
        xs = x + np.linspace(0, 0.8 * h, 7)
        parts.append(np.c_[xs, -h * np.array([0, 1, 0, 1, 0, 1, 0]) + rng.normal(0, 0.2, 7), np.eye(7)[-1]])
        owner += [pos] * 7
        x = xs[-1] + 2.0
    points = np.concatenate(parts).astype(np.float32)
    phi = np.eye(len(text), dtype=np.float32)[owner[1:]]
    out = pipeline.even_word_sizes(draft(text, points, phi), OPTIONS).points
    assert np.ptp(out[-7:, 1]) > 1.3 * np.ptp(points[-7:, 1])     # the last letter grew back
    np.testing.assert_allclose(out[:7], points[:7], atol=1e-5)      # the first word stays


def test_drop_marks_after_stop_drops_the_points_and_their_attention():
    points, phi = zigzag_line("ab")
    stop = np.array([[20.5, -0.5, 0], [21.0, 0.0, 1]], np.float32)        # a small dot after the word
    made_up = np.c_[np.linspace(28, 36, 6), -10 * np.array([0, 1, 0, 1, 0, 1]), np.eye(6)[-1]].astype(np.float32)
    points = np.concatenate([points, stop, made_up])
    phi = np.eye(3, dtype=np.float32)[[0] * 6 + [1] * 7 + [2] * 8]
    out = pipeline.drop_marks_after_stop(draft("ab.", points, phi), OPTIONS)
    assert len(out.points) == len(points) - len(made_up)
    assert len(out.phi) == len(out.points) - 1 and out.points[-1, 2] == 1.0


def test_match_hand_reshapes_only_a_line_with_a_hand():
    from handwrite.style_features import style_features
    from handwrite.preprocess import points_to_strokes
    points, phi = zigzag_line("mmmm nnnn mmmm")
    alone = draft("mmmm nnnn mmmm", points, phi)
    assert pipeline.match_hand(alone, OPTIONS) is alone
    own = style_features(points_to_strokes(points), alone.text)
    wanted = {**own, "slant": own["slant"] + 15.0}
    leaning = pipeline.match_hand(draft(alone.text, points, phi, hand=wanted), OPTIONS).points
    assert style_features(points_to_strokes(leaning), alone.text)["slant"] > own["slant"] + 5


def test_join_letters_only_for_a_joining_style():
    points, phi = zigzag_line("mmmm")
    alone = draft("mmmm", points, phi)
    assert pipeline.join_letters(alone, OPTIONS) is alone
    joined = pipeline.join_letters(draft("mmmm", points, phi, join=5.0), OPTIONS).points
    assert joined[:, 2].sum() < points[:, 2].sum()


def test_page_steps_can_be_switched_off():
    rng = np.random.default_rng(0)
    lines = [np.c_[rng.uniform(0, 50 * s, 200), rng.uniform(0, 10 * s, 200), np.zeros(200)] for s in (1, 1, 1, 2)]
    texts = ["abcdefghij"] * 4
    resized = pipeline.DEFAULT_PIPELINE.finish_page(lines, texts, OPTIONS)
    assert resized[3] is not lines[3]
    kept = pipeline.DEFAULT_PIPELINE.finish_page(lines, texts, WriterOptions(same_size=False))
    assert all(a is b for a, b in zip(kept, lines))


def test_a_check_verdict_keeps_its_own_retries():
    drafts = [draft("a", *zigzag_line("a")) for _ in range(3)]
    read = []
    hard = Check("usable", lambda ds, r: [0.0, 1.0, 1.0], hard=True)
    soft = Check("clear", lambda ds, r: read.append(len(ds)) or [-1.0, 2.0], retries="capital_retries")
    verdicts = pipeline.judge(drafts, [hard, soft], CheckContext(None, None), WriterOptions(retries=2, capital_retries=4))
    assert [(v.usable, v.clarity, v.retries) for v in verdicts] == [(False, -np.inf, 2), (True, -1.0, 4), (True, 2.0, -1)]
    assert read == [2]                                   # the soft check reads only the usable drafts
    assert verdicts[1].rank > verdicts[0].rank and verdicts[2].rank > verdicts[1].rank


def test_without_the_capital_policy_the_network_is_asked_for_the_text_as_it_is(tiny_writer, monkeypatch):
    import handwrite.writer as writer_module
    plain = pipeline.DEFAULT_PIPELINE.without("capitals")
    assert "enlarge_stand_ins" not in plain.names()["line"] and plain.names()["checks"] == ["looks_written"]
    asked = []
    real = writer_module.sample_lines

    def spy(model, codes, **settings):
        asked.append(([tiny_writer.alphabet.decode(c) for c in codes], settings["char_bias"]))
        return real(model, codes, **settings)
    monkeypatch.setattr(writer_module, "sample_lines", spy)
    tiny_writer.with_options(pipeline=plain).write("Xylophone", style="free", seed=0)
    assert asked[0] == (["Xylophone"], [None])
    asked.clear()
    tiny_writer.write("Xylophone", style="free", seed=0)
    assert asked[0][0] == ["xylophone"] and asked[0][1][0][0] == OPTIONS.steady_capitals
    with pytest.raises(ValueError, match="no step or policy 'nope'"):
        plain.without("nope")


def test_a_line_written_by_two_calls_keeps_each_call_s_best(tiny_writer):
    """Attempts are kept per call: a line the caller writes twice (the old shared store
    raised KeyError here, looking up its best attempt before it had one)."""
    from handwrite.layout import split_text
    from handwrite.sampling import run_to_end
    layouts = [split_text("hello", 50)]
    stats = [{"retried": 0, "failed": 0, "rewritten": 0, "misread": []}]
    rng = np.random.default_rng(0)
    first = run_to_end(tiny_writer._write_lines([(0, 0)], layouts, None, 0.75, rng, stats))
    again = run_to_end(tiny_writer._write_lines([(0, 0)], layouts, None, 0.75, rng, stats))
    assert set(first) == set(again) == {(0, 0)}
    assert first[(0, 0)].text == again[(0, 0)].text == "hello"


def test_line_shapes_run_each_lines_steps_once_and_the_hand_steps_only_with_a_hand():
    from handwrite.alphabet import Alphabet
    from handwrite.preprocess import Normalizer
    calls = []

    def counted(name, shift):
        def step(d, options):
            calls.append(name)
            points = d.points.copy()
            points[:, 1] += shift
            return replace(d, points=points)
        return Step(name, step)
    steps = pipeline.Pipeline(line_steps=(counted("line", 1.0),), hand_steps=(counted("hand", 10.0),),
                              page_steps=(), policies=())
    alphabet, normalizer = Alphabet(" acts"), Normalizer([0.0, 0.0], [1.0, 1.0])
    offsets = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 1]], np.float32)
    line = SampledLine(offsets, np.ones((2, 3), np.float32), True)
    same = SampledLine(offsets.copy(), line.phi, True)                 # the same line, another object
    for hand, expected in ((None, 1.0), (({"slant": 0.0}, 0.0), 11.0)):
        calls.clear()
        shapes = pipeline.LineShapes(steps, OPTIONS, alphabet, normalizer, hand)
        first = shapes.finished(shapes.line(line, "cat"))
        again = shapes.finished(replace(shapes.line(same, "cat"), key=(0, 3), sampled=same))
        assert calls == (["line"] if hand is None else ["line", "hand"])      # once each, however often asked
        assert again.key == (0, 3) and again.sampled is same
        np.testing.assert_array_equal(again.points, first.points)
        sampled_points = LineDraft.from_sample(None, "cat", "cat", line, normalizer).points
        np.testing.assert_allclose(first.points[:, 1] - sampled_points[:, 1], expected)
        shapes.line(line, "cot")                                               # another text: shaped anew
        assert calls.count("line") == 2
