"""Parts of a written line found from the attention: words, and evening out their size."""
import numpy as np
import pytest

from handwrite.letters import (DRIFT_CORRECTION, LEAST_WORD_GAP, drop_marks_after_stop, drop_marks_between_words,
                               even_word_sizes, join_letters, open_word_gaps, size_drift, stroke_owners, stroke_spans,
                               word_gaps, word_parts)

TEXT = "once more we swam near an ocean"


def drawn_line(text: str, size_at_end: float, jitter: float = 0.0, seed: int = 0):
    """Points (y down) and attention for a line whose small letters are zig-zags of one
    stroke each, their height going linearly from 10 at the start to 10 * size_at_end;
    a space is a gap.  phi points each point at the letter it belongs to."""
    rng = np.random.default_rng(seed)
    points, owner, x = [], [], 0.0
    n = len(text)
    for pos, char in enumerate(text):
        if char == " ":
            x += 8.0
            continue
        h = 10.0 * (1 + (size_at_end - 1) * pos / (n - 1))
        zig = np.array([0, 1, 0, 1, 0, 1, 0], float)
        xs = x + np.linspace(0, 0.8 * h, len(zig))
        ys = -h * zig + rng.normal(0, jitter, len(zig))
        eos = np.zeros(len(zig))
        eos[-1] = 1
        points.append(np.c_[xs, ys, eos])
        owner += [pos] * len(zig)
        x = xs[-1] + 2.0
    points = np.concatenate(points).astype(np.float32)
    phi = np.eye(n, dtype=np.float32)[owner[1:]]          # point k was drawn under phi[k - 1]
    return points, phi


def heights_of_words(points, phi, text):
    return [float(np.ptp(points[m, 1])) for m in word_parts(points, phi, text)]


def test_strokes_belong_to_the_letter_they_were_drawn_on():
    points, phi = drawn_line("ab c", 1.0)
    spans, owners, shares = stroke_owners(points, phi)
    assert list(owners) == [0, 1, 3] and np.all(shares == 1.0)
    assert stroke_owners(points, phi[:-1]) is None           # attention of another line


def test_words_are_found_from_the_attention():
    points, phi = drawn_line(TEXT, 1.0)
    words = word_parts(points, phi, TEXT)
    assert len(words) == len(TEXT.split())
    assert sum(int(m.sum()) for m in words) == len(points)
    lefts = [points[m, 0].min() for m in words]
    assert lefts == sorted(lefts)


def test_drift_is_measured_from_the_small_letters():
    for end in (0.7, 1.0, 1.3):
        points, phi = drawn_line(TEXT, end, jitter=0.3)
        slope, letters = size_drift(points, phi, TEXT)
        assert letters == sum(c != " " for c in TEXT)
        assert np.exp(slope) == pytest.approx(end, abs=0.05)


def test_a_shrinking_line_is_written_at_its_starting_size():
    points, phi = drawn_line(TEXT, 0.65)
    before = heights_of_words(points, phi, TEXT)
    out = even_word_sizes(points, phi, TEXT)
    after = heights_of_words(out, phi, TEXT)
    assert before[-1] < 0.75 * before[0]
    # DRIFT_CORRECTION of the drift is taken out: the end at 0.65 ** (1 - 0.7) = 0.88 of the start
    expected = 0.65 ** (1 - DRIFT_CORRECTION)
    assert after[-1] / after[0] == pytest.approx(expected, rel=0.08)
    assert after[0] == pytest.approx(before[0], rel=0.05)          # the start keeps its size
    assert np.all(out[:, 1] <= 1e-4)                                  # every word still stands on the line
    gaps = [out[b, 0].min() - out[a, 0].max() for a, b in zip(word_parts(out, phi, TEXT)[:-1],
                                                               word_parts(out, phi, TEXT)[1:])]
    assert min(gaps) > 0                                              # no word runs into the next


