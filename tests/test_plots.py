"""Attention and density figures, and the animated SVG."""
from __future__ import annotations

import math
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from handwrite.handwriting import Handwriting
from handwrite.plots import density_grid, predict_line

SVG = "{http://www.w3.org/2000/svg}"


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def written(tiny_writer):
    return tiny_writer.write("hi there\n\nyou", seed=3)


# ---- attention ----------------------------------------------------------------------------
def test_attention_png_has_the_requested_size(written, tmp_path):
    path = tmp_path / "attention.png"
    fig = written.plot_attention(path, figsize=(6, 4), dpi=50)
    assert png_size(path) == (300, 200)
    assert path.stat().st_size > 1000
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == 2                       # the blank line has no heatmap
    labels = [t.get_text() for t in heatmaps[0].get_yticklabels()]
    assert labels == ["h", "i", "\u2423", "t", "h", "e", "r", "e"]
    phi = heatmaps[1].images[0].get_array()
    assert phi.shape == (3, len(written.lines[2].phi))   # characters down, steps across


def test_attention_svg_and_pdf_by_extension(written, tmp_path):
    written.plot_attention(tmp_path / "a.svg", figsize=(4, 3), dpi=40)
    written.plot_attention(tmp_path / "a.pdf", figsize=(4, 3), dpi=40)
    ET.fromstring((tmp_path / "a.svg").read_bytes())
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match=r"\.gif"):
        written.plot_attention(tmp_path / "a.gif")


def test_attention_needs_recorded_weights(written):
    loaded = Handwriting.from_json(written.to_json())
    with pytest.raises(ValueError, match=r"line 1 \('hi there'\) has no attention weights"):
        loaded.plot_attention()


# ---- predicted densities ----------------------------------------------------------------
def test_density_png_has_the_requested_size(written, tmp_path):
    path = tmp_path / "density.png"
    written.plot_density(path, figsize=(5, 2), dpi=60, cell=2.0)
    assert png_size(path) == (300, 120)
    assert path.stat().st_size > 1000


def test_density_needs_a_model(written, tiny_writer, tmp_path):
    loaded = Handwriting.from_json(written.to_json())
    with pytest.raises(ValueError, match="no model to read it"):
        loaded.plot_density()
    # any writer with the same alphabet can read strokes loaded from JSON
    loaded.plot_density(tmp_path / "d.png", writer=tiny_writer, figsize=(3, 2), dpi=30, cell=2.0)
    assert png_size(tmp_path / "d.png") == (90, 60)


def test_predictions_match_the_training_loss(written, tiny_writer):
    """The density at each actual next point equals the model's own NLL, moved to page units."""
    from handwrite.model import mdn_nll
    from handwrite.writer import UNIT

    line = written.lines[0]
    mix = predict_line(tiny_writer, line)
    pts = line.points.astype(np.float64)
    # density of the actual next point under each step's mixture, in page units
    d = pts[1:, None, :2] - mix.means
    zx, zy = d[..., 0] / mix.sigmas[..., 0], d[..., 1] / mix.sigmas[..., 1]
    r = mix.rhos
    z = (zx ** 2 + zy ** 2 - 2 * r * zx * zy) / (1 - r ** 2)
    dens = (mix.weights * np.exp(-z / 2) / (2 * np.pi * mix.sigmas.prod(-1) * np.sqrt(1 - r ** 2))).sum(-1)
    # the same from the training loss, on normalised offsets (Jacobian: std * UNIT per axis)
    offsets = np.zeros_like(line.points)
    offsets[1:, :2] = np.diff(line.points[:, :2], axis=0) / UNIT
    offsets[:, 2] = line.points[:, 2]
    x = torch.from_numpy(tiny_writer.normalizer.normalize(offsets))[None]
    codes = torch.tensor([tiny_writer.alphabet.encode(line.text) + [0]])
    with torch.no_grad():
        y = tiny_writer.model(x, codes)
        nll = mdn_nll(y[:, :-1], x[:, 1:], torch.ones(1, x.shape[1] - 1), tiny_writer.model.config.output_mixtures)[0]
    eos_next = line.points[1:, 2]
    log_eos = np.where(eos_next > 0.5, np.log(mix.eos), np.log1p(-mix.eos))
    expected = -nll.numpy() - log_eos - np.log(tiny_writer.normalizer.std * UNIT).sum()
    np.testing.assert_allclose(np.log(dens), expected, rtol=1e-3, atol=1e-3)


