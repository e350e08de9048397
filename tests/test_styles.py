"""Styles: presets, primer files in every supported format, and bad primers."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import stroke_xml, synthetic_strokes

from handwrite.cli import main
from handwrite.handwriting import Handwriting, WrittenLine
from handwrite.styles import (MAX_POINTS, TARGET_BODY_HEIGHT, TARGET_POINT_SPACING, Style, presets,
                              resolve_style)
from handwrite.weights import export_weights

TEXT = "the cat sat on a mat"


@pytest.fixture
def strokes():
    """A line of synthetic 'writing' with IAM-like size and point density."""
    return synthetic_strokes(TEXT, np.random.default_rng(1))


def primed(style, parts):
    _, alphabet, normalizer = parts
    return style.primer(alphabet, normalizer)


def geometry(offsets, normalizer):
    """Body height and median point spacing of a primer, in training units."""
    d = normalizer.denormalize(offsets)
    pts = np.cumsum(d[:, :2], axis=0)
    lo, hi = np.percentile(pts[:, 1], [5, 95])
    steps = np.hypot(d[1:, 0], d[1:, 1])[d[:-1, 2] < 0.5]      # moves within strokes only
    return hi - lo, np.median(steps)


# ---- presets ----------------------------------------------------------------------------
def test_presets_are_many_distinct_and_usable(tiny_model_parts):
    found = presets()
    assert len(found) >= 8
    assert len({s.name for s in found}) == len(found)
    assert len({s.text for s in found}) > 1
    for s in found:
        offsets, codes = primed(s, tiny_model_parts)
        assert offsets.dtype == np.float32 and offsets.shape[1] == 3
        assert np.all(offsets[0, :2] == 0) and offsets[-1, 2] == 1
        assert tiny_model_parts[1].decode(codes) == s.text + " "
    first = [primed(s, tiny_model_parts)[0] for s in found[:2]]
    assert first[0].shape != first[1].shape or not np.allclose(*first)


def test_preset_changes_the_output_and_a_seed_repeats_it(tiny_writer):
    plain = tiny_writer.write("hi there", seed=3, style="free").points
    from handwrite.writer import DEFAULT_STYLE
    a = tiny_writer.write("hi there", seed=3, style=DEFAULT_STYLE).points
    default = tiny_writer.write("hi there", seed=3).points        # no style: the default preset
    np.testing.assert_array_equal(a, default)
    b = tiny_writer.write("hi there", seed=3, style=DEFAULT_STYLE).points
    other = tiny_writer.write("hi there", seed=3, style=presets()[1].name).points
    np.testing.assert_array_equal(a, b)
    assert a.shape != plain.shape or not np.allclose(a, plain)
    assert a.shape != other.shape or not np.allclose(a, other)


def test_resolve_style_by_index_name_and_object():
    found = presets()
    assert resolve_style(1) is found[1]
    assert resolve_style(np.int64(2)) is found[2]
    assert resolve_style("3") is found[3]
    assert resolve_style(found[0].name.upper()) is found[0]
    mine = Style([[[0, 0], [5, 9]]], "ab")
    assert resolve_style(mine) is mine


@pytest.mark.parametrize("bad", [len(presets()), -1, "no-such-hand"])
def test_resolve_style_errors_list_the_presets(bad):
    with pytest.raises(ValueError) as e:
        resolve_style(bad)
    assert presets()[0].name in str(e.value)
    assert str(bad) in str(e.value)


@pytest.mark.parametrize("bad", [True, 1.5, None, ["plain"]])
def test_resolve_style_rejects_other_types(bad):
    with pytest.raises(TypeError, match="preset index or a preset name"):
        resolve_style(bad)


# ---- file formats -----------------------------------------------------------------------
def inkml(strokes, *, namespace=True, channels=("X", "Y"), text=None, y_orientation=None, diff=False):
    """An InkML document of the strokes, with extra channels filled with the point index."""
    ns = ' xmlns="http://www.w3.org/2003/InkML"' if namespace else ""
    out = [f"<ink{ns}>"]
    if channels != ("X", "Y") or y_orientation:
        chans = "".join(f'<channel name="{c}" type="decimal"'
                        + (f' orientation="{y_orientation}"' if c == "Y" and y_orientation else "") + "/>"
                        for c in channels)
        out.append(f'<definitions><context xml:id="ctx"><traceFormat xml:id="tf">{chans}</traceFormat>'
                   f'</context></definitions>')
    if text:
        out.append(f'<annotation type="truth">{text}</annotation>')
    sign = -1 if y_orientation == "-ve" else 1
    for s in strokes:
        values = [{"X": x, "Y": sign * y, "T": i * 10, "F": 0.5} for i, (x, y) in enumerate(s)]
        if diff:   # first point explicit, the rest as first differences (' prefix)
            pts = [f"{values[0]['X']:g} {values[0]['Y']:g}"]
            pts += [f"'{a['X'] - b['X']:g}'{a['Y'] - b['Y']:g}" for a, b in zip(values[1:], values)]
        else:
            pts = [" ".join(f"{v[c]:g}" for c in channels) for v in values]
        ref = ' contextRef="#ctx"' if len(out) > 1 and "context" in out[1] else ""
        out.append(f"<trace{ref}>{', '.join(pts)}</trace>")
    out.append("</ink>")
    return "\n".join(out)


def reference_primer(strokes, parts):
    return primed(Style(strokes, TEXT), parts)


def test_json_written_by_handwriting_primes(tmp_path, strokes, tiny_model_parts):
    pts = np.concatenate([np.c_[s, np.r_[np.zeros(len(s) - 1), 1]] for s in strokes]).astype(np.float32)
    hw = Handwriting(TEXT, [WrittenLine(TEXT, pts)])
    path = tmp_path / "mine.json"
    hw.to_json(path)
    style = Style.from_file(path)                 # the text comes from the file
    assert style.text == TEXT and style.name == "mine"
    offsets, codes = primed(style, tiny_model_parts)
    ref = reference_primer(strokes, tiny_model_parts)
    np.testing.assert_allclose(offsets, ref[0], atol=1e-3)
    assert codes == ref[1]


def test_style_json_round_trip_keeps_name_and_info(tmp_path, strokes, tiny_model_parts):
    path = tmp_path / "s.json"
    Style(strokes, TEXT, "scribe", {"made_with": {"seed": 4}}).to_json(path)
    back = Style.from_file(path)
    assert back.name == "scribe" and back.text == TEXT and back.info["made_with"] == {"seed": 4}
    np.testing.assert_allclose(primed(back, tiny_model_parts)[0], reference_primer(strokes, tiny_model_parts)[0],
                               atol=1e-3)


def test_multi_line_json_picks_a_line(tmp_path, strokes):
    lines = [WrittenLine("first one", np.c_[strokes[0], np.r_[np.zeros(len(strokes[0]) - 1), 1]]),
             WrittenLine("", np.zeros((0, 3))),
             WrittenLine("second", np.c_[strokes[1], np.r_[np.zeros(len(strokes[1]) - 1), 1]])]
    path = tmp_path / "two.json"
    Handwriting("first one\n\nsecond", lines).to_json(path)
    assert Style.from_file(path).text == "first one"
    assert Style.from_file(path, line=1).text == "second"
    with pytest.raises(ValueError, match="line 2 does not exist.*2 written lines"):
        Style.from_file(path, line=2)


def test_iam_xml_primes_with_given_text(tmp_path, strokes, tiny_model_parts):
    path = tmp_path / "a01-000u-01.xml"
    path.write_text(stroke_xml(strokes), encoding="latin-1")
    style = Style.from_file(path, text=TEXT)
    np.testing.assert_allclose(primed(style, tiny_model_parts)[0], reference_primer(strokes, tiny_model_parts)[0],
                               atol=1e-3)


@pytest.mark.parametrize("options", [
    {"namespace": True},
    {"namespace": False},
    {"namespace": True, "channels": ("T", "Y", "X", "F")},     # channel order from <traceFormat>
    {"namespace": False, "channels": ("X", "Y", "T")},
    {"namespace": True, "y_orientation": "-ve"},               # y pointing up
    {"namespace": True, "diff": True},                         # first-difference encoding
], ids=["ns", "no-ns", "traceformat-order", "no-ns-traceformat", "y-up", "differences"])
def test_inkml_primes_like_the_same_strokes(tmp_path, strokes, tiny_model_parts, options):
    path = tmp_path / "pen.inkml"
    path.write_text(inkml(strokes, **options), encoding="utf-8")
    style = Style.from_file(path, text=TEXT)
    np.testing.assert_allclose(primed(style, tiny_model_parts)[0], reference_primer(strokes, tiny_model_parts)[0],
                               atol=1e-3)


def test_inkml_text_from_its_annotation(tmp_path, strokes):
    path = tmp_path / "pen.xml"      # an .xml name: the format is read from the content
    path.write_text(inkml(strokes, text=TEXT), encoding="utf-8")
    assert Style.from_file(path).text == TEXT
    assert Style.from_file(path, text="the cat").text == "the cat"    # given text wins


def test_primer_matches_training_size_and_spacing_at_any_resolution(strokes, tiny_model_parts):
    normalizer = tiny_model_parts[2]
    base = geometry(reference_primer(strokes, tiny_model_parts)[0], normalizer)
    # a high-resolution tablet: 12x the units, 3x the points
    dense = []
    for s in strokes:
        t = np.linspace(0, len(s) - 1, 3 * len(s))
        dense.append(np.c_[np.interp(t, np.arange(len(s)), s[:, 0]), np.interp(t, np.arange(len(s)), s[:, 1])] * 12)
    sparse = [s[::5] / 30 for s in strokes]       # a coarse drawing in tiny units
    for variant in (strokes, dense, sparse):
        height, spacing = geometry(reference_primer(variant, tiny_model_parts)[0], normalizer)
        assert height == pytest.approx(TARGET_BODY_HEIGHT, rel=0.15)
        assert spacing == pytest.approx(TARGET_POINT_SPACING, rel=0.5)
        assert height == pytest.approx(base[0], rel=0.15)


def test_priming_from_a_file_changes_the_writing(tmp_path, strokes, tiny_writer):
    path = tmp_path / "pen.inkml"
    path.write_text(inkml(strokes), encoding="utf-8")
    style = Style.from_file(path, text=TEXT)
    a = tiny_writer.write("ok go", seed=2, style=style)
    b = tiny_writer.write("ok go", seed=2, style=style)
    np.testing.assert_array_equal(a.points, b.points)
    assert a.info["style"] == "pen"
    assert not np.array_equal(a.points, tiny_writer.write("ok go", seed=2).points)


# ---- bad primers ------------------------------------------------------------------------
def test_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.inkml"):
        Style.from_file(tmp_path / "nope.inkml", text=TEXT)
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    with pytest.raises(ValueError, match="empty.json: the stroke file is empty"):
        Style.from_file(empty)


@pytest.mark.parametrize("name,content,msg", [
    ("notes.txt", "just some words", "unknown style file format"),
    ("broken.inkml", "<ink><trace>1 2, 3", "unreadable XML"),
    ("other.xml", "<svg><path d='M0 0'/></svg>", r"unknown style file format \(XML root <svg>\)"),
    ("bad.json", "{not json", "unreadable JSON"),
    ("foreign.json", '{"format": "something-else"}', "not a handwrite strokes JSON"),
    ("nolines.json", '{"format": "handwrite-strokes", "lines": []}', "no pen strokes"),
    ("nopoints.xml", "<WhiteboardCaptureSession><StrokeSet/></WhiteboardCaptureSession>", "no points"),
    ("notraces.inkml", '<ink xmlns="http://www.w3.org/2003/InkML"></ink>', "no <trace> points"),
    ("noxy.inkml", '<ink><traceFormat><channel name="T"/><channel name="P"/></traceFormat>'
                   '<trace>1 2, 3 4</trace></ink>', "no X and Y channels"),
    ("garbled.inkml", "<ink><trace>1 2, 3 abc</trace></ink>", "cannot read the InkML trace point"),
])
def test_unreadable_or_unknown_files(tmp_path, name, content, msg):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=msg) as e:
        Style.from_file(path, text=TEXT)
    assert name in str(e.value)


def test_iam_xml_without_text_asks_for_it(tmp_path, strokes):
    path = tmp_path / "line.xml"
    path.write_text(stroke_xml(strokes), encoding="latin-1")
    with pytest.raises(ValueError, match="line.xml: the file does not say what the strokes read.*style_text"):
        Style.from_file(path)


def test_unsupported_primer_characters_are_named(strokes, tiny_model_parts):
    style = Style(strokes, "the caf\u00e9 sat on a mat \u2603")
    with pytest.raises(ValueError, match="cannot write") as e:
        primed(style, tiny_model_parts)
    assert "'\u00e9'" in str(e.value) and "'\u2603'" in str(e.value)


def test_typography_in_primer_text_is_mapped(strokes, tiny_model_parts):
    _, codes = primed(Style(strokes, "the cat\u2019s mat \u2013 on a mat"), tiny_model_parts)
    assert tiny_model_parts[1].decode(codes) == "the cat's mat - on a mat "


@pytest.mark.parametrize("text,msg", [("", "too short"), ("a", "too short"), ("  \n ", "too short"),
                                      ("word " * 20, "at most 80 are supported")])
def test_primer_text_length_limits(strokes, text, msg):
    with pytest.raises(ValueError, match=msg):
        Style(strokes, text)


def test_primer_stroke_problems(tiny_model_parts):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no pen strokes"):
        Style([], TEXT)
    with pytest.raises(ValueError, match="no pen strokes"):
        Style([np.zeros((0, 2))], TEXT)
    with pytest.raises(ValueError, match=r"\(n, 2\) arrays"):
        Style([[1, 2, 3]], TEXT)
    with pytest.raises(ValueError, match="NaN or infinite"):
        Style([[[0, 0], [np.nan, 1]]], TEXT)
    flat = Style([np.c_[np.arange(100.0), np.zeros(100)]], TEXT)
    with pytest.raises(ValueError, match="no height"):
        primed(flat, tiny_model_parts)
    few = Style([rng.normal(0, 50, (8, 2))], "ab")
    with pytest.raises(ValueError, match="too short.*at least 20"):
        primed(few, tiny_model_parts)
    # long enough in points, but far too few for its text: text and strokes do not match
    mismatch = Style(synthetic_strokes("ab cd", rng), "x" * 40)
    with pytest.raises(ValueError, match="does the text match"):
        primed(mismatch, tiny_model_parts)


def test_primer_too_long(tiny_model_parts):
    rng = np.random.default_rng(0)
    long_strokes = synthetic_strokes(" ".join(["word"] * 60), rng)
    with pytest.raises(ValueError, match=f"too long.*at most {MAX_POINTS}"):
        primed(Style(long_strokes, TEXT), tiny_model_parts)


# ---- command line -----------------------------------------------------------------------
@pytest.fixture
def weights(tmp_path, tiny_model_parts):
    path = tmp_path / "tiny.safetensors"
    export_weights(path, *tiny_model_parts)
    return str(path)


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_lists_styles():
    r = run("styles")
    assert r.exit_code == 0, r.output
    for i, s in enumerate(presets()):
        assert f"{i}  {s.name}" in r.output


def test_cli_style_options(tmp_path, weights, strokes):
    def write(name, *extra):
        out = tmp_path / name
        r = run("write", "ok go", "-o", str(out), "--weights", weights, "--seed", "5", *extra)
        assert r.exit_code == 0, r.output
        return json.loads(out.read_text())["lines"]

    by_index = write("a.json", "--style", "1")
    assert write("b.json", "--style", presets()[1].name) == by_index
    assert write("c.json", "--style", "2") != by_index
    xml = tmp_path / "line.xml"
    xml.write_text(stroke_xml(strokes), encoding="latin-1")
    own = write("d.json", "--style-file", str(xml), "--style-text", TEXT)
    assert own != by_index and own != write("e.json")


@pytest.mark.parametrize("args,msg", [
    (["--style", "99"], "no preset style 99"),
    (["--style", "nobody"], "no preset style named 'nobody'"),
    (["--style-file", "missing.inkml"], "missing.inkml: no such stroke file"),
    (["--style-text", "hello"], "--style-text needs --style-file"),
    (["--style", "1", "--style-file", "x.json"], "not both"),
])
def test_cli_style_errors(tmp_path, weights, args, msg):
    out = tmp_path / "o.png"
    r = run("write", "ok", "-o", str(out), "--weights", weights, *args)
    assert r.exit_code == 2
    assert msg in r.output
    assert not out.exists()


def test_cli_style_file_errors_name_the_problem(tmp_path, weights, strokes):
    xml = tmp_path / "line.xml"
    xml.write_text(stroke_xml(strokes), encoding="latin-1")
    r = run("write", "ok", "-o", str(tmp_path / "o.svg"), "--weights", weights, "--style-file", str(xml))
    assert r.exit_code == 2 and "--style-text" in r.output
    r = run("write", "ok", "-o", str(tmp_path / "o.svg"), "--weights", weights, "--style-file", str(xml),
            "--style-text", "na\u00efve cat")
    assert r.exit_code == 2 and "'\u00ef'" in r.output


def test_cli_batch_with_style(tmp_path, weights):
    lines = tmp_path / "lines.txt"
    lines.write_text("one\ntwo\n")
    out = tmp_path / "out"
    r = run("batch", str(lines), "-d", str(out), "--format", "json", "--weights", weights, "--style", "0",
            "--seed", "1")
    assert r.exit_code == 0, r.output
    assert (out / "0001.json").exists() and (out / "0002.json").exists()


def test_style_from_model_output(tiny_writer, tiny_model_parts):
    hw = tiny_writer.write("ab cd ef gh\nij kl", seed=1)
    style = Style.from_handwriting(hw, name="echo", line=1)
    assert style.text == "ij kl" and style.name == "echo"
    assert len(style.strokes) == len(hw.lines[1].strokes)
    with pytest.raises(ValueError, match="line 2 does not exist"):
        Style.from_handwriting(hw, line=2)


def test_primer_xml_with_an_unknown_encoding_is_a_clear_error(tmp_path):
    from handwrite.styles import Style
    f = tmp_path / "x.xml"
    f.write_text('<?xml version="1.0" encoding="I-O-8859-1"?><ink><trace>1 2, 3 4</trace></ink>')
    with pytest.raises(ValueError, match="unreadable XML"):
        Style.from_file(f, text="ab")


def test_cli_free_style(tmp_path, tiny_model_parts):
    from handwrite.weights import export_weights
    weights = tmp_path / "w.safetensors"
    export_weights(weights, *tiny_model_parts)
    out = tmp_path / "free.json"
    r = CliRunner().invoke(main, ["no preset", "-o", str(out), "--weights", str(weights), "--style", "free", "--seed", "1"])
    assert r.exit_code == 0, r.output
    default = tmp_path / "default.json"
    r = CliRunner().invoke(main, ["no preset", "-o", str(default), "--weights", str(weights), "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["lines"] != json.loads(default.read_text())["lines"]


# ---- several lines of one hand --------------------------------------------------------------
def two_line_json(tmp_path, strokes):
    lines = [WrittenLine("first one", np.c_[strokes[0], np.r_[np.zeros(len(strokes[0]) - 1), 1]]),
             WrittenLine("second", np.c_[strokes[1], np.r_[np.zeros(len(strokes[1]) - 1), 1]])]
    path = tmp_path / "two.json"
    Handwriting("first one\nsecond", lines).to_json(path)
    return path


def test_multi_line_json_loads_every_line_and_round_trips(tmp_path, strokes, tiny_model_parts):
    style = Style.from_file(two_line_json(tmp_path, strokes))
    assert [text for _, text in style.lines] == ["first one", "second"]
    assert style.text == "first one" and "lines=2" in repr(style)
    _, alphabet, normalizer = tiny_model_parts
    primers = style.primers(alphabet, normalizer)
    assert len(primers) == 2 and alphabet.decode(primers[1][1]) == "second "
    back = Style.from_file(tmp_path / "back.json") if style.to_json(tmp_path / "back.json") else None
    assert [t for _, t in back.lines] == ["first one", "second"]
    for (a, _), (b, _) in zip(style.lines, back.lines):
        assert all(np.allclose(x, y, atol=0.01) for x, y in zip(a, b))


def test_from_files_joins_lines_of_every_format(tmp_path, strokes, tiny_model_parts):
    xml = tmp_path / "line.xml"
    xml.write_text(stroke_xml(strokes), encoding="latin-1")
    ink = tmp_path / "pen.inkml"
    ink.write_text(inkml(strokes, namespace=True), encoding="utf-8")
    js = two_line_json(tmp_path, strokes)
    style = Style.from_files([xml, ink, js], texts=[TEXT, TEXT, None])
    assert [t for _, t in style.lines] == [TEXT, TEXT, "first one", "second"]
    assert len(style.primers(*tiny_model_parts[1:])) == 4
    assert set(style.hand) >= {"slant", "width_per_char", "lifts_per_char", "size"}
    with pytest.raises(ValueError, match="2 style files but 1 texts"):
        Style.from_files([xml, ink], texts=[TEXT])
    with pytest.raises(ValueError, match="style_text"):
        Style.from_files([xml, js])          # the IAM file does not say what it reads
    with pytest.raises(ValueError, match="no style files"):
        Style.from_files([])


def test_a_style_of_several_lines_primes_with_each(tmp_path, strokes, tiny_writer):
    one = Style.from_file(two_line_json(tmp_path, strokes), line=0)
    both = Style.from_file(two_line_json(tmp_path, strokes))
    text = "one two\nthree four\nfive six"
    a = tiny_writer.write(text, seed=4, style=both).points
    np.testing.assert_array_equal(a, tiny_writer.write(text, seed=4, style=both).points)
    assert not np.array_equal(a, tiny_writer.write(text, seed=4, style=one).points)


def test_cli_repeated_style_file(tmp_path, weights, strokes):
    xml = tmp_path / "line.xml"
    xml.write_text(stroke_xml(strokes), encoding="latin-1")
    js = two_line_json(tmp_path, strokes)
    out = tmp_path / "o.json"
    r = run("write", "ok go\nand on", "-o", str(out), "--weights", weights, "--seed", "2",
            "--style-file", str(xml), "--style-text", TEXT, "--style-file", str(js), "--style-text", "first one")
    assert r.exit_code == 0, r.output
    assert len(json.loads(out.read_text())["lines"]) == 2
    r = run("write", "ok", "-o", str(out), "--weights", weights, "--style-file", str(xml), "--style-file", str(js),
            "--style-text", TEXT)
    assert r.exit_code == 2 and "one text per --style-file" in r.output


def test_a_preset_size_scales_the_writing(tiny_writer, strokes):
    plain = Style(strokes, TEXT)
    small = Style(strokes, TEXT, info={"size": 0.5})
    a = tiny_writer.write("the cat", seed=1, style=plain).lines[0].points
    b = tiny_writer.write("the cat", seed=1, style=small).lines[0].points
    assert np.ptp(b[:, 1]) == pytest.approx(0.5 * np.ptp(a[:, 1]), rel=1e-3)
    assert Style(strokes, TEXT, info={"size": "huge"}).size == 1.0       # a bad size is ignored


def test_a_style_extra_bias_writes_as_the_raised_bias_does(tiny_writer, strokes, tmp_path):
    plain = Style(strokes, TEXT)
    steadier = Style(strokes, TEXT, info={"extra_bias": 1.5})
    raised = tiny_writer.write("the cat", seed=1, bias=2.0, style=plain).lines[0].points
    steady = tiny_writer.write("the cat", seed=1, bias=0.5, style=steadier).lines[0].points
    own = tiny_writer.write("the cat", seed=1, bias=0.5, style=plain).lines[0].points
    np.testing.assert_array_equal(steady, raised)
    assert steady.shape != own.shape or not np.allclose(steady, own)
    path = tmp_path / "steady.json"
    steadier.to_json(path)
    assert Style.from_file(path).extra_bias == 1.5                        # kept in the file
    assert Style(strokes, TEXT, info={"extra_bias": -1}).extra_bias == 0.0   # out of range: ignored
    assert Style(strokes, TEXT, info={"extra_bias": "lots"}).extra_bias == 0.0


def test_a_style_join_joins_the_written_letters_of_each_word(tiny_writer, strokes):
    from handwrite.letters import join_letters
    plain = Style(strokes, TEXT, info={"join": 0})                       # never joins
    joined = Style(strokes, TEXT, info={"join": 1.5})
    a = tiny_writer.write("the cat sat", seed=2, style=plain).lines[0]
    b = tiny_writer.write("the cat sat", seed=2, style=joined).lines[0]
    np.testing.assert_array_equal(b.points[:, :2], a.points[:, :2])      # the same writing ...
    np.testing.assert_array_equal(b.points, join_letters(a.points, a.phi, "the cat sat", 1.5))   # ... joined
    assert (b.points[:, 2] > 0.5).sum() < (a.points[:, 2] > 0.5).sum()
    assert Style(strokes, TEXT, info={"join": 99}).join == 0.0              # out of range: ignored


def test_a_style_that_says_nothing_of_joining_joins_when_its_own_hand_is_joined_up(strokes):
    from handwrite.styles import AUTO_JOIN, AUTO_JOIN_LIFTS
    joined_up = Style(strokes, TEXT)                     # the synthetic line: a few long strokes
    assert joined_up.hand["lifts_per_char"] <= AUTO_JOIN_LIFTS and joined_up.join == AUTO_JOIN
    pieces = [part for s in strokes for part in np.array_split(s, 4) if len(part) > 1]   # the same ink, lifted often
    printed = Style(pieces, TEXT)
    assert printed.hand["lifts_per_char"] > AUTO_JOIN_LIFTS and printed.join == 0.0
    assert Style(strokes, TEXT, info={"join": 0}).join == 0.0           # said: never