def test_steady_lines_growing_lines_short_lines_and_missing_attention_are_left_alone():
    steady, phi = drawn_line(TEXT, 1.05, jitter=0.3)
    np.testing.assert_array_equal(even_word_sizes(steady, phi, TEXT), steady)
    growing, phi = drawn_line(TEXT, 1.4)
    np.testing.assert_array_equal(even_word_sizes(growing, phi, TEXT), growing)
    short, short_phi = drawn_line("we swam", 0.5)
    np.testing.assert_array_equal(even_word_sizes(short, short_phi, "we swam"), short)
    shrinking, phi = drawn_line(TEXT, 0.6)
    np.testing.assert_array_equal(even_word_sizes(shrinking, None, TEXT), shrinking)
    np.testing.assert_array_equal(even_word_sizes(shrinking, phi, TEXT + " and more"), shrinking)


def _strokes_to_points(strokes):
    rows = []
    for s in strokes:
        s = np.asarray(s, np.float32)
        eos = np.zeros(len(s), np.float32)
        eos[-1] = 1
        rows.append(np.c_[s, eos])
    return np.concatenate(rows)


def test_made_up_marks_after_a_final_stop_are_dropped_and_late_bars_kept():
    word = [(0, 0), (5, -10), (10, 0), (15, -10), (20, 0)]                  # a zig-zag "word", 10 high
    dot = [(24, 0), (24.5, 0.5)]
    made_up = [(30, -15), (30, 0)]                                          # an "l" after the stop
    bar = [(8, -8), (16, -8)]                                               # a t's bar drawn late
    points = _strokes_to_points([word, dot, made_up, bar])
    owner = [0] * 5 + [2] * 2 + [2] * 2 + [1] * 2                          # "a", ".", still ".", "t"
    phi = np.eye(3, dtype=np.float32)[owner[1:]]
    out, out_phi = drop_marks_after_stop(points, phi, "at.")
    assert len(out) == len(points) - len(made_up)
    assert out[:, 0].max() <= 24.5                                          # nothing right of the stop
    assert any((out[:, :2] == (16, -8)).all(1))                             # the bar stays
    assert out[-1, 2] == 1 and len(out_phi) == len(out) - 1
    same, same_phi = drop_marks_after_stop(points, phi, "at")               # no stop: nothing to judge
    assert same is points and same_phi is phi
    clean = _strokes_to_points([word, dot])
    np.testing.assert_array_equal(drop_marks_after_stop(clean, None, "at.")[0], clean)


def test_a_flick_of_the_pen_between_words_is_dropped_and_a_comma_tail_kept():
    a = [(0, 0), (5, -10), (10, 0), (15, -10), (20, 0)]                     # "a", 10 high
    comma = [(22, 0), (22.5, 2)]
    tail = [(23, 2), (22, 5)]                                               # the comma's tail, drawn on the space
    flick = [(33, -2), (33.2, -8), (33.1, -7)]                              # a tick in the gap
    b = [(45, 0), (50, -10), (55, 0), (60, -10), (65, 0)]                   # "b"
    points = _strokes_to_points([a, comma, tail, flick, b])
    owner = [0] * 5 + [1] * 2 + [2] * 2 + [2] * 3 + [3] * 5                 # "a", ",", " ", " ", "b"
    phi = np.eye(4, dtype=np.float32)[owner[1:]]
    out, out_phi = drop_marks_between_words(points, phi, "a, b")
    assert len(out) == len(points) - len(flick) and len(out_phi) == len(out) - 1
    assert not ((out[:, 0] > 30) & (out[:, 0] < 40)).any()                  # the tick is gone
    assert any((out[:, :2] == (22, 5)).all(1))                              # the tail stays
    np.testing.assert_array_equal(out_phi.argmax(1), np.array(owner[1:])[np.r_[:8, 11:16]])
    near = _strokes_to_points([a, comma, tail, [(36, -2), (36.2, -8)], b])  # a letter begun early, near its word
    phi_near = np.eye(4, dtype=np.float32)[(owner[:11] + owner[12:])[1:]]
    assert len(drop_marks_between_words(near, phi_near, "a, b")[0]) == len(near)
    long = _strokes_to_points([a, comma, tail, [(33, -2 - k) for k in range(6)], b])   # more than a flick
    phi_long = np.eye(4, dtype=np.float32)[(owner[:9] + [2] * 6 + [3] * 5)[1:]]
    assert len(drop_marks_between_words(long, phi_long, "a, b")[0]) == len(long)
    assert drop_marks_between_words(points, None, "a, b")[0] is points       # no attention: nothing to judge


