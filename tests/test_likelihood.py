"""handwrite.likelihood: the network's log-likelihood of written strokes under a text, and
the writer writing a line again while one of its capitals reads like a rival letter."""
import numpy as np
import pytest
import torch

from handwrite import capitals, likelihood, pipeline
from handwrite.drafts import Check
from handwrite.model import mdn_nll


def _drawn(n=40, seed=0):
    """Points as a line's network draws them: normalised (dx, dy, eos)."""
    rng = np.random.default_rng(seed)
    return np.c_[rng.normal(size=(n, 2)), rng.random(n) < 0.15].astype(np.float32)


def _direct(model, seq, codes, scored):
    """log p of the last `scored` points of seq, reading all of seq from a line's start."""
    x = torch.from_numpy(seq)[None]
    chars = torch.tensor([codes + [0]])
    with torch.inference_mode():
        y = model(x[:, :-1], chars)
        mask = torch.zeros(1, len(seq) - 1)
        mask[:, -scored:] = 1
        return -float(mdn_nll(y, x[:, 1:], mask, model.config.output_mixtures).sum())


def test_rivals_replace_each_capital_and_skip_what_the_alphabet_lacks(tiny_model_parts):
    _, alphabet, _ = tiny_model_parts
    rivals = likelihood.rival_texts("Hi Kay", alphabet, capitals=None)
    assert {i for i, _ in rivals} == {0, 3}
    assert ("hi Kay" in [t for _, t in rivals]) and ("Hi kay" in [t for _, t in rivals])
    assert all(len(t) == 6 and t != "Hi Kay" for _, t in rivals)
    # K's rival k comes once, though it is both its small letter and in RIVALS
    assert [t for i, t in rivals if i == 3].count("Hi kay") == 1
    assert likelihood.rival_texts("no capitals here", alphabet) == []
    assert {i for i, _ in likelihood.rival_texts("Hi Kay Ann", alphabet)} == {0, 3}     # checked ones only


