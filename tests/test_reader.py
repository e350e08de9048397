"""The reader: strokes -> frames, the network, its files, and learning to read toy glyphs.

The toy glyphs are drawn from formulas (an o is a circle, an l an upright bar, a v a
vee), so a tiny network learns them in a few seconds.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from handwrite.reader import (MAX_POINTS, Reader, ReaderConfig, ReaderError, ReaderNet, as_strokes, ink_frames,
                              load_reader, save_reader)

GLYPHS = "lov"


def glyph(ch: str, x: float, rng) -> np.ndarray:
    t = np.linspace(0, 1, 20)
    if ch == "o":
        pts = np.stack([x + 20 + 20 * np.cos(2 * np.pi * t), 30 + 20 * np.sin(2 * np.pi * t)], 1)
    elif ch == "l":
        pts = np.stack([x + 10 + 0 * t, 50 - 70 * t], 1)
    else:
        pts = np.stack([x + 40 * t, 10 + 40 * (1 - np.abs(2 * t - 1))], 1)
    return pts + rng.normal(0, 1.0, pts.shape)


def toy_line(text: str, rng) -> list[np.ndarray]:
    strokes, x = [], 0.0
    for ch in text:
        if ch != " ":
            strokes.append(glyph(ch, x, rng))
        x += 55 if ch != " " else 45
    return strokes


def toy_text(rng) -> str:
    words = ["".join(rng.choice(list(GLYPHS), size=rng.integers(1, 4))) for _ in range(rng.integers(1, 4))]
    return " ".join(words)


@pytest.fixture(scope="module")
def toy_reader() -> Reader:
    """A tiny reader trained on toy lines until it reads them."""
    from handwrite.training.train_reader import augment_frames, ctc_batch
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    net = ReaderNet(ReaderConfig(alphabet=" " + GLYPHS, spacing=0.15, channels=32, hidden=32, layers=1,
                                 dropout=0.0))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    alphabet = Reader(net=net).alphabet
    for _ in range(200):
        texts = [toy_text(rng) for _ in range(16)]
        frames = [augment_frames(ink_frames(toy_line(t, rng), 0.15), rng, 0.1) for t in texts]
        loss = ctc_batch(net, frames, [alphabet.encode(t) for t in texts])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return Reader(net=net.eval())


def test_reads_toy_lines_it_never_saw(toy_reader):
    rng = np.random.default_rng(99)
    texts = [toy_text(rng) for _ in range(20)]
    read = toy_reader.read_many([toy_line(t, rng) for t in texts])
    assert sum(a == b for a, b in zip(read, texts)) >= 16, list(zip(read, texts))


def test_an_int8_twin_reads_batches_in_int8_and_reads_them_as_fp32_does(toy_reader):
    """The word check's reader: the same network (loaded once), int8 products for calls of
    INT8_FROM inks or more, fp32 for one ink alone; it reads the toy lines as fp32 does."""
    from handwrite.reader import INT8_FROM
    int8 = toy_reader.at_precision("int8")
    assert int8.net is toy_reader.net and int8.at_precision("fp32") is toy_reader
    assert toy_reader.at_precision("int8") is int8
    assert int8._net_for(1) is toy_reader.net
    quantized = int8._net_for(INT8_FROM)
    assert quantized is not toy_reader.net and "quantized" in type(quantized.lstm).__module__
    rng = np.random.default_rng(99)
    inks = [toy_line(toy_text(rng), rng) for _ in range(20)]
    assert sum(a == b for a, b in zip(int8.read_many(inks), toy_reader.read_many(inks))) >= 19
    with pytest.raises(ValueError, match="precision must be one of fp32, int8"):
        Reader(precision="int4")


def test_the_check_reads_in_int8_only_where_int8_was_asked_for(monkeypatch):
    from handwrite import cpu
    from handwrite.reader import checking_precision
    for kind in ("avx512-vnni", "avx2"):                    # auto samples in int8 on the first, never on the second
        monkeypatch.setattr(cpu, "kind", lambda: kind)
        assert [checking_precision(p) for p in ("auto", "fastest", "int8", "onnx-int8", "bf16", "fp32")] == \
            ["fp32", "int8", "int8", "int8", "fp32", "fp32"]


def test_reading_one_at_a_time_gives_the_batch_reading(toy_reader, monkeypatch):
    # on "avx2" CPUs a few inks are read one by one: the same readings and scores as together
    from handwrite import cpu
    rng = np.random.default_rng(8)
    texts = [toy_text(rng) for _ in range(5)]
    inks = [toy_line(t, rng) for t in texts]
    monkeypatch.setattr(cpu, "kind", lambda: "avx512-vnni")
    together = toy_reader.read_and_score(inks, texts)
    monkeypatch.setattr(cpu, "kind", lambda: "avx2")
    assert toy_reader._one_at_a_time(toy_reader.net, len(inks))
    alone = toy_reader.read_and_score(inks, texts)
    assert alone[0] == together[0]
    # the longest line's frames are the batch's: the same score; a shorter line's last frames
    # see the batch's padding through the convolutions' biases: nearly the same
    longest = int(np.argmax([len(ink_frames(ink, 0.15)) for ink in inks]))
    assert abs(alone[1][longest] - together[1][longest]) < 1e-4
    np.testing.assert_allclose(alone[1], together[1], atol=0.01)


def test_several_texts_per_ink_score_as_each_alone(toy_reader):
    rng = np.random.default_rng(6)
    inks = [toy_line("lov ol", rng), toy_line("vo", rng)]
    readings, each = toy_reader.read_and_score_each(inks, [["lov ol", "lvv ol", "lov"], []])
    assert readings == toy_reader.read_many(inks) and each[1] == []
    alone = [toy_reader.score(inks[0], t) for t in ("lov ol", "lvv ol", "lov")]
    np.testing.assert_allclose(each[0], alone, atol=1e-4)
    assert each[0][0] > each[0][1] + 2


def test_score_prefers_what_is_written(toy_reader):
    rng = np.random.default_rng(5)
    ink = toy_line("lov ol", rng)
    right = toy_reader.score(ink, "lov ol")
    assert right > toy_reader.score(ink, "lvv ol") + 2
    assert right > toy_reader.score(ink, "lov") + 2
    assert right <= 0


def test_frames_ignore_size_and_point_density():
    rng = np.random.default_rng(1)
    line = toy_line("lo vl", rng)
    dense = []
    for s in line:     # the same path with a point between every two
        mid = (s[1:] + s[:-1]) / 2
        d = np.empty((len(s) + len(mid), 2))
        d[0::2], d[1::2] = s, mid
        dense.append(d)
    a = ink_frames(line, 0.15)
    b = ink_frames([3 * s + 500 for s in dense], 0.15)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=5e-3)     # the middle line moves a little with the points


def test_strokes_are_resampled_together_as_each_would_be_alone():
    """All strokes at once (the reader's frames, the line's height) give each stroke's
    points at even steps along its ink, as resampling it alone does: a dot stays a
    point, a stroke shorter than a step keeps its two ends, repeated points add no ink."""
    from handwrite.reader import _resample

    def alone(stroke, spacing):
        seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
        total = float(seg.sum())
        if total < spacing:
            return stroke[[0, -1]] if total > 0 else stroke[:1]
        along = np.r_[0.0, np.cumsum(seg)]
        at = np.linspace(0.0, total, int(round(total / spacing)) + 1)
        return np.stack([np.interp(at, along, stroke[:, 0]), np.interp(at, along, stroke[:, 1])], axis=1)
    rng = np.random.default_rng(3)
    strokes = [np.cumsum(rng.normal(size=(int(n), 2)), axis=0) * 10 for n in rng.integers(1, 40, size=30)]
    strokes += [np.zeros((3, 2)), np.array([[0.0, 0.0], [0.05, 0.0]]), np.array([[1.0, 1.0], [1.0, 1.0], [4.0, 5.0]])]
    for spacing in (0.15, 1.0, 7.0):
        points, counts = _resample(strokes, spacing)
        expected = [alone(s, spacing) for s in strokes]
        assert counts.tolist() == [len(e) for e in expected]
        np.testing.assert_allclose(points, np.concatenate(expected), rtol=0, atol=1e-9)


def test_frames_mark_pen_lifts():
    f = ink_frames(toy_line("l l", np.random.default_rng(2)), 0.15)
    assert f[:, 3].sum() == 1 and f[0, 3] == 0      # the second stroke begins after one lift
    assert f[:, 4].sum() == 2 and f[-1, 4] == 1     # each stroke's last point


def test_handwriting_points_and_stroke_lists_read_the_same(toy_reader):
    strokes = toy_line("ol v", np.random.default_rng(3))
    points = np.concatenate([np.c_[s, np.r_[np.zeros(len(s) - 1), 1]] for s in strokes])
    assert toy_reader.read(points) == toy_reader.read(strokes)


@pytest.mark.parametrize("ink, message", [
    ([], "no pen points"),
    (np.zeros((0, 3)), "no pen points"),
    (np.zeros((5, 2)), "shape"),
    ([np.array([[0.0, 0.0], [np.nan, 1.0]])], "non-finite"),
    ([np.zeros((MAX_POINTS + 1, 2))], "more than one line"),
])
def test_bad_ink_is_refused_by_name(ink, message):
    with pytest.raises(ReaderError, match=message):
        as_strokes(ink)


def test_score_checks_its_texts(toy_reader):
    ink = toy_line("lo", np.random.default_rng(4))
    with pytest.raises(ValueError, match="1 inks but 2 texts"):
        toy_reader.score_many([ink], ["lo", "ol"])
    with pytest.raises(ValueError, match="unsupported character"):
        toy_reader.score(ink, "lx")


def test_saved_reader_reads_the_same(toy_reader, tmp_path):
    path = tmp_path / "r.safetensors"
    save_reader(path, toy_reader.net, {"val_cer": 0.5})
    net, info = load_reader(path)
    assert info == {"val_cer": 0.5}
    rng = np.random.default_rng(7)
    inks = [toy_line(toy_text(rng), rng) for _ in range(5)]
    assert Reader(path).read_many(inks) == toy_reader.read_many(inks)


def test_files_that_are_not_readers_are_refused(tmp_path):
    from safetensors.torch import save_file
    with pytest.raises(ReaderError, match="no such reader"):
        load_reader(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ReaderError, match="not a readable safetensors"):
        load_reader(junk)
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other), metadata={"format": "handwrite-weights"})
    with pytest.raises(ReaderError, match="not a handwrite reader"):
        load_reader(other)


def test_read_command_prints_each_line_of_a_stroke_file(toy_reader, tmp_path):
    from click.testing import CliRunner

    from conftest import stroke_xml
    from handwrite.cli import main
    weights = tmp_path / "toy.safetensors"
    save_reader(weights, toy_reader.net)
    rng = np.random.default_rng(11)
    files = []
    for i, text in enumerate(["lov ol", "vl"]):
        files.append(tmp_path / f"line{i}.xml")
        files[-1].write_text(stroke_xml([100 + 10 * s for s in toy_line(text, rng)]), encoding="latin-1")
    result = CliRunner().invoke(main, ["read", *map(str, files), "--reader", str(weights)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["lov ol", "vl"]
    bad = CliRunner().invoke(main, ["read", str(files[0]), "--line", "3", "--reader", str(weights)])
    assert bad.exit_code == 2 and "line 3 does not exist" in bad.output
    missing = CliRunner().invoke(main, ["read", str(tmp_path / "nope.json"), "--reader", str(weights)])
    assert missing.exit_code != 0 and "nope.json" in missing.output


def test_a_primer_text_that_is_not_what_the_strokes_say_is_warned_about(toy_reader, tmp_path, monkeypatch):
    import warnings

    import handwrite.reader as reader_module
    from conftest import stroke_xml
    from handwrite.styles import Style
    weights = tmp_path / "toy.safetensors"
    save_reader(weights, toy_reader.net)
    monkeypatch.setattr(reader_module, "BUNDLED_READER", weights)
    monkeypatch.setattr(reader_module, "_bundled", None)
    path = tmp_path / "line.xml"
    path.write_text(stroke_xml([100 + 10 * s for s in toy_line("lov ol vl", np.random.default_rng(12))]),
                    encoding="latin-1")
    with pytest.warns(UserWarning, match="read as 'lov ol vl', not 'the cat sat'"):
        Style.from_file(path, text="the cat sat")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Style.from_file(path, text="lov ol vl")