def test_a_dot_inside_the_line_is_not_taken_for_the_final_stop():
    word = [(0, 0), (5, -10), (10, 0), (15, -10), (20, 0)]
    dot = [(24, 0), (24.5, 0.5)]
    next_word = [(30, 0), (35, -10), (40, 0), (45, -10), (50, 0)]
    points = _strokes_to_points([word, dot, next_word, [(54, 0), (54.5, 0.5)]])
    out, _ = drop_marks_after_stop(points, None, "ab. cd.")
    np.testing.assert_array_equal(out, points)


def test_a_dot_the_attention_puts_before_the_end_is_not_the_final_stop():
    word = [(0, 0), (5, -10), (10, 0), (15, -10), (20, 0)]
    dot = [(24, 0), (24.5, 0.5)]
    more = [(30, 0), (35, -10), (40, 0)]                                    # "cd", its stop not drawn
    points = _strokes_to_points([word, dot, more])
    owner = [0] * 5 + [2] * 2 + [5] * 3                                     # drawn on "a", ".", "d"
    phi = np.eye(7, dtype=np.float32)[owner[1:]]
    np.testing.assert_array_equal(drop_marks_after_stop(points, phi, "ab. cd.")[0], points)
    assert len(drop_marks_after_stop(points, None, "ab. cd.")[0]) < len(points)   # without it: taken as the end


def with_stroke(points, phi, stroke, owner):
    """The line with one more stroke (m, 2) appended, drawn under the attention of character `owner`."""
    extra = np.c_[stroke, np.r_[np.zeros(len(stroke) - 1), 1.0]].astype(np.float32)
    onehot = np.zeros((len(stroke), phi.shape[1]), np.float32)
    onehot[:, owner] = 1
    return np.concatenate([points, extra]), np.concatenate([phi, onehot])


def test_a_joined_up_hand_joins_the_letters_of_each_word_and_nothing_else():
    text = "once more"
    points, phi = drawn_line(text, 1.0)
    joined = join_letters(points, phi, text, max_gap=1.0)
    np.testing.assert_array_equal(joined[:, :2], points[:, :2])            # only pen lifts change
    assert len(stroke_spans(points)) == 8 and len(stroke_spans(joined)) == 2   # one stroke a word
    assert join_letters(points, phi, text, max_gap=0.01).tolist() == points.tolist()  # gaps too wide to join
    assert join_letters(points, None, text, max_gap=1.0) is points          # no attention: as written
    # even a join wide enough to span the word gap leaves the words apart: words come from the attention
    assert len(stroke_spans(join_letters(points, phi, text, max_gap=3.0))) == 2


def test_dots_and_strokes_that_go_back_stay_lifts():
    text = "once"
    points, phi = drawn_line(text, 1.0)
    end = points[-1, :2]
    bar = np.array([[end[0] - 30, -12], [end[0] - 15, -12]])               # a long bar drawn back over the word
    points, phi = with_stroke(points, phi, bar, owner=1)
    dot = np.array([[end[0] - 14, -12], [end[0] - 13.5, -12.5]])           # then a dot just right of the bar's end
    points, phi = with_stroke(points, phi, dot, owner=2)
    spans = stroke_spans(join_letters(points, phi, text, max_gap=5.0))
    assert len(spans) == 3                     # the word joined; the bar goes back, the dot is too short


def test_the_writer_evens_sizes_unless_told_not_to(tiny_writer, monkeypatch):
    import handwrite.letters as letters_module
    seen = []
    monkeypatch.setattr(letters_module, "even_word_sizes", lambda pts, phi, text: seen.append(text) or pts)
    tiny_writer.write("a shrinking line", seed=0, style="free")
    assert seen == ["a shrinking line"]
    tiny_writer.with_options(even_sizes=False).write("a shrinking line", seed=0, style="free")
    assert seen == ["a shrinking line"]


