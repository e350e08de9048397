"""The word check: lines written a word at a time, each word judged, a misread word
written again from where the kept words end (sampling.checked, wordcheck.py)."""
import numpy as np
import pytest
import torch

from handwrite.model import State
from handwrite.sampling import checked_lines, run_to_end, sample_lines, word_ends
from handwrite.wordcheck import WordJudge


def test_word_ends_are_the_spaces_after_words():
    assert word_ends("the cat  sat") == [3, 7, 12]
    assert word_ends("one") == [3]
    assert word_ends(" a ") == [2]


class ScriptedJudge:
    """Says right or wrong as `verdict(candidate, call)` decides; records every candidate."""
    def __init__(self, verdict=lambda c, k: True):
        self.verdict, self.seen = verdict, []

    def __call__(self, candidates):
        out = []
        for c in candidates:
            self.seen.append(c)
            out.append((bool(self.verdict(c, len(self.seen))), -float(len(self.seen))))
        return out


def write(parts, judge, texts, **kw):
    model, alphabet, normalizer = parts
    codes = [alphabet.encode(t) for t in texts]
    return run_to_end(checked_lines(model, codes, texts, judge, seed=3, normalizer=normalizer, max_steps=80,
                                    **kw))


def test_each_word_is_judged_with_the_word_before_it(tiny_model_parts):
    judge = ScriptedJudge()
    lines = write(tiny_model_parts, judge, ["the cat sat", "on it"])
    assert [(c.line, c.text) for c in judge.seen] == [(0, "the"), (1, "on"), (0, "the cat"), (1, "on it"),
                                                      (0, "cat sat")]
    # each knows the letter the next word begins with: only that one may end its strokes
    assert [c.next_letter for c in judge.seen] == ["c", "i", "s", "", ""]
    for n, line in enumerate(lines):
        last = [c for c in judge.seen if c.line == n][-1]
        tail = len(last.offsets) - 1
        np.testing.assert_array_equal(line.offsets[-tail:], last.offsets[1:])    # the line ends as judged
        assert len(line.phi) == len(line.offsets) - 1 and line.phi.shape[1] == len(["the cat sat", "on it"][n])
        assert line.rewritten_words == 0 and line.misread_words == ()
    # each judged line so far begins with the kept words before it
    first, second = judge.seen[0], judge.seen[2]
    np.testing.assert_array_equal(second.offsets[:len(first.offsets)], first.offsets)


def test_a_misread_word_is_written_again_as_candidates_and_the_line_goes_on_from_the_one_kept(tiny_model_parts):
    # "cat" is read right only on its 3rd candidate of the first round of candidates
    def verdict(c, k):
        return c.text != "the cat" or sum(s.text == "the cat" for s in judge.seen) == 1 + 3
    judge = ScriptedJudge(verdict)
    [line] = write(tiny_model_parts, judge, ["the cat sat"], candidates=4, rounds=2)
    tries = [c for c in judge.seen if c.text == "the cat"]
    assert len(tries) == 1 + 4                      # once, then a round of 4 candidates
    kept = tries[3]
    np.testing.assert_array_equal(line.offsets[:len(kept.offsets)], kept.offsets)
    sat = [c for c in judge.seen if c.text == "cat sat"]
    # judged with the two kept parts before it: here the whole line so far
    assert len(sat) == 1 and np.array_equal(sat[0].offsets[:len(kept.offsets)], kept.offsets)
    assert line.rewritten_words == 1 and line.misread_words == ()


def test_a_word_never_read_right_is_kept_at_its_best_and_counted(tiny_model_parts):
    judge = ScriptedJudge(lambda c, k: c.text != "the cat")
    [line] = write(tiny_model_parts, judge, ["the cat sat"], candidates=2, rounds=2)
    assert sum(c.text == "the cat" for c in judge.seen) == 1 + 2 + 2
    assert line.misread_words == ("cat",) and line.rewritten_words == 1