def test_density_grid_integrates_to_one_per_step(written, tiny_writer):
    mix = predict_line(tiny_writer, written.lines[2])
    lo = (mix.means - 6 * mix.sigmas).min((0, 1))
    hi = (mix.means + 6 * mix.sigmas).max((0, 1))
    cell = 0.25
    grid = density_grid([mix], (lo[0], lo[1], hi[0], hi[1]), cell)
    assert grid.sum() * cell * cell == pytest.approx(len(mix.weights), rel=0.01)


def test_bias_sharpens_the_prediction(written, tiny_writer):
    plain = predict_line(tiny_writer, written.lines[0], bias=0.0)
    biased = predict_line(tiny_writer, written.lines[0], bias=1.0)
    np.testing.assert_allclose(biased.sigmas, plain.sigmas * math.exp(-1.0), rtol=1e-5)
    entropy = lambda w: -(w * np.log(w)).sum(-1)                          # noqa: E731
    assert (entropy(biased.weights) <= entropy(plain.weights) + 1e-6).all()


# ---- animated SVG ----------------------------------------------------------------------
def test_animated_svg_draws_each_stroke_in_pen_order(written):
    svg = written.to_svg(animate=True)
    root = ET.fromstring(svg)
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == len(written.strokes)
    begins = []
    for p in paths:
        anims = p.findall(f"{SVG}animate")
        assert len(anims) == 1
        a = anims[0]
        assert a.get("attributeName") == "stroke-dashoffset"
        assert a.get("fill") == "freeze" and float(a.get("to")) == 0
        assert float(a.get("from")) == float(p.get("stroke-dashoffset")) > 0   # hidden until it begins
        dash, gap = (float(v) for v in p.get("stroke-dasharray").split())
        assert gap > dash                                           # the whole path fits in the gap
        assert float(a.get("dur").rstrip("s")) > 0
        begins.append(float(a.get("begin").rstrip("s")))
    assert begins == sorted(begins) and len(set(begins)) == len(begins)
    # the same curves as the still picture, in the same order
    still = [p.get("d") for p in ET.fromstring(written.to_svg()).findall(f".//{SVG}path")]
    assert [p.get("d") for p in paths] == still


def test_looping_animation_repeats_with_every_stroke_gone_at_once(written):
    root = ET.fromstring(written.to_svg(animate=True, loop=True))
    anims = [p.find(f"{SVG}animate") for p in root.findall(f".//{SVG}path")]
    assert len(anims) == len(written.strokes)
    cycle = {a.get("dur") for a in anims}
    assert len(cycle) == 1 and all(a.get("repeatCount") == "indefinite" for a in anims)
    length = float(cycle.pop().rstrip("s"))
    begins = [float(a.get("begin").rstrip("s")) for a in anims]
    assert begins == sorted(begins)
    vanish = set()
    for a, b in zip(anims, begins):
        keys = [float(k) for k in a.get("keyTimes").split(";")]
        values = [float(v) for v in a.get("values").split(";")]
        assert keys[0] == 0 and keys[-1] == 1 and keys == sorted(keys)
        assert values[1] == values[2] == 0 and values[0] == values[3] == values[4] > 0
        vanish.add(round(b + keys[2] * length, 2))          # the moment this stroke disappears
    assert len(vanish) == 1 and vanish.pop() < length


def test_animation_pace_and_speed(written):
    from handwrite import render
    lines = [ln.strokes for ln in written.lines]
    normal = render.stroke_timings(lines)
    fast = render.stroke_timings(lines, speed=2.0)
    np.testing.assert_allclose(np.array(fast), np.array(normal) / 2)
    n_first = len(written.lines[0].strokes)
    first = written.lines[0].strokes
    # a stroke lasts its points' writing time; the next line waits for the hand to move
    assert normal[0][1] == pytest.approx(max(len(first[0]) - 1, 1) * render.SECONDS_PER_POINT)   # a dot: one point
    end_of_line = normal[n_first - 1][0] + normal[n_first - 1][1]
    assert normal[n_first][0] - end_of_line == pytest.approx(render.PEN_LIFT_SECONDS + render.LINE_PAUSE_SECONDS)
    with pytest.raises(ValueError, match="speed"):
        render.stroke_timings(lines, speed=0)


def test_animation_is_svg_only(written, tmp_path):
    with pytest.raises(ValueError, match="animation needs SVG"):
        written.to_png(animate=True)
    path = written.save(tmp_path / "anim.svg", animate=True)
    assert b"<animate" in path.read_bytes()


def test_curve_length_measures_the_drawn_curve():
    from handwrite.render import curve_length
    t = np.linspace(0, 2 * np.pi, 60)
    circle = np.stack([10 * np.cos(t), 10 * np.sin(t)], 1)
    assert curve_length(circle) == pytest.approx(2 * np.pi * 10, rel=2e-3)
    assert curve_length(np.array([[1.0, 1.0]])) == 0.0