def test_words_run_together_are_moved_apart_and_nothing_else_changes():
    text = "once more we swam near"
    points, phi = drawn_line(text, 1.0)
    words = word_parts(points, phi, text)
    tight = points.copy()
    for mine in words[2:]:                                           # "we" and all after it run into "more"
        tight[mine, 0] -= 7.5
    gaps = word_gaps(words, tight)
    assert gaps[1] < LEAST_WORD_GAP * np.median(gaps)
    out = open_word_gaps(tight, phi, text)
    opened = word_gaps(words, out)
    assert np.isclose(opened[1], LEAST_WORD_GAP * np.median(gaps))
    np.testing.assert_allclose(opened[[0, 2, 3]], gaps[[0, 2, 3]])  # the other gaps as they were
    for mine in words:                                               # each word moved whole, if at all
        assert np.ptp(out[mine, 0] - tight[mine, 0]) < 1e-5
    np.testing.assert_array_equal(out[:, 1:], tight[:, 1:])
    over_we = tight[words[2], 0].mean()
    dot = np.array([[over_we, -14.0], [over_we + 0.5, -14.5]])
    dotted, dotted_phi = with_stroke(tight, phi, dot, owner=text.index("more"))   # drawn on "more", over "we"
    moved = open_word_gaps(dotted, dotted_phi, text)
    np.testing.assert_allclose(moved[-2:, 0] - dot[:, 0], out[words[2], 0][0] - tight[words[2], 0][0])  # with "we"
    np.testing.assert_array_equal(open_word_gaps(points, phi, text), points)   # usual gaps: as written
    short = "once more we"                                           # two gaps say too little of the usual one
    p2, phi2 = drawn_line(short, 1.0)
    np.testing.assert_array_equal(open_word_gaps(p2, phi2, short), p2)


def test_percentiles_of_sorted_values_are_numpys():
    from handwrite.letters import _percentiles
    rng = np.random.default_rng(8)
    for n in (1, 2, 3, 4, 7, 20):
        values = np.sort(rng.normal(size=n))
        assert np.allclose(_percentiles(values, (5, 50, 95)), np.percentile(values, [5, 50, 95]), rtol=1e-12, atol=0)


def _with_stroke(points, phi, before: int, stroke: np.ndarray, on: int):
    """The line with `stroke` drawn (under the window on character `on`) before point `before`."""
    owner = np.r_[0, phi.argmax(1)]
    points = np.concatenate([points[:before], stroke.astype(np.float32), points[before:]])
    owner = np.r_[owner[:before], [on] * len(stroke), owner[before:]]
    return points, np.eye(phi.shape[1], dtype=np.float32)[owner[1:]]


def test_a_stroke_drawn_on_a_space_belongs_to_the_word_it_lies_in():
    text = "once more we swam near"
    points, phi = drawn_line(text, 1.0)                              # body height 10
    words = word_parts(points, phi, text)
    space = text.index(" we")
    start = int(np.flatnonzero(words[2])[0])
    left, right = points[words[2], 0].min(), points[words[1], 0].max()
    # drawn while the window was still on the space: a tail of "more", a flag of "more"
    # drawn late that reaches into "we" (a 5's), a comma under "we", and a stem at the
    # start of "we", under its other strokes (a T's stem)
    tail = np.array([[right + 0.5, 0.0, 0.0], [right + 1.0, -6.0, 1.0]])     # too tall for a mark
    flag = np.array([[right + 1.0, -9.0, 0.0], [left + 1.0, -9.0, 1.0]])
    comma = np.array([[left + 1.0, -1.0, 0.0], [left + 1.5, 2.0, 1.0]])
    stem = np.array([[left + 0.5, 0.0, 0.0], [left + 0.5, -12.0, 1.0]])
    points, phi = _with_stroke(points, phi, start, np.r_[tail, flag, comma, stem], space)
    rows = {name: np.arange(start + 2 * k, start + 2 * k + 2) for k, name in enumerate(("tail", "flag", "comma", "stem"))}
    words = word_parts(points, phi, text)
    for name in ("tail", "flag", "comma"):
        assert words[1][rows[name]].all(), name
    assert words[2][rows["stem"]].all()
    # "we" and all after it closer to "more": opening the gap moves the stem with its
    # word, and "more"'s strokes stay
    tight = points.copy()
    tight[start + 4:, 0] -= 5.0
    out = open_word_gaps(tight, phi, text)
    moved = out[:, 0] - tight[:, 0]
    assert moved[start + 8] > 1.0
    np.testing.assert_allclose(moved[rows["stem"]], moved[start + 8])
    np.testing.assert_allclose(moved[np.r_[rows["tail"], rows["flag"]]], 0.0)