def test_a_word_part_ends_where_the_network_would_go_on(tiny_model_parts):
    """The state a part stops with is the network's state after reading the part's points."""
    model, alphabet, normalizer = tiny_model_parts
    codes = alphabet.encode("the cat")
    [part] = sample_lines(model, [codes], seed=5, until=[3], fast=False, normalizer=normalizer, max_steps=80)
    points = torch.from_numpy(part.drawn)                          # every point drawn, from the start
    chars = torch.tensor([codes + [0]])
    with torch.inference_mode():
        inputs = torch.cat([torch.zeros(1, 3), points[:-1]])[None]
        state = model.read(inputs, model.one_hot(chars), torch.arange(chars.shape[1], dtype=torch.float32),
                           model.initial_state(1))
    for name in State.__slots__:
        torch.testing.assert_close(getattr(part.resume.state, name), getattr(state, name), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(part.resume.x, points[-1:])


class StubReader:
    def __init__(self, reading):
        self.reading, self.inks = reading, []

    def read_many(self, inks):
        self.inks += inks
        return [self.reading] * len(inks)

    def read_and_score(self, inks, texts):
        self.inks += inks
        return [self.reading] * len(inks), [-1.0] * len(inks)


def test_the_judge_reads_the_line_so_far_and_checks_its_last_word(tiny_model_parts):
    from handwrite.sampling import Candidate
    _, _, normalizer = tiny_model_parts
    offsets = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 1]], np.float32)
    reader = StubReader("the cat")
    verdicts = WordJudge(reader, normalizer)([Candidate(0, "the cat", offsets), Candidate(0, "the cot", offsets)])
    assert verdicts == [(True, -1.0), (False, -1.0)]
    np.testing.assert_allclose(reader.inks[0][:, :2], np.cumsum(normalizer.denormalize(offsets)[:, :2], axis=0))


class LookalikeReader(StubReader):
    """Reads `reading`; scores a text by the sum of `costs` of its letters (an h costs
    `h`: how near the reader finds a k to an h)."""
    def __init__(self, reading, h):
        super().__init__(reading)
        self.h, self.scored = h, []

    def read_and_score_each(self, inks, texts):
        self.inks += inks
        self.scored += texts
        return [self.reading] * len(inks), [[-float(t.count("h")) * self.h for t in some] for some in texts]


def test_a_k_the_reader_barely_prefers_to_an_h_is_misread(tiny_model_parts):
    from handwrite.sampling import Candidate
    from handwrite.sampling.finish import SampledLine
    from handwrite.words import LOOKALIKE_MARGIN
    _, _, normalizer = tiny_model_parts
    offsets = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 1]], np.float32)
    line = SampledLine(offsets, np.zeros((2, 12)), True, None)
    for h, wrong in ((LOOKALIKE_MARGIN - 1, [2]), (LOOKALIKE_MARGIN + 1, [])):
        reader = LookalikeReader("by the lake", h)
        judge = WordJudge(reader, normalizer)
        assert judge.misread([line], ["by the lake"]) == [wrong]
        assert reader.scored == [["by the lake", "by the lahe"]]
        assert judge.in_line([line], ["by the lake"], [2]) == [not wrong]
        verdict = judge([Candidate(0, "the lake", offsets), Candidate(0, "by the", offsets)])
        assert [right for right, _ in verdict] == [not wrong, True]    # only the word just written is weighed
        assert reader.scored[1:] == [["the lake", "the lahe"], ["by the"]]


