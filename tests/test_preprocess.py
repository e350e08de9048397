"""Strokes <-> offsets, normalisation, the preprocessing cache, the writer split, batches."""
from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import make_tiny_iam, synthetic_strokes, write_form

import handwrite.training.dataset as dataset
from handwrite.alphabet import Alphabet
from handwrite.training.dataset import bucket_batches, load_lines, make_batch, writer_split
from handwrite.preprocess import (Normalizer, align_baseline, downsample_stroke, offsets_to_points,
                                  points_to_strokes, strokes_to_offsets)


def random_strokes(rng, n_strokes=4):
    return [np.cumsum(rng.normal(0, 5, size=(int(rng.integers(1, 12)), 2)), axis=0).astype(np.float32) + 100
            for _ in range(n_strokes)]


# ---- offsets <-> points <-> strokes --------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_offsets_round_trip_to_strokes(seed):
    strokes = random_strokes(np.random.default_rng(seed))
    offsets = strokes_to_offsets(strokes, downsample=1, align=False)
    assert offsets.shape == (sum(len(s) for s in strokes), 3) and offsets.dtype == np.float32
    assert offsets[0, :2].tolist() == [0.0, 0.0]                 # the start row
    points = offsets_to_points(offsets, start=strokes[0][0])
    back = points_to_strokes(points)
    assert len(back) == len(strokes)
    for a, b in zip(back, strokes):
        np.testing.assert_allclose(a, b, atol=1e-3)


def test_eos_marks_the_last_point_of_each_stroke():
    strokes = [np.zeros((3, 2)), np.ones((1, 2)), np.full((4, 2), 2.0)]
    eos = strokes_to_offsets(strokes, align=False)[:, 2]
    assert eos.tolist() == [0, 0, 1, 1, 0, 0, 0, 1]


def test_empty_strokes_are_dropped_and_no_strokes_is_an_error():
    with pytest.raises(ValueError, match="no strokes"):
        strokes_to_offsets([np.zeros((0, 2))])
    out = strokes_to_offsets([np.zeros((0, 2)), np.ones((2, 2))], align=False)
    assert out.shape == (2, 3) and out[:, 2].tolist() == [0, 1]


def test_points_to_strokes_of_nothing_is_nothing():
    assert points_to_strokes(np.zeros((0, 3))) == []


def test_points_without_a_final_eos_still_end_a_stroke():
    pts = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 0], [3, 3, 0]], np.float32)
    assert [len(s) for s in points_to_strokes(pts)] == [2, 2]


