"""Letters the network draws as something else: an x redrawn as two crossing strokes, an
E without its top arm given one."""
import numpy as np

from handwrite import pipeline
from handwrite.options import WriterOptions
from handwrite.weak_letters import add_top_arms, crossing, has_top_arm, looks_crossed, redraw_crosses


def stroke(xs, ys, n=6):
    """n points from (xs[0], ys[0]) to (xs[1], ys[1]), pen lifted after the last."""
    out = np.c_[np.linspace(*xs, n), np.linspace(*ys, n), np.zeros(n)]
    out[-1, 2] = 1
    return out


def loop(x0, n=9):
    """An o-like round stroke of height 10 (y down: from -10 to 0) starting at x0."""
    a = np.linspace(0, 2 * np.pi, n)
    out = np.c_[x0 + 4 + 4 * np.sin(a), -5 + 5 * np.cos(a), np.zeros(n)]
    out[-1, 2] = 1
    return out


def line(parts, owners):
    """Points of the strokes `parts` and attention that puts stroke k's points on character owners[k]."""
    points = np.concatenate(parts)
    on = np.concatenate([[o] * len(p) for p, o in zip(parts, owners)])
    phi = np.eye(max(owners) + 1, dtype=np.float32)[on[1:]]       # point k was drawn under phi[k - 1]
    return points, phi


def halves(points, first, last):
    """The two strokes drawn between point indices first and last (inclusive)."""
    part = points[first:last + 1]
    cut = int(np.flatnonzero(part[:, 2] > 0.5)[0]) + 1
    return part[:cut], part[cut:]


def test_an_x_drawn_as_a_stem_with_a_bar_is_redrawn_as_two_crossing_diagonals():
    # "oxo": the x drawn as a t (a stem, then a bar across it), the bar counted to the
    # next letter, as the attention running ahead of the pen often counts it
    parts = [loop(0), stroke((14, 14), (-10, 0)), stroke((10, 18), (-6, -6)), loop(22)]
    points, phi = line(parts, [0, 1, 2, 2])
    out = redraw_crosses(points, phi, "oxo")
    assert out.shape == points.shape                              # the attention rows still fit
    first, last = 9, 20
    np.testing.assert_array_equal(out[:first], points[:first])    # the o's stay as they were
    np.testing.assert_array_equal(out[last + 1:], points[last + 1:])
    down, up = halves(out, first, last)
    assert len(down) == len(up) == 6 and up[-1, 2] == 1
    assert looks_crossed(down, up, 0.0) and not looks_crossed(*halves(points, first, last), 0.0)
    # within the box the stem and bar filled: the small letters' height, the bar's width
    assert out[first:last + 1, 1].min() >= -10.5 and out[first:last + 1, 1].max() <= 0.5
    assert 9 <= out[first:last + 1, 0].min() and out[first:last + 1, 0].max() <= 19


def test_a_neighbours_stem_beside_the_x_is_not_taken_for_its_other_half():
    # "oxt": the x drawn as one slash-like stroke, then the t's stem just right of it
    parts = [loop(0), stroke((16, 10), (-10, 0)), stroke((16.8, 16.8), (-14, 0)), stroke((14, 21), (-9, -9))]
    points, phi = line(parts, [0, 1, 2, 2])
    out = redraw_crosses(points, phi, "oxt")
    np.testing.assert_array_equal(out[15:], points[15:])           # the t's stem and bar stay
    down, up = halves(out, 9, 14)                                 # the x's one stroke, now two
    assert looks_crossed(down, up, 0.0)


def test_a_well_drawn_x_a_round_one_and_lines_without_attention_stay():
    well = [loop(0), stroke((10, 18), (-10, 0)), stroke((18, 10), (-10, 0)), loop(22)]
    points, phi = line(well, [0, 1, 1, 2])
    np.testing.assert_array_equal(redraw_crosses(points, phi, "oxo"), points)
    # an x joined to the next letter in one round stroke: no straight stroke of its own to redraw
    joined = [loop(0), loop(10, n=14), loop(22)]
    points, phi = line(joined, [0, 1, 2])
    np.testing.assert_array_equal(redraw_crosses(points, phi, "oxo"), points)
    plus = [loop(0), stroke((14, 14), (-10, 0)), stroke((10, 18), (-6, -6)), loop(22)]
    points, _ = line(plus, [0, 1, 2, 2])
    np.testing.assert_array_equal(redraw_crosses(points, None, "oxo"), points)
    np.testing.assert_array_equal(redraw_crosses(points, line(plus, [0, 1, 2, 2])[1], "ooo"), points)


def test_crossing_says_where_along_each_stroke_the_two_cross():
    a = np.array([[0.0, 0.0], [10.0, 10.0]])
    b = np.array([[0.0, 10.0], [10.0, 0.0]])
    assert crossing(a, b) == (0.5, 0.5)
    assert crossing(a, np.array([[20.0, 0.0], [20.0, 10.0]])) is None
    # two strokes leaning each way that meet near one's top (an r's arm on its stem): not an x
    stem = np.array([[0.0, 0.0], [6.0, 10.0]])
    arm = np.array([[-2.0, 3.0], [3.0, -2.0]])
    assert crossing(stem, arm)[0] < 0.2 and not looks_crossed(np.c_[stem, [0, 1]], np.c_[arm, [0, 1]], 0.0)
    assert looks_crossed(np.c_[a, [0, 1]], np.c_[b, [0, 1]], 0.0)
    assert not looks_crossed(np.c_[a, [0, 1]], np.c_[b, [0, 1]], 45.0)     # in a hand slanted 45 degrees: a +


