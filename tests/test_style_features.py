"""Style features on hand-made strokes, hand matching, and `eval --styles` on tiny data."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_form

from handwrite.preprocess import points_to_strokes
from handwrite.style_features import (FEATURES, SMOOTH_POINTS, match_hand, mean_features, rank_of, resample,
                                      smooth_strokes, style_features)

TEXT = "lll lll lll"


def upright_line(words: int = 3, letters: int = 3, points_per_stroke: int = 40) -> list[np.ndarray]:
    """Print-like writing: each letter a separate narrow upright loop (an "0"), 100 tall."""
    strokes, x = [], 0.0
    for _ in range(words):
        for _ in range(letters):
            t = np.linspace(0, 2 * np.pi, points_per_stroke)
            strokes.append(np.stack([x + 10 * np.sin(t), 50 - 50 * np.cos(t)], 1))
            x += 70
        x += 60
    return strokes


def shear(strokes, degrees: float) -> list[np.ndarray]:
    k = np.tan(np.radians(degrees))
    return [np.stack([s[:, 0] + k * (100 - s[:, 1]), s[:, 1]], 1) for s in strokes]


def joined(strokes) -> list[np.ndarray]:
    """The same letters, each word written without lifting the pen."""
    out, word = [], []
    for i, s in enumerate(strokes):
        word.append(s)
        if (i + 1) % 3 == 0:
            out.append(np.concatenate(word))
            word = []
    return out


@pytest.mark.parametrize("degrees", [-10.0, 0.0, 12.0, 25.0])
def test_a_sheared_line_has_the_slant_it_was_given(degrees):
    base = style_features(upright_line(), TEXT)["slant"]
    assert abs(base) < 1.0
    assert style_features(shear(upright_line(), degrees), TEXT)["slant"] == pytest.approx(degrees, abs=1.5)


def test_a_joined_line_has_fewer_pen_lifts():
    separate = style_features(upright_line(), TEXT)
    connected = style_features(joined(upright_line()), TEXT)
    assert separate["lifts_per_char"] == pytest.approx(1.0)        # 9 strokes, 9 letters
    assert connected["lifts_per_char"] == pytest.approx(3 / 9)     # 3 words, one stroke each


def test_features_do_not_depend_on_size_point_density_or_jitter():
    ref = style_features(upright_line(), TEXT)
    bigger = style_features([s * 3.7 + 50 for s in upright_line()], TEXT)
    dense = style_features(upright_line(points_per_stroke=200), TEXT)
    rng = np.random.default_rng(0)
    # a tablet's jitter: 0.5% of the letter height, at 4x the points
    jittery = style_features([s + rng.normal(0, 0.5, s.shape) for s in upright_line(points_per_stroke=160)], TEXT)
    for other in (bigger, dense, jittery):
        assert other["slant"] == pytest.approx(ref["slant"], abs=2.0)
        for k in ("width_per_char", "ink_per_char", "height_ratio"):
            assert other[k] == pytest.approx(ref[k], rel=0.1), k
        assert other["lifts_per_char"] == ref["lifts_per_char"]
    assert jittery["turning"] == pytest.approx(ref["turning"], rel=0.15)


def test_wider_writing_has_a_larger_width_per_character():
    narrow = style_features(upright_line(), TEXT)
    wide = style_features([s * [1.5, 1.0] for s in upright_line()], TEXT)
    assert wide["width_per_char"] == pytest.approx(1.5 * narrow["width_per_char"], rel=0.05)


def test_resample_spaces_points_evenly_and_keeps_the_ends():
    stroke = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 5.0]])
    dot, short = np.array([[3.0, 3.0], [3.0, 3.0]]), np.array([[0.0, 0.0], [0.2, 0.0]])
    even, still, two = resample([stroke, dot, short], 1.0)          # all strokes at once, each on its own
    steps = np.hypot(*np.diff(even, axis=0).T)
    assert len(even) == 16 and np.allclose(steps, steps[0]) and steps[0] <= 1.0
    assert np.allclose(even[0], stroke[0]) and np.allclose(even[-1], stroke[-1])
    assert still.tolist() == [[3.0, 3.0]]                               # no length: its one point
    assert np.allclose(two, short)                                      # shorter than a step: its ends


def test_smooth_strokes_averages_each_stroke_on_its_own():
    # every stroke at once, as if each were smoothed alone: a moving average of
    # SMOOTH_POINTS with the stroke's ends repeated; strokes that short are kept as they are
    rng = np.random.default_rng(3)
    strokes = [rng.normal(size=(n, 2)).cumsum(0) for n in (1, 3, SMOOTH_POINTS, SMOOTH_POINTS + 1, 40)]
    got = np.split(smooth_strokes(np.concatenate(strokes), [len(s) for s in strokes]),
                   np.cumsum([len(s) for s in strokes])[:-1])
    pad = SMOOTH_POINTS // 2
    for stroke, smoothed in zip(strokes, got):
        if len(stroke) <= SMOOTH_POINTS:
            assert np.array_equal(smoothed, stroke)
            continue
        padded = np.concatenate([stroke[:1].repeat(pad, 0), stroke, stroke[-1:].repeat(pad, 0)])
        want = np.array([padded[i:i + SMOOTH_POINTS].mean(0) for i in range(len(stroke))])
        assert np.allclose(smoothed, want, rtol=0, atol=1e-12)


def test_features_refuse_empty_input():
    with pytest.raises(ValueError, match="no pen strokes"):
        style_features([], TEXT)
    with pytest.raises(ValueError, match="empty"):
        style_features(upright_line(), "   ")


def test_match_hand_gives_a_line_the_target_slant_and_width():
    target = style_features([s * [1.3, 1.0] for s in shear(upright_line(), 15.0)], TEXT)
    line = upright_line()
    points = np.concatenate([np.c_[s, np.r_[np.zeros(len(s) - 1), 1.0]] for s in line]).astype(np.float32)
    matched = match_hand(points, TEXT, target)
    got = style_features(points_to_strokes(matched), TEXT)
    assert got["slant"] == pytest.approx(target["slant"], abs=1.5)
    assert got["width_per_char"] == pytest.approx(target["width_per_char"], rel=0.05)
    assert np.array_equal(matched[:, 2], points[:, 2])                # pen lifts untouched
    bigger = match_hand(points, TEXT, {**target, "size": 2.0})
    assert np.ptp(bigger[:, 1]) == pytest.approx(2 * np.ptp(matched[:, 1]), rel=1e-4)


def test_match_hand_is_bounded_and_leaves_unmeasurable_lines_alone():
    line = np.concatenate([np.c_[s, np.r_[np.zeros(len(s) - 1), 1.0]] for s in upright_line()]).astype(np.float32)
    wild = {"slant": 80.0, "width_per_char": 100.0}
    got = style_features(points_to_strokes(match_hand(line, TEXT, wild)), TEXT)
    assert got["slant"] < 30
    flat = np.array([[0, 0, 0], [5, 0, 1]], np.float32)
    assert np.array_equal(match_hand(flat, "ab", wild), flat)


def test_rank_of_counts_closer_profiles():
    profiles = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    scale = np.ones(2)
    assert rank_of(np.array([0.9, 0.0]), profiles, scale, 1) == 1
    assert rank_of(np.array([0.9, 0.0]), profiles, scale, 0) == 2
    assert rank_of(np.array([0.9, 0.0]), profiles, scale, 2) == 3
    # scaled by the spread: a feature with a large spread counts for less
    assert rank_of(np.array([0.0, 3.0]), np.array([[0.0, 0.0], [2.0, 3.0]]), np.array([1.0, 100.0]), 0) == 1


def test_mean_features_averages_each_feature():
    rows = [dict.fromkeys(FEATURES, 1.0), dict.fromkeys(FEATURES, 3.0)]
    assert mean_features(rows) == dict.fromkeys(FEATURES, 2.0)


# ---- eval --styles on tiny data -----------------------------------------------------------
LONG_TEXTS = ["the cat sat on a mat and it was fun", "Zoe sat on the mat and the cat was fun",
              "a quiz was fun and the cat sat on it", "the mat was on the cat and it sat"]


@pytest.fixture
def style_iam(tmp_path):
    """Three writers, four lines each, long enough to prime and to write."""
    root = tmp_path / "iam"
    rng = np.random.default_rng(1)
    rows = ["form_id\twriter_id"]
    for w in range(3):
        form = f"a01-{w:03d}x"
        write_form(root, form, LONG_TEXTS, rng=rng)
        rows.append(f"{form}\t{20000 + w}")
    (root / "writers.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_eval_styles_gives_every_key_on_tiny_data(style_iam, tiny_writer, monkeypatch, tmp_path):
    from handwrite.training import evaluate_styles as es
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    # one recogniser that reads nothing: every CER is 1, whatever is written
    monkeypatch.setattr(es, "recognisers", lambda: [es.Recogniser("blind", lambda png: "")])
    r = es.evaluate_styles(style_iam, tiny_writer, targets=2, preset_lines=2, split="all", progress=False,
                           precision="fp32")
    assert r["precision"] == "fp32"
    assert r["writers"] == 3 and r["writer_lines"] == 12 and r["features"] == list(FEATURES)
    im = r["imitation"]
    assert im["writers"] == 3 and im["lines"] == 6 and im["chance_top3"] == 1.0
    for kind in ("imitation", "real", "default", "primer"):
        assert 0 <= im[f"{kind}_top1"] <= im[f"{kind}_top3"] <= 1
    assert im["real_top3"] == im["primer_top3"] == 1.0      # three writers: every line is in the first three
    assert im["real_top3_interval"] == [1.0, 1.0]             # ... whichever writers are drawn
    for kind in ("imitation", "default"):
        lo, hi = im[f"{kind}_top3_interval"]
        assert 0 <= lo <= im[f"{kind}_top3"] <= hi <= 1
    from handwrite.styles import presets
    assert [p["name"] for p in r["presets"]] == [s.name for s in presets()]
    assert all(p["cer"] == {"blind": 1.0} and set(p["features"]) == set(FEATURES) for p in r["presets"])
    assert r["human_cer"] == {"blind": 1.0} and set(r["spread"]) == set(FEATURES)
    one = r["one_writer_vs_people"]
    assert one["writers"] == 3 and 0 <= one["quartiles"][0] <= one["median"] <= one["quartiles"][1] <= 1
    json.dumps(r)                          # the --json output
    report = es.format_styles_report(r)
    assert "imitation" in report and presets()[0].name in report and "one real writer" in report
    assert f"90% over writers {im['imitation_top3_interval'][0]:.2f}" in report
    with pytest.raises(ValueError, match="precision"):
        es.evaluate_styles(style_iam, tiny_writer, preset_lines=0, split="all", progress=False, precision="half")


def test_one_writer_against_people_is_told_apart_by_how_far_the_hand_stands_out():
    from handwrite.training.evaluate_styles import one_writer_vs_people
    rng = np.random.default_rng(0)
    writers = [w for w in range(8) for _ in range(12)]
    texts = ["a line long enough to be written"] * len(writers)
    centres = rng.normal(0, 1, (8, len(FEATURES)))
    alike = rng.normal(0, 1, (len(writers), len(FEATURES)))          # every writer the same spread
    apart = centres[writers] * 4 + rng.normal(0, 0.3, alike.shape)   # each writer a tight cluster of their own
    same, own = one_writer_vs_people(alike, texts, writers, 10), one_writer_vs_people(apart, texts, writers, 10)
    assert same["writers"] == own["writers"] == 8
    assert same["median"] < 0.7 < 0.9 < own["median"]
    assert one_writer_vs_people(alike, texts, writers, 13) is None   # no writer has 13 lines
    short = ["too short"] * len(writers)                             # no line of a length to write
    assert one_writer_vs_people(alike, short, writers, 10) is None


def test_eval_styles_needs_two_writers(tmp_path, tiny_writer, monkeypatch):
    from handwrite.training import evaluate_styles as es
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "one"
    write_form(root, "a01-000x", LONG_TEXTS)
    with pytest.raises(ValueError, match="at least 2 writers"):
        es.evaluate_styles(root, tiny_writer, split="all", progress=False)


def test_cli_eval_styles_reports_a_missing_folder(tmp_path):
    from handwrite.cli import main
    result = CliRunner().invoke(main, ["eval", "--styles", "--data", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "nope" in result.output


def test_body_height_or_span_is_a_unit_that_is_never_zero():
    from handwrite.style_features import body_height, body_height_or_span
    rng = np.random.default_rng(3)
    ink = np.c_[np.arange(50.0), rng.normal(0, 4, 50)]
    assert body_height_or_span(ink) == body_height(ink) > 0
    dash = np.c_[np.arange(10.0), [0.0] * 9 + [5.0]]                 # 90% of the ink on one level
    assert body_height(dash) == 0 and body_height_or_span(dash) == 5.0
    assert body_height_or_span(np.array([[0, 2.0], [3, 2.0]])) == 1.0


def test_top_interval_spans_what_other_writers_would_give():
    from handwrite.training.evaluate_styles import interval_text, top_interval
    # writers a and b: every line ranked first; c and d: never in the first three
    ranks, writers = [1, 1, 1, 2, 5, 9, 4, 7], list("aabbccdd")
    lo, hi = top_interval(ranks, writers)
    assert lo < 0.5 < hi and lo >= 0 and hi <= 1        # 0.5 here; drawing other writers moves it
    assert top_interval(ranks, writers) == [lo, hi]     # seeded
    # the same share, but each writer half right: drawing other writers changes nothing
    assert top_interval([1, 9] * 4, list("aabbccdd")) == [0.5, 0.5]
    assert top_interval(ranks, writers, top=9) == [1.0, 1.0]
    assert interval_text([0.25, 0.75]) == "0.25-0.75"


def test_two_sample_accuracy_tells_apart_only_what_differs():
    from handwrite.training.evaluate_styles import two_sample_accuracy
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 3)), rng.normal(size=(60, 3))
    assert two_sample_accuracy(a, b) < 0.65
    assert two_sample_accuracy(a, b + [3.0, 0, 0]) > 0.9


def test_eval_learned_hands_gives_every_key_on_tiny_data(style_iam, tiny_writer, monkeypatch, tmp_path):
    from handwrite import learning
    from handwrite.training import evaluate_learning as el
    from handwrite.training import evaluate_styles as es
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(el, "recognisers", lambda: [es.Recogniser("blind", lambda png: "")])
    settings = learning.LearnSettings
    monkeypatch.setattr(learning, "LearnSettings", lambda: settings(steps=3))
    r = es.evaluate_styles(style_iam, tiny_writer, targets=1, preset_lines=0, split="all", progress=False,
                           learning=lambda ev, f: el.learned_figures(ev, f, bias=0.75, targets=1, progress=False,
                                                                     learn_from=(1, 2)))
    lr = r["learning"]
    assert lr["writers"] == 3 and lr["lines"] == 3 and lr["learn_from"] == [1, 2]
    for n in (1, 2):
        f = lr[f"from_{n}"]
        assert 0 <= f["top1"] <= f["top3"] <= 1 and 0 <= f["real_vs_learned"] <= 1
        assert 0 <= f["primer_top1"] <= f["primer_top3"] == 1
        assert f["top3_interval"][0] <= f["top3"] <= f["top3_interval"][1]
        assert f["legibility"] == {"blind": 0.0} and f["seconds_max"] >= f["seconds_median"] > 0
    json.dumps(r)
    report = el.format_learning_report(lr)
    assert "from 2 line(s)" in report and f"90% over writers {lr['from_2']['top3_interval'][0]:.2f}" in report