def test_log_likelihoods_without_a_primer_read_the_line_after_a_zero_point(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    lines = [_drawn(40), _drawn(25, seed=1), _drawn(40)]     # rows of different lengths, one batch
    texts = [alphabet.encode("Kettle"), alphabet.encode("kettle"), alphabet.encode("Ke")]
    got = likelihood.log_likelihoods(model, list(zip(lines, texts)))
    want = [_direct(model, np.concatenate([np.zeros((1, 3), np.float32), d]), t, len(d))
            for d, t in zip(lines, texts)]
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert len(set(np.round(got, 3))) == 3           # the text matters


def test_log_likelihoods_after_a_primer_score_the_line_alone(tiny_model_parts, monkeypatch):
    """From the primer's text-independent start: the same as reading primer and line whole."""
    monkeypatch.setattr(likelihood, "LATE_TAIL", 0.0)      # start where the text first matters
    model, alphabet, _ = tiny_model_parts
    primer = (_drawn(80, seed=1), alphabet.encode("some primer text "))
    line = _drawn(30, seed=2)
    texts = [alphabet.encode("Kettle"), alphabet.encode("lettle")]
    got = likelihood.log_likelihoods(model, [(line, t) for t in texts], primer)
    seq = np.concatenate([primer[0], line])
    want = [_direct(model, seq, primer[1] + t, len(line)) for t in texts]
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_drawn_holds_the_line_as_drawn(tiny_model_parts):
    """SampledLine.drawn ends with the line's offsets (their zeroed start aside), and
    without a primer it is exactly them."""
    from handwrite.sampling import sample_lines
    model, alphabet, normalizer = tiny_model_parts
    codes = [alphabet.encode("hello")]
    free = sample_lines(model, codes, seed=3, normalizer=normalizer)[0]
    np.testing.assert_array_equal(free.drawn, free.offsets[1:])
    primed = sample_lines(model, codes, seed=3, normalizer=normalizer,
                          primer=(_drawn(60, seed=4), alphabet.encode("primer text ")))[0]
    n = len(primed.offsets)
    assert len(primed.drawn) >= n - 1
    np.testing.assert_array_equal(primed.drawn[len(primed.drawn) - (n - 2):], primed.offsets[2:])


def test_capital_margin_is_the_true_text_over_its_best_rival(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    line = _drawn()
    text = "Ok Go"
    rivals = likelihood.rival_texts(text, alphabet, capitals=None)
    logp = likelihood.log_likelihoods(model, [(line, alphabet.encode(t)) for t in [text] + [r for _, r in rivals]])
    per_capital = [logp[0] - max(lp for (i, _), lp in zip(rivals, logp[1:]) if i == pos) for pos in (0, 3)]
    margins = likelihood.capital_margins(model, alphabet, [(line, text), (line, "ok go"), (_drawn(9), "Go")],
                                         capitals=None)
    assert margins[0] == pytest.approx(min(per_capital), rel=1e-5)
    assert margins[1] == float("inf")                # no capitals: not scored
    assert np.isfinite(margins[2]) and margins[2] != margins[0]


@pytest.fixture
def scripted(monkeypatch, tiny_writer):
    """The tiny writer with every line accepted as written and capitals' clearance given by
    a script, one per attempt (the test may replace it); returns (writer, calls, script):
    per call, (clearance, the line's pen column)."""
    monkeypatch.setattr(pipeline, "line_looks_written", lambda *a: True)
    calls = []
    script = [-3.0, -1.0, -2.0, -5.0, -4.0, -6.0]

    def shown(drafts, reader):
        out = []
        for draft in drafts:
            if not any(c in likelihood.CAPITAL_MARGINS for c in draft.text):
                out.append(np.inf)
                continue
            calls.append((script.pop(0), draft.points[:, 2].copy()))
            out.append(calls[-1][0])
        return out
    scripted_check = Check("capitals_clear", shown, "check_capitals", retries="capital_retries")
    writer = tiny_writer.with_options(pipeline=tiny_writer.pipeline.replacing("capitals_clear", scripted_check))
    return writer, calls, script


def test_a_line_whose_capital_reads_like_a_rival_is_written_again_and_the_clearest_kept(scripted):
    writer, calls, _ = scripted
    hw = writer.write("Kettle", seed=1)             # every scripted attempt falls short of 0
    assert len(calls) == writer.options.capital_retries + 1
    best = max(calls, key=lambda c: c[0])
    assert best[0] == -1.0
    np.testing.assert_array_equal(hw.lines[0].points[:, 2], best[1])
    assert hw.info["retried_lines"] == 0             # written, only not clearly: not counted as wrong


def test_a_clear_capital_and_a_line_without_checked_capitals_are_written_once(scripted):
    writer, calls, script = scripted
    script[:] = [4.0, -1.0]
    writer.write_many(["Kettle", "Apple", "no capitals"], seed=1)
    assert [c[0] for c in calls] == [4.0]            # clear at once; A is not a checked capital
    writer.with_options(check_capitals=False).write("Kettle", seed=1)     # off: nothing scored
    assert len(calls) == 1
    calls.clear()
    script[:] = [-1.0, -2.0, 3.0]
    writer.with_options(capital_retries=1).write("Kettle", seed=1)
    assert [c[0] for c in calls] == [-1.0, -2.0]     # written again only once


def test_the_clearance_is_the_margin_less_the_letters_threshold(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    line = _drawn()
    plain = likelihood.capital_margins(model, alphabet, [(line, "Kettle")], capitals=None)[0]
    checked = likelihood.capital_margins(model, alphabet, [(line, "Kettle")])[0]
    assert checked == pytest.approx(plain - likelihood.CAPITAL_MARGINS["K"], rel=1e-5)
    assert likelihood.capital_margins(model, alphabet, [(line, "Apple")]) == [np.inf]


def test_the_real_check_runs_in_the_writer(tiny_writer):
    """Unpatched: an untrained model's capitals are unclear, so lines are written again,
    and the writing still comes out whole."""
    hw = tiny_writer.write("Hi Kay", seed=2)
    assert hw.text == "Hi Kay" and len(hw.lines[0].points) > 5


def test_a_long_line_is_not_checked(tiny_writer, monkeypatch):
    monkeypatch.setattr(pipeline, "line_looks_written", lambda *a: True)
    scored = []
    monkeypatch.setattr(capitals, "capital_margins",
                        lambda model, alphabet, lines, primer: scored.append([t for _, t, _ in lines]) or [-1.0] * len(lines))
    tiny_writer.write("Kettle on the hob", seed=1)   # four words: more than CHECKED_WORDS
    assert scored in ([], [[]])
    scored.clear()
    tiny_writer.write("Kettle", seed=1)
    assert scored == [["Kettle"]] * (tiny_writer.options.capital_retries + 1)
    scored.clear()
    tiny_writer.with_options(checked_words=4).write("Kettle on the hob", seed=1)
    assert scored == [["Kettle on the hob"]] * (tiny_writer.options.capital_retries + 1)


def test_a_capital_is_judged_on_the_points_of_its_own_word():
    drawn_on = np.array([-1, -1, 0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 6])   # "Ab Cd Ef", window per point
    text = "Ab Cd Ef"
    assert likelihood.word_points(drawn_on, text, 0, 13) == (2, 7)     # "Ab " up to the window on "C"
    assert likelihood.word_points(drawn_on, text, 3, 13) == (7, 11)    # "Cd ": from "C" to "E"
    assert likelihood.word_points(drawn_on, text, 6, 13) == (11, 13)   # "Ef": to the line's end
    assert likelihood.word_points(None, text, 3, 13) == (0, 13)        # not known: the whole line


def test_word_scoring_reads_only_up_to_the_word(tiny_model_parts):
    """A capital's margin with drawn_on is that of its word's points, and the line after
    the word changes nothing."""
    model, alphabet, _ = tiny_model_parts
    drawn = _drawn(60)
    text = "Kate met Ed"
    drawn_on = np.repeat(np.arange(len(text)), 6)[:60]
    first, stop = likelihood.word_points(drawn_on, text, 0, 60)
    a = likelihood.capital_margins(model, alphabet, [(drawn, text, drawn_on)], capitals={"K": 0.0})[0]
    changed = drawn.copy()
    changed[stop:] += 1.0                            # after the word: other points
    b = likelihood.capital_margins(model, alphabet, [(changed, text, drawn_on)], capitals={"K": 0.0})[0]
    assert a == pytest.approx(b, rel=1e-5)
    whole = likelihood.capital_margins(model, alphabet, [(drawn, text)], capitals={"K": 0.0})[0]
    assert whole != pytest.approx(a, rel=1e-3)