def test_the_redraw_x_step_leaves_a_capital_stand_in_and_is_switched_by_its_option():
    from handwrite.drafts import LineDraft
    from handwrite.sampling import SampledLine
    parts = [loop(0), stroke((14, 14), (-10, 0)), stroke((10, 18), (-6, -6)), loop(22)]
    points, phi = line(parts, [0, 1, 2, 2])
    sampled = SampledLine(np.zeros((len(points), 3), np.float32), phi, True)
    step = {s.name: s for s in pipeline.LINE_STEPS}["redraw_x"]
    redrawn = step(LineDraft((0, 0), "oxo", "oxo", sampled, points, phi), WriterOptions())
    assert redrawn.points.shape == points.shape and not np.array_equal(redrawn.points, points)
    assert redrawn.phi is phi
    # a capital X's stand-in (the model wrote a small x) is left to enlarge_stand_ins: made
    # larger and wider, the model's own x reads as an X more often than a cross does
    stand_in = step(LineDraft((0, 0), "oXo", "oxo", sampled, points, phi), WriterOptions())
    np.testing.assert_array_equal(stand_in.points, points)
    assert step.applies(WriterOptions()) and not step.applies(WriterOptions(redraw_x=False))


def polyline(corners, n):
    """n points along the corners' path, evenly by length, pen lifted after the last."""
    corners = np.asarray(corners, float)
    along = np.r_[0, np.cumsum(np.hypot(*np.diff(corners, axis=0).T))]
    t = np.linspace(0, along[-1], n)
    out = np.c_[np.interp(t, along, corners[:, 0]), np.interp(t, along, corners[:, 1]), np.zeros(n)]
    out[-1, 2] = 1
    return out


def e_as_t(bar_owner=1):
    """"Ev" whose E is an L drawn from the top (y down: 0 is the baseline) with a bar across
    its middle, as a t is, the bar counted to `bar_owner`; then a v."""
    return [polyline([(0, -15), (0, 0), (8, 0)], 12), stroke((-3, 6), (-7, -7)),
            polyline([(12, -10), (15, 0), (18, -10)], 8)], [0, bar_owner, 1]


def test_an_e_drawn_as_an_l_with_a_bar_gets_its_top_arm():
    parts, owners = e_as_t()
    points, phi = line(parts, owners)
    out = add_top_arms(points, phi, "Ev")
    assert out.shape == points.shape                          # the attention rows still fit
    np.testing.assert_array_equal(out[12:], points[12:])      # the bar and the v stay
    stem = out[:12]
    assert not has_top_arm(points[:12], [points[12:18]]) and has_top_arm(stem, [points[12:18]])
    # one stroke: from the right at the stem's top, to the stem's top, down and along the foot
    assert (stem[:-1, 2] == 0).all() and stem[-1, 2] == 1
    assert 4 <= stem[0, 0] - stem[:, 0].min() <= 9 and stem[0, 1] <= -14
    np.testing.assert_array_equal(stem[-1], points[11])
    assert np.isclose(stem[:, 1].min(), -15, atol=0.5)         # no taller than the stem was
    arm = stem[stem[:, 1] < -13]
    assert np.all(np.diff(arm[:, 0]) <= 0)                     # drawn from the right to the left
    # a bar across the stem's top, reaching as far left of it as right: a t's, not an arm
    across, level = stroke((-5, 6), (-14.5, -14.5)), stroke((-1, 6), (-14.5, -14.5))
    assert not has_top_arm(points[:12], [across]) and has_top_arm(points[:12], [level])


def test_an_e_with_its_arm_a_stem_drawn_upwards_and_other_letters_stay():
    parts, owners = e_as_t()
    with_arm = parts[:2] + [stroke((0, 7), (-15, -15))] + parts[2:]      # a top arm after the bar
    points, phi = line(with_arm, owners[:2] + [1] + owners[2:])
    np.testing.assert_array_equal(add_top_arms(points, phi, "Ev"), points)
    upwards = [parts[0][::-1].copy()] + parts[1:]
    upwards[0][:, 2] = 0
    upwards[0][-1, 2] = 1
    points, phi = line(upwards, owners)
    np.testing.assert_array_equal(add_top_arms(points, phi, "Ev"), points)
    points, phi = line(parts, owners)
    np.testing.assert_array_equal(add_top_arms(points, phi, "tv"), points)   # a t is a t
    # a 5 drawn as its stem and belly without the flag gets its flag after the stem, as a
    # stroke of its own drawn from the stem's top to the right, as people draw it
    five = add_top_arms(points, phi, "5v")[:12]
    lifts = np.flatnonzero(five[:, 2] > 0.5)
    assert len(lifts) == 2 and lifts[-1] == 11
    flag = five[lifts[0] + 1:]
    assert np.all(np.diff(flag[:, 0]) > 0) and flag[:, 1].max() <= -14
    np.testing.assert_array_equal(flag[0, :2], points[0, :2])
    np.testing.assert_array_equal(add_top_arms(points, None, "Ev"), points)


def test_the_add_top_arms_step_is_switched_by_its_option():
    from handwrite.drafts import LineDraft
    from handwrite.sampling import SampledLine
    parts, owners = e_as_t(bar_owner=0)
    points, phi = line(parts, owners)
    sampled = SampledLine(np.zeros((len(points), 3), np.float32), phi, True)
    step = {s.name: s for s in pipeline.LINE_STEPS}["add_top_arms"]
    out = step(LineDraft((0, 0), "Ev", "Ev", sampled, points, phi), WriterOptions())
    assert out.points.shape == points.shape and not np.array_equal(out.points, points) and out.phi is phi
    assert step.applies(WriterOptions()) and not step.applies(WriterOptions(add_top_arms=False))