def test_the_judge_reads_whole_lines_as_shape_leaves_them():
    from handwrite.preprocess import Normalizer
    from handwrite.sampling.finish import SampledLine
    line = SampledLine(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 1]], np.float32), np.zeros((2, 9)), True, None)
    shaped = np.array([[5.0, 5.0, 0.0], [6.0, 5.0, 1.0]])
    calls = []

    def shape(sampled, text):
        calls.append((sampled, text))
        return shaped
    reader = StubReader("the cat sat")
    judge = WordJudge(reader, Normalizer([0.0, 0.0], [1.0, 1.0]), shape)
    assert judge.misread([line, line], ["the cat sat", "the cot sat"]) == [[], [1]]
    assert judge.in_line([line, line], ["the cot sat", "the cot sat"], [0, 1]) == [True, False]
    assert calls == [(line, "the cat sat"), (line, "the cot sat")]     # in_line: both lines read already
    assert len(reader.inks) == 2 and all(ink is shaped for ink in reader.inks)


def test_the_judge_reads_each_line_once():
    """A line read before is not read again (the winning candidate's line is the line read
    after the replacement); another line, or the same strokes with another text, is."""
    from handwrite.preprocess import Normalizer
    from handwrite.sampling.finish import SampledLine
    offsets = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 1]], np.float32)
    line = SampledLine(offsets, np.zeros((2, 9)), True, None)
    moved = SampledLine(offsets + np.float32([0, 2, 0]), np.zeros((2, 9)), True, None)
    reader = StubReader("the cat")
    judge = WordJudge(reader, Normalizer([0.0, 0.0], [1.0, 1.0]))
    assert judge.misread([line, line], ["the cat", "the cat"]) == [[], []]
    assert len(reader.inks) == 1                                       # the same line twice: one reading
    assert judge.in_line([line, moved, line], ["the cat", "the cat", "the cot"], [1, 1, 1]) == [True, True, False]
    assert len(reader.inks) == 3                                       # the moved line and the other text
    np.testing.assert_allclose(reader.inks[1][:, 1] - reader.inks[0][:, 1], [2.0, 4.0, 6.0])


def test_the_check_reads_each_line_as_the_line_and_hand_steps_leave_it(tiny_model_parts):
    """What the check reads is what the steps made of the line: LINE_STEPS for every line,
    HAND_STEPS too for lines matched to a hand (with "free", the page's other lines)."""
    from dataclasses import replace
    from handwrite.drafts import Step
    from handwrite.pipeline import Pipeline
    from handwrite.writer import Writer
    made = {"line": [], "hand": []}

    def marked(kind, shift):
        def step(draft, options):
            points = draft.points.copy()
            points[:, 1] += shift
            made[kind].append(points)
            return replace(draft, points=points)
        return step
    pipeline = Pipeline(line_steps=(Step("mark_line", marked("line", 1000.0)),),
                        hand_steps=(Step("mark_hand", marked("hand", 5000.0)),), page_steps=())
    reader = StubReader("the cat")
    writer = Writer.from_model(*tiny_model_parts, reader=reader, pipeline=pipeline)
    hw = writer.write("the cat\nthe cat", seed=1, style="free")
    assert made["hand"], "the second line was matched to the first line's hand"
    read_line = [ink for ink in reader.inks if any(ink is m for m in made["line"])]
    read_hand = [ink for ink in reader.inks if any(ink is m for m in made["hand"])]
    assert read_line and read_hand and len(read_line) + len(read_hand) == len(reader.inks)
    assert hw.info["misread_words"] == []


def test_a_writer_with_a_reader_checks_its_words_and_says_which_stayed_misread(tiny_model_parts):
    from handwrite.writer import Writer
    reader = StubReader("the cat")
    writer = Writer.from_model(*tiny_model_parts, reader=reader)
    hw = writer.write("the dog", seed=1, style="free")
    assert reader.inks and hw.info["misread_words"] == ["dog"] and hw.info["rewritten_words"] == 0
    reader.inks.clear()
    off = writer.with_options(check_words=False).write("the dog", seed=1, style="free")
    assert not reader.inks and off.info["misread_words"] == []


