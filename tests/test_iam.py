"""The IAM-OnDB reader on tiny synthetic folders, one database defect at a time."""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
from conftest import make_tiny_iam, stroke_xml, synthetic_strokes, write_form

from handwrite.training.iam import DatasetError, parse_stroke_xml, read_iam, remove_outlier_points


def read_quietly(root):
    """read_iam on a clean folder: any warning is a test failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_iam(root)


def read_with_one_warning(root):
    """read_iam on a folder with defects: exactly one summary warning, no exception."""
    with pytest.warns(UserWarning) as record:
        lines, report = read_iam(root)
    assert len(record) == 1, [str(w.message) for w in record]
    return lines, report, str(record[0].message)


def stroke_path(root, form, line):
    return root / "lineStrokes" / form.split("-")[0] / form[:7] / f"{form}-{line:02d}.xml"


def good_form(root, form="b01-000a", texts=("the cat", "sat on", "a mat")):
    write_form(root, form, list(texts))
    return form


# ---- a clean folder ------------------------------------------------------------------------
def test_clean_folder_reads_every_line(tmp_path):
    root = make_tiny_iam(tmp_path / "iam", forms=4, lines_per_form=3)
    lines, report = read_quietly(root)
    assert report.lines == len(lines) == 12
    assert not report.skipped and report.outlier_points == 0
    assert sorted(ln.line_id for ln in lines) == sorted(
        p.stem for p in (root / "lineStrokes").glob("*/*/*.xml"))
    for ln in lines:
        assert ln.line_id.startswith(ln.form_id + "-")
        assert ln.text and "\n" not in ln.text
        assert all(s.dtype == np.float32 and s.ndim == 2 and s.shape[1] == 2 for s in ln.strokes)
        # conftest writes one stroke per word
        assert len(ln.strokes) == len(ln.text.split(" "))


def test_text_lines_follow_the_csr_section_in_order(tmp_path):
    root = tmp_path / "iam"
    write_form(root, "b01-000a", ["first line", "second line", "third"])
    lines, _ = read_quietly(root)
    assert [(ln.line_id, ln.text) for ln in lines] == [
        ("b01-000a-01", "first line"), ("b01-000a-02", "second line"), ("b01-000a-03", "third")]


# ---- writer ids ----------------------------------------------------------------------------
def test_writer_ids_come_from_writers_tsv(tmp_path):
    root = make_tiny_iam(tmp_path / "iam", forms=4)
    lines, _ = read_quietly(root)
    expected = dict(ln.split("\t") for ln in (root / "writers.tsv").read_text().splitlines()[1:])
    assert {ln.form_id: ln.writer_id for ln in lines} == expected
    assert len({ln.writer_id for ln in lines}) == 2


def test_writer_ids_come_from_original_form_headers(tmp_path):
    root = tmp_path / "iam"
    good_form(root, "b01-000a")
    good_form(root, "b01-000b")
    folder = root / "original" / "b01" / "b01-000"
    folder.mkdir(parents=True)
    (folder / "strokesa.xml").write_text(
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<WhiteboardCaptureSession><General>'
        '<Form id="b01-000a" writerID="777" />\n</General><StrokeSet/></WhiteboardCaptureSession>')
    lines, _ = read_quietly(root)
    by_form = {ln.form_id: ln.writer_id for ln in lines}
    assert by_form == {"b01-000a": "777", "b01-000b": "b01-000b"}


def test_writer_id_falls_back_to_the_form_id(tmp_path):
    root = tmp_path / "iam"
    good_form(root, "b01-000a")
    lines, _ = read_quietly(root)
    assert {ln.writer_id for ln in lines} == {"b01-000a"}


def test_a_broken_original_header_file_is_ignored(tmp_path):
    root = tmp_path / "iam"
    good_form(root, "b01-000a")
    folder = root / "original" / "b01" / "b01-000"
    folder.mkdir(parents=True)
    (folder / "strokesa.xml").write_text("<WhiteboardCaptureSession><General><Form id=")
    lines, _ = read_quietly(root)
    assert {ln.writer_id for ln in lines} == {"b01-000a"}


# ---- one defect at a time: skipped, counted, one warning -----------------------------------
# Each builder writes form c01-000a with one defect and returns (lines skipped, good lines left).
def _insert_point(root, line, attributes):
    p = stroke_path(root, "c01-000a", line)
    p.write_text(p.read_text().replace("<Point ", f"<Point {attributes} />\n      <Point ", 1))


def _more_stroke_files_than_text(root):
    write_form(root, "c01-000a", ["only one line"], stroke_files=3)
    return 3, 0


def _placeholder(root):
    write_form(root, "c01-000a", ["a real line", "Please Enter Transcription here"])
    return 1, 1


def _struck_out(root):
    write_form(root, "c01-000a", ["the #cat# sat", "fine words"])
    return 1, 1


def _malformed_xml(root):
    write_form(root, "c01-000a", ["one", "two"])
    stroke_path(root, "c01-000a", 1).write_text("<WhiteboardCaptureSession><StrokeSet><Stroke>"
                                                 "<Point x='1' y='2'/></Strokes></Stroke>")
    return 1, 1


def _truncated_xml(root):
    write_form(root, "c01-000a", ["one", "two"])
    p = stroke_path(root, "c01-000a", 2)
    p.write_bytes(p.read_bytes()[:300])
    return 1, 1


def _empty_strokeset(root):
    write_form(root, "c01-000a", ["one", "two"])
    stroke_path(root, "c01-000a", 1).write_text(
        "<WhiteboardCaptureSession><StrokeSet></StrokeSet></WhiteboardCaptureSession>")
    return 1, 1


def _nan_coordinates(root):
    write_form(root, "c01-000a", ["one", "two"])
    _insert_point(root, 1, 'x="NaN" y="1200"')
    return 1, 1


def _huge_coordinates(root):
    write_form(root, "c01-000a", ["one", "two"])
    _insert_point(root, 2, 'x="1e300" y="5"')
    return 1, 1


def _non_numeric_coordinates(root):
    write_form(root, "c01-000a", ["one", "two"])
    _insert_point(root, 2, 'x="twelve" y="5"')
    return 1, 1


def _missing_ascii(root):
    write_form(root, "c01-000a", ["one", "two"])
    (root / "ascii" / "c01" / "c01-000" / "c01-000a.txt").unlink()
    return 2, 0


def _ascii_without_csr(root):
    write_form(root, "c01-000a", ["one", "two"])
    (root / "ascii" / "c01" / "c01-000" / "c01-000a.txt").write_text("OCR:\n\none\ntwo\n")
    return 2, 0


# (builder, the reason it is counted under)
DEFECTS = [
    (_more_stroke_files_than_text, "line count mismatch"),
    (_placeholder, "placeholder text"),
    (_struck_out, "struck-out or garbled text"),
    (_malformed_xml, "malformed XML"),
    (_truncated_xml, "malformed XML"),
    (_empty_strokeset, "no points"),
    (_nan_coordinates, "bad points"),
    (_huge_coordinates, "bad points"),
    (_non_numeric_coordinates, "bad points"),
    (_missing_ascii, "no transcription"),
    (_ascii_without_csr, "no transcription"),
]
GOOD_TEXTS = {"the cat", "sat on", "a mat"}


@pytest.mark.parametrize("make, reason", DEFECTS, ids=[m.__name__.strip("_") for m, _ in DEFECTS])
def test_defective_lines_are_skipped_and_counted(tmp_path, make, reason):
    root = tmp_path / "iam"
    good_form(root)                                  # 3 good lines in another form
    n_bad, n_good = make(root)
    lines, report, message = read_with_one_warning(root)
    assert report.skipped == {reason: n_bad}
    assert f"{n_bad} {reason}" in message and str(root) in message
    assert report.lines == len(lines) == 3 + n_good
    assert GOOD_TEXTS <= {ln.text for ln in lines}
    for ln in lines:
        assert all(np.isfinite(s).all() and np.abs(s).max() < 1e5 for s in ln.strokes)
        assert "#" not in ln.text and "please enter" not in ln.text.lower()


def test_every_defect_at_once_gives_one_summary_warning(tmp_path):
    root = tmp_path / "iam"
    good_form(root)
    expected = collections.Counter()
    for i, (make, reason) in enumerate(DEFECTS):
        # build each defect in its own folder, then copy it in under its own form id
        sub = tmp_path / f"defect{i}"
        n_bad, _ = make(sub)
        expected[reason] += n_bad
        for p in sub.rglob("*.*"):
            target = root / str(p.relative_to(sub)).replace("c01-000", f"c01-{i:03d}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.read_bytes())
    lines, report, message = read_with_one_warning(root)
    assert GOOD_TEXTS <= {ln.text for ln in lines}
    assert report.skipped == expected
    assert message.startswith(f"IAM-OnDB at {root}: read {len(lines)} lines; "
                              f"skipped {sum(expected.values())} (")


def test_far_outlier_points_are_removed_and_counted(tmp_path):
    root = tmp_path / "iam"
    rng = np.random.default_rng(3)
    strokes = synthetic_strokes("the cat", rng)
    glitch = strokes[1].copy()
    glitch[5] = (glitch[5, 0], 90000.0)              # the pen jumps far below the line
    write_form(root, "b01-000a", ["the cat", "sat"], strokes=[strokes[:1] + [glitch], synthetic_strokes("sat", rng)])
    lines, report, message = read_with_one_warning(root)
    assert report.outlier_points == 1 and report.lines_with_outliers == 1
    assert not report.skipped
    assert "removed 1 outlier points in 1 lines" in message
    line = next(ln for ln in lines if ln.text == "the cat")
    assert sum(len(s) for s in line.strokes) == sum(len(s) for s in strokes) - 1
    assert max(float(s[:, 1].max()) for s in line.strokes) < 2000


def test_remove_outlier_points_keeps_ordinary_writing():
    strokes = synthetic_strokes("quiz the cat", np.random.default_rng(0))
    kept, removed = remove_outlier_points([s.astype(np.float32) for s in strokes])
    assert removed == 0
    assert [len(s) for s in kept] == [len(s) for s in strokes]


def test_an_isolated_spike_is_removed():
    s = synthetic_strokes("catcat", np.random.default_rng(0))[0].astype(np.float32)
    s[10] = s[10] + (0.0, -5000.0)
    kept, removed = remove_outlier_points([s])
    assert removed == 1 and len(kept[0]) == len(s) - 1


# ---- text encodings ------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_latin1_and_utf8_transcriptions(tmp_path, encoding):
    root = tmp_path / "iam"
    write_form(root, "b01-000a", ["caf\u00e9 na\u00efve", "\u00a3 5"], encoding=encoding)
    lines, _ = read_quietly(root)
    assert [ln.text for ln in lines] == ["caf\u00e9 na\u00efve", "\u00a3 5"]


# ---- folders that are not IAM-OnDB ---------------------------------------------------------
def test_a_missing_folder_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        read_iam(tmp_path / "nowhere")


def test_a_folder_that_is_not_iam_is_a_clear_dataset_error(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(DatasetError) as info:
        read_iam(tmp_path / "photos")
    message = str(info.value)
    assert str(tmp_path / "photos") in message
    assert "not an IAM-OnDB folder" in message and "lineStrokes" in message and "ascii" in message
    assert isinstance(info.value, ValueError)        # documented: DatasetError is a ValueError


def test_a_folder_with_nothing_usable_is_one_dataset_error(tmp_path):
    root = tmp_path / "iam"
    _malformed_xml(root)                             # line 1 broken XML, line 2 good
    stroke_path(root, "c01-000a", 2).write_text("<StrokeSet/>")
    with pytest.warns(UserWarning), pytest.raises(DatasetError) as info:
        read_iam(root)
    assert "no usable IAM-OnDB lines" in str(info.value)
    assert "malformed XML" in str(info.value) and "no points" in str(info.value)


def test_stroke_files_with_odd_names_are_counted(tmp_path):
    root = tmp_path / "iam"
    good_form(root)
    odd = root / "lineStrokes" / "b01" / "b01-000" / "notes.xml"
    odd.write_text("<x/>")
    lines, report, _ = read_with_one_warning(root)
    assert len(lines) == 3 and report.skipped == {"unrecognised file names": 1}


def test_parse_stroke_xml_reads_points_in_order(tmp_path):
    p = tmp_path / "l.xml"
    p.write_text(stroke_xml([np.array([[1, 2], [3, 4]]), np.array([[5, 6]])]))
    strokes = parse_stroke_xml(p)
    assert [s.tolist() for s in strokes] == [[[1, 2], [3, 4]], [[5, 6]]]


def test_xml_with_an_unknown_encoding_declaration_is_malformed_not_a_crash(tmp_path):
    # found by the fuzz test: a damaged encoding="..." made ElementTree raise LookupError
    from handwrite.training.iam import parse_stroke_xml
    f = tmp_path / "x.xml"
    f.write_text('<?xml version="1.0" encoding="I-O-8859-1"?><WhiteboardCaptureSession><StrokeSet>'
                 '<Stroke><Point x="1" y="2"/></Stroke></StrokeSet></WhiteboardCaptureSession>')
    with pytest.raises(ValueError, match="malformed XML"):
        parse_stroke_xml(f)
