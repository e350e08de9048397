"""Pages like paper: text flows over pages at a real size, on plain, lined or grid paper."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from handwrite import Handwriting, WriteRequest, outputs
from handwrite.handwriting import WrittenLine
from handwrite.layout import (DEFAULT_SIZE_MM, MM_PER_UNIT, PITCH_PER_BODY, body_height, line_chars_for,
                              sitting_line, split_text)

WORDS = "the quick brown fox jumps over a lazy dog while seven tall ships sail past quietly".split()


def synthetic(texts, align="left") -> Handwriting:
    """A Handwriting of wavy lines, one stroke per word, as the writer lays lines out (60 units apart)."""
    lines = []
    for i, text in enumerate(texts):
        if not text:
            lines.append(WrittenLine("", np.zeros((0, 3), np.float32)))
            continue
        parts, x = [], 0.0
        for word in text.split():
            n = 6 * len(word) + 2
            xs = x + np.linspace(0, 6 * len(word), n)
            ys = i * 60 - 8 * np.abs(np.sin(np.linspace(0, len(word) * np.pi, n)))
            eos = np.zeros(n)
            eos[-1] = 1
            parts.append(np.stack([xs, ys, eos], 1))
            x = xs[-1] + 10
        lines.append(WrittenLine(text, np.concatenate(parts).astype(np.float32)))
    return Handwriting("\n".join(texts), lines, {"align": align, "line_spacing": 1.0})


def text_of(n_words: int, paragraph_every: int = 0) -> str:
    words = [WORDS[i % len(WORDS)] for i in range(n_words)]
    if paragraph_every:
        for i in range(paragraph_every, n_words, paragraph_every):
            words[i] = "\n\n" + words[i]
    return " ".join(words)


def laid_out(text, page="A4", **kw):
    width = line_chars_for(page, size_mm=kw.get("size") or DEFAULT_SIZE_MM)
    return synthetic([ln.text for ln in split_text(text, width)]).pages(page, **kw)


# ---- the flow ---------------------------------------------------------------------------
def test_lines_fill_a_page_then_flow_to_the_next():
    pages = laid_out(text_of(900))
    per_page = int((297 - 40) / (PITCH_PER_BODY * DEFAULT_SIZE_MM))      # 8 mm lines inside 20 mm margins
    assert per_page == 32 and all(p.sheet.lines == per_page for p in pages)
    assert [len(p.lines) for p in pages[:-1]] == [per_page] * (len(pages) - 1)
    assert 0 < len(pages[-1].lines) <= per_page
    assert [(p.sheet.number, p.sheet.count) for p in pages] == [(i, len(pages)) for i in range(1, len(pages) + 1)]


def test_page_count_grows_with_the_text():
    counts = [len(laid_out(text_of(n))) for n in (5, 400, 900, 1800)]
    assert counts[0] == 1 and counts == sorted(counts) and counts[-1] > counts[1] > 1


def test_no_word_is_split_and_every_word_is_kept_in_order():
    text = text_of(700, paragraph_every=45)
    pages = laid_out(text)
    assert len(pages) > 1
    words = [w for p in pages for w in p.text.split()]
    assert words == text.split()
    for p in pages:                          # each page holds whole words: its lines are whole lines
        assert all(w in WORDS for w in p.text.split())


def test_a_paragraph_break_stays_a_break():
    text = text_of(700, paragraph_every=45)
    pages = laid_out(text)
    texts = [ln.text for p in pages for ln in p.lines]
    assert texts.count("") == text.count("\n\n")
    for p in pages:           # a blank line takes a line's room: the next line sits two pitches lower
        for k, ln in enumerate(p.lines):
            if len(ln.points):
                assert sitting_line(ln.points) == pytest.approx(p.sheet.baselines()[k], abs=0.01)


@pytest.mark.parametrize("size", [2.0, 2.5, 4.0])
def test_the_size_is_kept_on_every_page(size):
    pages = laid_out(text_of(900), size=size)
    for p in pages:
        assert body_height([ln.points for ln in p.lines]) * MM_PER_UNIT == pytest.approx(size, rel=0.02)
        assert p.sheet.pitch * MM_PER_UNIT == pytest.approx(PITCH_PER_BODY * size)
    assert len(laid_out(text_of(900), size=4.0)) > len(laid_out(text_of(900), size=2.0))


def test_lines_stay_inside_the_margins_and_keep_their_alignment():
    for align in ("left", "center", "right"):
        hw = synthetic([ln.text for ln in split_text(text_of(200), 40)], align=align)
        for p in hw.pages("A5", page_margin=15):
            x0, y0, x1, y1 = (v * MM_PER_UNIT for v in (p.points[:, 0].min(), p.points[:, 1].min(),
                                                         p.points[:, 0].max(), p.points[:, 1].max()))
            assert x0 >= 15 - 1e-3 and x1 <= 148 - 15 + 1e-3 and y0 >= 15 - 1e-3 and y1 <= 210 - 15 + 1e-3
            first = p.lines[0].points[:, 0]
            edge = {"left": first.min() * MM_PER_UNIT, "right": first.max() * MM_PER_UNIT,
                    "center": (first.min() + first.max()) / 2 * MM_PER_UNIT}[align]
            assert edge == pytest.approx({"left": 15, "right": 133, "center": 74}[align], abs=1e-3)


def test_bad_page_settings_are_value_errors():
    hw = synthetic(["hello there"])
    for kw, msg in [({"paper": "dotted"}, "paper must be one of"), ({"size": 0}, "size"),
                    ({"page_margin": 80}, "does not fit"), ({"page": "B12"}, "unknown page size")]:
        with pytest.raises(ValueError, match=msg):
            hw.pages(**{"page": "A5", **kw})
    with pytest.raises(ValueError, match="no room"):
        hw.pages("30x20", page_margin=8, size=5)


# ---- rendering ----------------------------------------------------------------------------
@pytest.mark.parametrize("paper, rules", [("plain", 0), ("lined", 32), ("grid", None)])
def test_each_paper_kind_renders(paper, rules):
    (page,) = synthetic(["a few words on paper"]).pages("A4", paper=paper)
    root = ET.fromstring(page.to_svg())
    assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
    lines = [el for el in root.iter() if el.tag.endswith("line")]
    if rules is None:
        assert len(lines) > 100       # a grid of squares over the whole page
    else:
        assert len(lines) == rules
    if paper == "lined":              # the writing sits on the first rule
        y = float(lines[0].get("y1"))
        assert sitting_line(page.lines[0].points) == pytest.approx(y, abs=0.01)
    assert page.to_png(dpi=30).startswith(b"\x89PNG")
    assert page.to_pdf().startswith(b"%PDF")


def test_pdf_has_a_page_per_page_and_svg_png_a_file_per_page(tmp_path):
    hw = synthetic([ln.text for ln in split_text(text_of(900), 40)])
    n = len(hw.pages("A5"))
    assert n > 1
    pdf = hw.to_pdf(page="A5", paper="lined")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == n
    paths = outputs.save_files(hw, tmp_path / "out.svg", page="A5")
    assert [p.name for p in paths] == [f"out-{i}.svg" for i in range(1, n + 1)]
    assert not (tmp_path / "out.svg").exists()
    assert hw.save(tmp_path / "one.png", page="A5", page_number=2, dpi=20) == tmp_path / "one.png"
    assert [p.name for p in outputs.save_files(hw, tmp_path / "short.svg", page="A4", size=0.5)] == ["short.svg"]
    with pytest.raises(ValueError, match=f"fills {n} pages: choose one with page_number"):
        hw.to_svg(page="A5")
    with pytest.raises(ValueError, match="page_number 99 does not exist"):
        hw.to_png(page="A5", page_number=99)
    assert hw.to_svg(page="A5", page_number=n) == hw.pages("A5")[-1].to_svg()


def test_size_without_a_page_scales_the_drawing():
    hw = synthetic(["one line of words"])
    big = hw.resized(5.0)
    assert body_height([ln.points for ln in big.lines]) * MM_PER_UNIT == pytest.approx(5.0, rel=0.01)
    assert hw.to_svg(size=5.0) == big.to_svg()


def test_jupyter_shows_the_writing():
    hw = synthetic(["hello there"])
    assert hw._repr_svg_() == hw.to_svg() and hw._repr_svg_().startswith("<svg")
    (page,) = hw.pages("A6", paper="grid")
    assert ET.fromstring(page._repr_svg_()).get("width") == "105mm"


# ---- the request, the registry and the command line ----------------------------------------
def test_the_request_carries_the_page_settings():
    r = WriteRequest("hi there", page="A4", size=3.0, paper="lined", page_number=2)
    assert r.page_options() == {"page": "A4", "page_margin": 20.0, "size": 3.0, "paper": "lined", "page_number": 2}
    assert WriteRequest("hi", size=4.0).page_options() == {"size": 4.0}
    assert WriteRequest.from_dict(r.to_dict()) == r
    # the line width follows the page at the size, unless given
    assert r.line_width() == line_chars_for("A4", 20.0, 3.0) < WriteRequest("hi", page="A4").line_width()
    assert WriteRequest("hi").line_width() == 50 and WriteRequest("hi", page="A4", width=30).line_width() == 30
    for kw, msg in [({"paper": "lined"}, "need a page"), ({"page_number": 1}, "need a page"),
                    ({"page": "A4", "paper": "dots"}, "paper must be one of"),
                    ({"page": "A4", "page_number": 0}, "page_number must be"), ({"size": 99}, "size")]:
        with pytest.raises(ValueError, match=msg):
            WriteRequest("hi", **kw)
    with pytest.raises(ValueError, match="size must be a number"):
        WriteRequest.from_dict({"text": "hi", "size": "big"})


def test_options_for_drops_page_settings_without_a_page():
    fmt = outputs.FORMATS["svg"]
    assert outputs.options_for(fmt, "a.svg", {"paper": "lined", "page_number": 2, "size": 3.0}) == {"size": 3.0}
    assert outputs.options_for(fmt, "a.svg", {"page": "A4", "paper": "plain"}) == {"page": "A4"}
    assert outputs.options_for(outputs.FORMATS["json"], "a.json", {"page": "A4", "paper": "grid"}) == {}


@pytest.fixture
def weights(tmp_path, tiny_model_parts):
    from handwrite.weights import export_weights
    path = tmp_path / "tiny.safetensors"
    export_weights(path, *tiny_model_parts)
    return str(path)


def test_cli_writes_a_file_per_page(tmp_path, weights):
    from click.testing import CliRunner

    from handwrite.cli import main
    out = tmp_path / "note.svg"
    args = ["one\ntwo\nthree", "-o", str(out), "--weights", weights, "--seed", "1", "--page", "60x40",
            "--page-margin", "5", "--size", "4", "--paper", "lined"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.glob("note*.svg")) == ["note-1.svg", "note-2.svg"]
    assert "note-1.svg" in r.output and "note-2.svg" in r.output
    r = CliRunner().invoke(main, args[:2] + [str(tmp_path / "two.pdf")] + args[3:] + ["--page-number", "2"])
    assert r.exit_code == 0, r.output
    assert len(re.findall(rb"/Type\s*/Page\b", (tmp_path / "two.pdf").read_bytes())) == 1
    r = CliRunner().invoke(main, args[:2] + [str(tmp_path / "x.svg")] + args[3:] + ["--page-number", "5"])
    assert r.exit_code == 2 and "does not exist" in r.output
    r = CliRunner().invoke(main, ["hi", "-o", str(tmp_path / "y.svg"), "--weights", weights, "--paper", "grid"])
    assert r.exit_code == 2 and "need a --page" in r.output