# ---- whole lines first, misread words again (sampling.spliced) ----------------------------
class LineJudge(ScriptedJudge):
    """Names word `bad` of line 0 misread in the first reading of whole lines (and,
    `always`, in every reading after).  Candidates beside the word before read as
    ScriptedJudge says; a whole line holding a candidate reads its word right as
    `line_verdict(text, k)` says (k: such lines read so far), and is recorded as (text,
    word, offsets) in `in_lines`."""
    def __init__(self, bad, verdict, always=False, line_verdict=lambda text, k: True):
        super().__init__(verdict)
        self.bad, self.always, self.line_verdict = bad, always, line_verdict
        self.lines, self.readings, self.in_lines = None, 0, []

    def misread(self, lines, texts):
        self.readings += 1
        if self.lines is None:
            self.lines = [ln.offsets.copy() for ln in lines]
        flag = self.readings == 1 or self.always
        return [[self.bad] if n == 0 and flag else [] for n in range(len(texts))]

    def in_line(self, lines, texts, words):
        out = []
        for line, text, k in zip(lines, texts, words):
            self.in_lines.append((text, k, line.offsets.copy()))
            out.append(bool(self.line_verdict(text, len(self.in_lines))))
        return out


def splice(parts, judge, texts, seed=4, **kw):
    from handwrite.sampling import spliced_lines
    model, alphabet, normalizer = parts
    return spliced_lines(model, [alphabet.encode(t) for t in texts], texts, judge, seed=seed, normalizer=normalizer,
                         max_steps=120, **kw)


def test_marks_end_each_word_at_a_pen_lift_with_the_state_there(tiny_model_parts):
    model, alphabet, normalizer = tiny_model_parts
    codes = alphabet.encode("the cat sat")
    [line] = sample_lines(model, [codes], seed=2, marks=[[3, 7]], fast=False, normalizer=normalizer, max_steps=80)
    assert 1 <= len(line.marks) <= 2
    for row, end in line.marks:
        assert line.offsets[row, 2] == 1.0                                  # the part ends with a lift
        np.testing.assert_allclose(end.x.numpy()[0], line.offsets[row])      # ... at that point
    rows = [row for row, _ in line.marks]
    assert rows == sorted(rows)


def _splice_until_split(parts, make_judge, texts=("the cat sat",), **kw):
    """splice() at the first seed whose first pass the untrained model splits into words
    (so that a word can be written again): (line, judge, seed)."""
    for seed in range(40):
        judge = make_judge()
        [line] = splice(parts, judge, list(texts), seed=seed, **kw)
        if judge.in_lines:
            return line, judge, seed
    pytest.fail("no seed split the first pass into words")