@pytest.mark.parametrize("n, factor", [(1, 3), (2, 3), (7, 2), (10, 3), (9, 4), (25, 5)])
def test_downsampling_keeps_stroke_ends(n, factor):
    stroke = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    out = downsample_stroke(stroke, factor)
    assert out[0].tolist() == stroke[0].tolist() and out[-1].tolist() == stroke[-1].tolist()
    assert len(out) <= max(2, -(-n // factor) + 1)
    # every kept point is an original point, in order
    idx = [int(p[0]) // 2 for p in out]
    assert idx == sorted(set(idx))


def test_downsampled_offsets_keep_every_stroke_and_its_pen_lift():
    strokes = synthetic_strokes("the quiz cat", np.random.default_rng(0))
    full = strokes_to_offsets(strokes, downsample=1, align=False)
    half = strokes_to_offsets(strokes, downsample=3, align=False)
    assert half[:, 2].sum() == full[:, 2].sum() == len(strokes)
    assert len(half) < len(full) / 2
    # the pen ends where it ended before
    np.testing.assert_allclose(half[:, :2].sum(0), full[:, :2].sum(0), atol=1e-2)


def test_align_baseline_removes_a_slope():
    x = np.linspace(0, 1000, 200)
    y = 0.2 * x + 10 * np.sin(x / 20)
    pts = np.stack([x, y], 1).astype(np.float32)
    (flat,) = align_baseline([pts])
    slope = np.polyfit(flat[:, 0], flat[:, 1], 1)[0]
    assert abs(slope) < 1e-3
    # a rotation: distances between points are unchanged
    np.testing.assert_allclose(np.hypot(*np.diff(flat, axis=0).T), np.hypot(*np.diff(pts, axis=0).T), rtol=1e-4)


def test_align_baseline_leaves_a_single_column_alone():
    pts = np.array([[5.0, 0.0], [5.0, 10.0]], np.float32)
    assert align_baseline([pts])[0] is pts


# ---- normalisation -------------------------------------------------------------------------
def test_normalizer_round_trip_and_fit():
    rng = np.random.default_rng(0)
    lines = [strokes_to_offsets(random_strokes(rng), align=False) for _ in range(20)]
    norm = Normalizer.fit(lines)
    normed = [norm.normalize(o) for o in lines]
    moves = np.concatenate([o[1:, :2] for o in normed])
    np.testing.assert_allclose(moves.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(moves.std(0), 1.0, atol=1e-4)
    for o, n in zip(lines, normed):
        assert n[0, :2].tolist() == [0.0, 0.0]                     # the start input stays zero
        np.testing.assert_array_equal(n[:, 2], o[:, 2])             # eos untouched
        np.testing.assert_allclose(norm.denormalize(n)[1:], o[1:], atol=1e-3)
    again = Normalizer(**norm.to_dict())
    np.testing.assert_array_equal(again.mean, norm.mean)
    np.testing.assert_array_equal(again.std, norm.std)


@pytest.mark.parametrize("std", [[0.0, 1.0], [1.0, -2.0]])
def test_normalizer_needs_positive_std(std):
    with pytest.raises(ValueError, match="std"):
        Normalizer([0, 0], std)


# ---- the preprocessing cache ---------------------------------------------------------------
def _count_reads(monkeypatch):
    calls = []
    real = dataset.read_iam

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)
    monkeypatch.setattr(dataset, "read_iam", counting)
    return calls


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    root = make_tiny_iam(tmp_path / "iam", forms=4)
    calls = _count_reads(monkeypatch)
    first = load_lines(root, cache_dir=tmp_path / "cache", progress=False)
    assert len(calls) == 1 and len(list((tmp_path / "cache").glob("iam-*.npz"))) == 1
    second = load_lines(root, cache_dir=tmp_path / "cache", progress=False)
    assert len(calls) == 1                                          # no second read
    np.testing.assert_array_equal(first.offsets, second.offsets)
    np.testing.assert_array_equal(first.lengths, second.lengths)
    assert (first.texts, first.writers, first.line_ids) == (second.texts, second.writers, second.line_ids)
    assert not list((tmp_path / "cache").glob(".*tmp"))             # no temp files left


def test_cache_is_rebuilt_when_a_file_changes(tmp_path, monkeypatch):
    root = tmp_path / "iam"
    write_form(root, "b01-000a", ["the cat", "sat"])
    calls = _count_reads(monkeypatch)
    before = load_lines(root, cache_dir=tmp_path / "cache", progress=False)
    assert before.texts == ["the cat", "sat"]
    txt = root / "ascii" / "b01" / "b01-000" / "b01-000a.txt"
    st = txt.stat()
    txt.write_text(txt.read_text().replace("the cat", "the rat"))
    os.utime(txt, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))      # even on coarse clocks
    after = load_lines(root, cache_dir=tmp_path / "cache", progress=False)
    assert len(calls) == 2 and after.texts == ["the rat", "sat"]
    # a new stroke file changes the key too
    write_form(root, "b01-000b", ["on"])
    assert len(load_lines(root, cache_dir=tmp_path / "cache", progress=False)) == 3
    assert len(calls) == 3


def test_cache_is_keyed_on_the_settings(tmp_path, monkeypatch):
    root = make_tiny_iam(tmp_path / "iam", forms=2)
    calls = _count_reads(monkeypatch)
    one = load_lines(root, downsample=1, cache_dir=tmp_path / "cache", progress=False)
    two = load_lines(root, downsample=2, cache_dir=tmp_path / "cache", progress=False)
    assert len(calls) == 2 and two.offsets.shape[0] < one.offsets.shape[0]
    load_lines(root, downsample=1, cache_dir=tmp_path / "cache", progress=False)
    assert len(calls) == 2


def test_a_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch):
    root = make_tiny_iam(tmp_path / "iam", forms=2)
    first = load_lines(root, cache_dir=tmp_path / "cache", progress=False)
    (cache_file,) = (tmp_path / "cache").glob("iam-*.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:100])
    calls = _count_reads(monkeypatch)
    again = load_lines(root, cache_dir=tmp_path / "cache", progress=False)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.offsets, again.offsets)


def test_line_set_offsets_match_the_strokes(tmp_path):
    root = tmp_path / "iam"
    rng = np.random.default_rng(5)
    strokes = [synthetic_strokes("quiz", rng), synthetic_strokes("the cat", rng)]
    write_form(root, "b01-000a", ["quiz", "the cat"], strokes=strokes)
    data = load_lines(root, downsample=1, align=False, cache_dir=tmp_path / "cache", progress=False)
    for i, s in enumerate(strokes):
        np.testing.assert_allclose(data.line(i), strokes_to_offsets(s, align=False), atol=1e-4)
    sub = data.subset([1])
    assert sub.texts == ["the cat"] and np.array_equal(sub.line(0), data.line(1))


# ---- writer-disjoint split, batches --------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 1234])
def test_writer_split_is_disjoint_and_complete(seed):
    rng = np.random.default_rng(seed)
    writers = [f"w{int(rng.integers(0, 30))}" for _ in range(400)]
    train, val, val_writers = writer_split(writers, 0.1, seed=seed)
    assert len(val) and len(train)
    assert sorted(np.r_[train, val].tolist()) == list(range(len(writers)))
    train_writers = {writers[i] for i in train}
    assert {writers[i] for i in val} == set(val_writers)
    assert not train_writers & set(val_writers)
    assert 0.05 < len(val) / len(writers) < 0.3
    again = writer_split(writers, 0.1, seed=seed)
    assert again[2] == val_writers and np.array_equal(again[0], train)


def test_writer_split_with_one_writer_holds_out_every_12th_line():
    train, val, val_writers = writer_split(["w"] * 25)
    assert val.tolist() == [0, 12, 24] and val_writers == []
    assert sorted(train.tolist() + val.tolist()) == list(range(25))
    train, val, _ = writer_split(["w"])          # one line: nothing can be held out
    assert train.tolist() == [0] and len(val) == 0


def test_bucket_batches_cover_every_line_once_and_are_reproducible():
    lengths = np.random.default_rng(0).integers(5, 500, size=237)
    batches = bucket_batches(lengths, 16, seed=3, epoch=2)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(237))
    assert all(len(b) <= 16 for b in batches)
    again = bucket_batches(lengths, 16, seed=3, epoch=2)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    other = bucket_batches(lengths, 16, seed=3, epoch=3)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other))
    # lines of similar length share batches: far less padding than random batches
    pad = sum(int(lengths[b].max() - lengths[b].min()) for b in batches)
    assert pad < 0.2 * len(batches) * (lengths.max() - lengths.min())


def test_make_batch_shifts_targets_and_masks_padding(tmp_path):
    root = make_tiny_iam(tmp_path / "iam", forms=2)
    data = load_lines(root, cache_dir=tmp_path / "cache", progress=False)
    alphabet = Alphabet("".join(sorted(set("".join(data.texts)))))
    norm = Normalizer.fit([data.line(i) for i in range(len(data))])
    idx = [0, 3, 5]
    b = make_batch(data, idx, alphabet, norm)
    T = int(data.lengths[idx].max()) - 1
    assert b.inputs.shape == b.targets.shape == (3, T, 3) and b.mask.shape == (3, T)
    assert b.points == int((data.lengths[idx] - 1).sum())
    for row, i in enumerate(idx):
        line = norm.normalize(data.line(i))
        n = len(line) - 1
        np.testing.assert_allclose(b.inputs[row, :n].numpy(), line[:-1])
        np.testing.assert_allclose(b.targets[row, :n].numpy(), line[1:])
        assert b.mask[row, :n].all() and not b.mask[row, n:].any()
        assert alphabet.decode(b.chars[row].tolist()) == data.texts[i]
