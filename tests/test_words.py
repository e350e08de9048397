"""Judging words: folded fairly, aligned, and missed only when every recogniser misses them."""
from handwrite.words import fold_word, matched_words, misread_words, missed_by_all, word_accuracy


def test_folding_forgives_only_what_a_reader_of_the_text_would():
    assert fold_word("Ill,") == fold_word("lll") == fold_word("1l|")
    assert fold_word("0n") == fold_word("On")
    assert fold_word("Hello!") == "hello"
    assert fold_word("mixed") != fold_word("mired")
    assert fold_word("...") == ""


def test_a_split_word_costs_one_word_not_the_rest_of_the_line():
    text = "the quick brown fox jumps"
    assert matched_words("the qu ick brown fox jumps", text) == [True, False, True, True, True]
    assert misread_words("the qu ick brown fox jumps", text) == ["quick"]


def test_word_accuracy_counts_words_of_all_lines():
    assert word_accuracy(["a b", "c x"], ["a b", "c d"]) == 0.75
    assert word_accuracy(["", ""], ["a b", "c d"]) == 0.0


def test_missed_by_all_needs_every_reader_to_miss():
    texts = ["mixed jam today"]
    readings = {"one": ["mired jam tday"], "two": ["mired jum today"]}
    assert missed_by_all(readings, texts) == 1 / 3          # only "mixed" is missed by both
    assert missed_by_all({"one": ["mixed jam today"]}, texts) == 0.0


def test_letters_are_tallied_where_the_reading_keeps_them():
    from handwrite.training.evaluate_letters import char_hits, tally
    assert char_hits("mired", "mixed") == [True, True, False, True, True]
    t = tally(["mired", "six"], ["mixed", "six"], "xi")
    assert t == {"x": [1, 2], "i": [2, 2]}


def test_letters_report_on_a_tiny_writer(tiny_iam, tiny_writer):
    """The whole --letters measurement runs, with a stand-in reader that reads nothing."""
    from handwrite.training.evaluate_letters import evaluate_letters, format_letters_report

    class Blind:
        info = {}

        def read_many(self, inks):
            return ["" for _ in inks]
    r = evaluate_letters(tiny_iam, tiny_writer, split="all", tries=2, chars="aZ", progress=False, reader=Blind(),
                         cache_dir=tiny_iam.parent / "cache")
    rows = {row["char"]: row for row in r["letters"]}
    assert rows["a"]["people"] == 0.0 and rows["a"]["model"] == 0.0 and rows["a"]["model_tries"] == 2
    assert rows["Z"]["model_tries"] == 2                  # "Zoe" is among the tiny data's words
    assert "below 95% in the model's writing: aZ" in format_letters_report(r)


def test_the_word_checks_verdict_is_on_the_last_word_and_its_capital():
    from handwrite.words import last_word_right
    assert last_word_right("the cat", "the cat")
    assert last_word_right("tle Cat.", "the cat")             # an earlier word misread is not this word's fault
    assert not last_word_right("the cot", "the cat")
    assert not last_word_right("dear ellen", "Dear Ellen")      # E written as a small e
    assert last_word_right("dear Ellen", "Dear Ellen")
    assert last_word_right("the zoo", "the Zoo")                # Z: the same shape, only larger


def test_a_letter_more_is_forgiven_only_where_the_next_word_began():
    from handwrite.words import last_word_right
    assert not last_word_right("over a lazyd", "a lazy")
    assert last_word_right("over a lazyd", "a lazy", next_letter="d")
    assert not last_word_right("over a lasyd", "a lazy", next_letter="d")
    # a doubled or stray last letter is the writer's slip, not the next word's first stroke
    assert not last_word_right("next yearr", "next year", next_letter="w")
    assert not last_word_right("next yearr", "next year")
    assert last_word_right("the oldl", "the old", next_letter="l")      # "old lighthouse": l began


def test_a_lookalike_letter_gives_the_text_a_rival_per_letter():
    from handwrite.words import lookalike_rivals
    assert lookalike_rivals("the lake") == [(1, "the lahe")]
    assert lookalike_rivals("kick the keg") == [(0, "hick the keg"), (0, "kich the keg"), (2, "kick the heg")]
    assert lookalike_rivals("kick the keg", {2}) == [(2, "kick the heg")]
    assert lookalike_rivals("Kate met Ann") == []               # a capital K does not look like h


def test_a_word_read_right_by_a_close_call_is_named():
    from handwrite.words import LOOKALIKE_MARGIN, close_calls
    rivals = [(0, "hick the keg"), (0, "kich the keg"), (2, "kick the heg")]
    score = -2.0
    clear = score - LOOKALIKE_MARGIN - 0.5
    assert close_calls(rivals, score, [clear, clear, clear]) == set()
    assert close_calls(rivals, score, [clear, score - 1.0, clear]) == {0}
    assert close_calls(rivals, score, [clear, clear, score + 1.0]) == {2}
    assert close_calls(rivals, float("-inf"), [float("-inf")] * 3) == set()     # unreadable: misread_indices' call