def _same_rows(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """(leading, trailing) rows that two offset arrays share."""
    n = min(len(a), len(b))
    lead = next((i for i in range(n) if not np.array_equal(a[i], b[i])), n)
    trail = next((i for i in range(n) if not np.array_equal(a[-1 - i], b[-1 - i])), n)
    return lead, trail


def test_a_misread_word_is_replaced_and_the_rest_of_the_line_kept(tiny_model_parts):
    line, judge, _ = _splice_until_split(
        tiny_model_parts, lambda: LineJudge(1, lambda c, k: False, line_verdict=lambda text, k: k == 2), candidates=3)
    first = judge.lines[0]
    assert judge.seen == []                                             # no reading beside the word before
    # read in their line in the order written: the first reads wrong there, the second right
    assert [(text, k) for text, k, _ in judge.in_lines] == [("the cat sat", 1)] * 2
    assert line.rewritten_words == 1 and line.misread_words == ()
    np.testing.assert_array_equal(line.offsets, judge.in_lines[1][2])     # the line as judged
    # the line: the original up to where "cat" began, the kept candidate, then the original
    # rest, all but the pen's move into "sat" (which keeps "sat" where it was beside "cat")
    lead, trail = _same_rows(line.offsets, first)
    assert lead >= 2 and trail >= 1 and lead + trail < min(len(line.offsets), len(first))
    other_lead, _ = _same_rows(judge.in_lines[0][2], first)
    assert other_lead == lead                                           # both candidates began where "cat" did


def test_candidates_are_read_in_their_line_in_order_until_one_reads_right_there(tiny_model_parts):
    """Four candidates: read in their whole line in the order written until one reads
    right there, and the line has that word."""
    line, judge, _ = _splice_until_split(
        tiny_model_parts, lambda: LineJudge(1, lambda c, k: True, line_verdict=lambda text, k: k == 2), candidates=4)
    assert len(judge.in_lines) == 2
    np.testing.assert_array_equal(line.offsets, judge.in_lines[1][2])
    assert line.rewritten_words == 1 and line.misread_words == ()
    line, judge, _ = _splice_until_split(
        tiny_model_parts, lambda: LineJudge(1, lambda c, k: True, line_verdict=lambda text, k: False), candidates=4)
    assert len(judge.in_lines) == 4                                     # every one tried in its line
    assert len({ln.tobytes() for _, _, ln in judge.in_lines}) == 4       # four different candidates
    np.testing.assert_array_equal(line.offsets, judge.lines[0])          # none read right there: as written
    assert line.rewritten_words == 0 and line.misread_words == ("cat",)


def _part(points, normalizer=None):
    """A SampledLine part from pen positions (n, 2) relative to its start, pen down throughout."""
    from handwrite.sampling.finish import SampledLine
    moves = np.diff(np.vstack([[0.0, 0.0], points]), axis=0)
    offsets = np.zeros((len(points) + 1, 3), np.float32)
    offsets[1:, :2] = moves if normalizer is None else (moves - normalizer.mean) / normalizer.std
    offsets[-1, 2] = 1.0
    return SampledLine(offsets, np.zeros((len(points), 1)), True, None)


def _placed(parts, normalizer=None):
    """Pen positions of the parts one after the other, in pen units."""
    moves = np.concatenate([p.offsets[1:, :2] for p in parts]).astype(np.float64)
    if normalizer is not None:
        moves = moves * normalizer.std + normalizer.mean
    return np.cumsum(moves, axis=0)


@pytest.mark.parametrize("normalized", [False, True])
def test_a_replaced_word_keeps_the_next_word_where_it_sat_beside_it(normalized):
    """A word that ends at its dot (inside it) or at its right edge: the next word keeps the
    same gap to the word's right edge and the same height beside its middle."""
    from handwrite.preprocess import Normalizer
    from handwrite.sampling.spliced import keep_the_gap
    normalizer = Normalizer([2.0, -0.5], [3.0, 4.0]) if normalized else None
    old = _part(np.array([[0, 0], [4, -2], [8, 0], [10, 0], [5, -6.0]]), normalizer)   # ends at a dot, left of its edge
    new = _part(np.array([[0, 1], [3, -1], [6, 1], [9, 1.0]]), normalizer)             # shorter, ends at its edge
    after = _part(np.array([[7, 6], [9, 4], [11, 6.0]]), normalizer)                    # from old's dot: 2 past the edge
    moved = keep_the_gap(old, new, after, normalizer)
    before, now = _placed([old, after], normalizer), _placed([new, moved], normalizer)
    gap_before = before[len(old.offsets) - 1, 0] - before[:len(old.offsets) - 1, 0].max()
    gap_now = now[len(new.offsets) - 1, 0] - now[:len(new.offsets) - 1, 0].max()
    assert gap_before == pytest.approx(2.0) and gap_now == pytest.approx(gap_before, abs=1e-4)
    # the next word stands as high beside the new word's middle as beside the old one's
    rise_before = before[len(old.offsets) - 1, 1] - np.median(before[:len(old.offsets) - 1, 1])
    rise_now = now[len(new.offsets) - 1, 1] - np.median(now[:len(new.offsets) - 1, 1])
    assert rise_now == pytest.approx(rise_before, abs=1e-4)
    np.testing.assert_array_equal(moved.offsets[2:], after.offsets[2:])     # its own strokes unchanged


def test_words_replaced_one_after_another_each_keep_their_place():
    """A new word k+1 was written from where the old word k ended: it moves with the new k."""
    from handwrite.sampling.spliced import replace_words

    def edge_gaps(parts):
        placed, gaps, start = _placed(parts), [], 0
        for p in parts[:-1]:
            end = start + len(p.offsets) - 1
            gaps.append(placed[end, 0] - placed[start:end, 0].max())
            start = end
        return gaps
    first = [_part(np.array([[0, 0], [6, 0], [3, -5.0]])),             # ends at a dot, 3 left of its edge
             _part(np.array([[5, 0], [9, 0], [12, 0.0]])),             # starts 2 right of the edge
             _part(np.array([[4, 0], [8, 0.0]]))]
    new0 = _part(np.array([[0, 0], [5, 0.0]]))                         # ends at its edge
    new1 = _part(np.array([[5, 0], [9, 0], [7, -4.0]]))                # from old word 0's dot; ends 2 in
    line = replace_words(first, {0: new0, 1: new1}, None)
    assert edge_gaps(first) == pytest.approx([2.0, 4.0])
    # new1 ends 2 left of its edge (moved itself by new0), word 2 is moved 2 right: both gaps stay
    assert edge_gaps(line) == pytest.approx([2.0, 4.0])
    assert line[0] is new0 and replace_words(first, {}, None) == first


def test_a_line_is_read_whole_again_and_a_word_it_still_misreads_is_written_again(tiny_model_parts):
    """Candidates read right in their lines, but the finished line still reads the word
    wrong: each round writes it again, and at the end it is counted as misread."""
    line, judge, seed = _splice_until_split(tiny_model_parts, lambda: LineJudge(1, lambda c, k: True, always=True),
                                            candidates=2, rounds=3)
    assert judge.readings == 4
    assert [(text, k) for text, k, _ in judge.in_lines] == [("the cat sat", 1)] * 3    # the first read right, each round
    assert line.misread_words == ("cat",) and line.rewritten_words == 3
    judge = LineJudge(1, lambda c, k: True)          # read right whole once written again
    [line] = splice(tiny_model_parts, judge, ["the cat sat"], seed=seed, candidates=2, rounds=3)
    assert len(judge.in_lines) == 1 and judge.readings == 2 and line.misread_words == ()


def test_a_word_no_candidate_fixes_stays_and_is_named(tiny_model_parts):
    judge = LineJudge(2, lambda c, k: False, line_verdict=lambda text, k: False)
    [line] = splice(tiny_model_parts, judge, ["the cat sat"], candidates=2, rounds=2)
    np.testing.assert_array_equal(line.offsets, judge.lines[0])
    assert line.misread_words == ("sat",) and line.rewritten_words == 0


def test_a_one_word_line_written_again_keeps_its_drawing_for_the_capital_check(tiny_model_parts):
    """A replaced one-word line is a whole line: the capital check still reads it back."""
    judge = LineJudge(0, lambda c, k: k == 1)
    [line] = splice(tiny_model_parts, judge, ["Kettle"], candidates=2)
    assert line.rewritten_words == 1 and line.drawn is not None

    class FirstWrong(StubReader):
        """The line as first written reads wrong; a line holding a word written again reads right."""
        first = None

        def read_many(self, inks):
            self.first = inks[0] if self.first is None else self.first
            return ["bottle" if np.array_equal(ink, self.first) else "Kettle" for ink in inks]
    from handwrite.writer import Writer
    writer = Writer.from_model(*tiny_model_parts, reader=FirstWrong("bottle"))
    hw = writer.write("Kettle", seed=3, style="free")          # its capital K is checked too
    assert hw.info["misread_words"] == [] and hw.info["rewritten_words"] >= 1


def test_writers_made_with_other_options_share_one_reader(tiny_model_parts):
    """A server makes a writer per request's options: the bundled reader loads once."""
    from handwrite.writer import Writer
    writer = Writer.from_model(*tiny_model_parts, reader="bundled")
    copy = writer.with_options(retries=1)                 # made before the reader is loaded
    assert copy.reader is not None and copy.reader is writer.reader


def test_a_first_word_is_written_again_from_where_the_line_began(tiny_model_parts, monkeypatch):
    """A primed line's misread first word: its candidates start from the state the line
    started from (kept with the line), not from the primer read again."""
    import handwrite.sampling.loop as loop
    model, alphabet, _ = tiny_model_parts
    primer = (np.random.default_rng(0).normal(0, 1, (40, 3)).astype(np.float32) * [1, 1, 0], alphabet.encode("ab "))
    primer[0][::8, 2] = 1.0
    rests = []
    real = loop.stepper_for
    monkeypatch.setattr(loop, "stepper_for", lambda m, c, p, start: rests.append(len(start.rest)) or real(m, c, p, start))
    line, judge, _ = _splice_until_split(tiny_model_parts, lambda: LineJudge(0, lambda c, k: True), candidates=2,
                                         primer=primer)
    assert rests[0] > 0 and rests[-1] == 0             # the line read the primer's rest; the word's candidates did not
    assert [(text, k) for text, k, _ in judge.in_lines] == [("the cat sat", 0)]
    assert line.rewritten_words == 1
    np.testing.assert_array_equal(line.offsets, judge.in_lines[0][2])
    lead, trail = _same_rows(line.offsets, judge.lines[0])
    assert lead < len(line.offsets) - 1 and trail >= 1                 # a new first word, the rest as it was


def test_a_line_split_a_word_late_is_not_split_at_its_words():
    """A mark found while the window was already past the end of the word it should begin
    (the pen did not lift between a short word and the next): every part after it is a
    word off, so the line's words cannot be written again one at a time."""
    from handwrite.sampling import SampledLine
    from handwrite.sampling.spliced import split_at_words
    text = "on a hill top"                       # words end at 2, 4, 9, 13
    ends = [2, 4, 9, 13]
    phi = np.eye(len(text), dtype=np.float32)[np.repeat(np.arange(len(text)), 4)]     # 4 rows per character

    def line(at):                               # marks found where the window was on characters `at`
        return SampledLine(np.zeros((len(phi) + 1, 3), np.float32), phi, True,
                           marks=tuple((4 * a, None) for a in at))
    assert split_at_words(line([3, 5, 10]), ends)
    assert split_at_words(line([4, 5, 10]), ends)          # a one-letter word's window runs ahead to its space
    assert not split_at_words(line([3, 9, 10]), ends)      # "hill" began unseen: its mark came at its end
    assert not split_at_words(line([3, 12, 13]), ends)
    assert not split_at_words(line([3, 5]), ends)          # a mark missing


def test_a_line_not_split_at_its_words_is_written_again_whole(tiny_model_parts, monkeypatch):
    import handwrite.sampling.spliced as spliced
    seen = []

    def split_after_the_first(line, ends):
        seen.append(line.offsets)
        return not np.array_equal(line.offsets, seen[0])
    monkeypatch.setattr(spliced, "split_at_words", split_after_the_first)
    judge = LineJudge(1, lambda c, k: True)             # reads the line written again right
    [line] = splice(tiny_model_parts, judge, ["the cat sat"], candidates=2)
    assert judge.readings == 2 and not judge.in_lines       # written again whole, not word by word
    assert not np.array_equal(line.offsets, judge.lines[0]) and line.misread_words == ()

    class Worse(LineJudge):                             # the line written again misreads two words
        def misread(self, lines, texts):
            first = super().misread(lines, texts)
            return first if self.readings == 1 else [[0, 2]]
    seen.clear()
    judge = Worse(1, lambda c, k: True)
    [line] = splice(tiny_model_parts, judge, ["the cat sat"], candidates=2, rounds=1)
    assert judge.readings == 2
    np.testing.assert_array_equal(line.offsets, judge.lines[0])         # the first kept, its word named
    assert line.misread_words == ("cat",)
