import numpy as np
import pytest
import torch

from handwrite.sampling import MIN_STEPS, STEPS_PER_CHAR, sample_lines, sample_point


def _codes(alphabet, *texts):
    return [alphabet.encode(t) for t in texts]


def test_fast_step_writes_what_the_plain_step_writes(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    codes = _codes(alphabet, "hello world", "a much longer line of text", "x")
    fast = sample_lines(model, codes, seed=5, fast=True)
    plain = sample_lines(model, codes, seed=5, fast=False)
    for f, p in zip(fast, plain):
        assert f.offsets.shape == p.offsets.shape
        np.testing.assert_allclose(f.offsets, p.offsets, atol=1e-4)
        np.testing.assert_allclose(f.phi, p.phi, atol=1e-4)
        assert f.finished == p.finished


def test_fast_step_matches_plain_with_a_primer(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    rng = np.random.default_rng(0)
    primer_offsets = np.c_[rng.normal(size=(40, 2)), (rng.random(40) < 0.1)].astype(np.float32)
    primer_offsets[0] = 0
    primer = (primer_offsets, alphabet.encode("primer text "))
    codes = _codes(alphabet, "new words")
    f = sample_lines(model, codes, seed=1, primer=primer)[0]
    p = sample_lines(model, codes, seed=1, primer=primer, fast=False)[0]
    np.testing.assert_allclose(f.offsets, p.offsets, atol=1e-4)
    assert f.phi.shape[1] == len("new words")          # attention over the new text only
    assert f.phi.shape[0] == len(f.offsets) - 1         # one row per step after the start
    assert np.all(f.offsets[0, :2] == 0)


def test_seed_fixes_the_strokes_and_batching_does_not_matter_for_shape(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    a = sample_lines(model, _codes(alphabet, "same"), seed=9)[0]
    b = sample_lines(model, _codes(alphabet, "same"), seed=9)[0]
    np.testing.assert_array_equal(a.offsets, b.offsets)


def test_steps_are_capped_by_text_length(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    # a window that never moves: the line can only stop at its step cap
    with torch.no_grad():
        model.attention.bias[2 * model.config.window_mixtures:] = -50.0
    try:
        lines = sample_lines(model, _codes(alphabet, "ab", "abcdefghij"), seed=0)
    finally:
        with torch.no_grad():
            model.attention.bias[2 * model.config.window_mixtures:] = 0.0
    assert [ln.finished for ln in lines] == [False, False]
    assert len(lines[0].offsets) - 1 == max(MIN_STEPS, 2 * STEPS_PER_CHAR)
    assert len(lines[1].offsets) - 1 == 10 * STEPS_PER_CHAR
    assert all(ln.offsets[-1, 2] == 1 for ln in lines)


def test_bias_sharpens_sampling():
    torch.manual_seed(0)
    M = 3
    y = torch.zeros(2000, 1 + 6 * M)
    y[:, 1 + 2 * M:1 + 3 * M] = 2.0                     # mu_y = 2 for every component
    noise = torch.cat([torch.rand(2000, 1), torch.randn(2000, 2), torch.rand(2000, 1)], 1)
    loose = sample_point(y, noise, M, bias=0.0)
    tight = sample_point(y, noise, M, bias=2.0)
    assert tight[:, 0].std() < loose[:, 0].std() * 0.2
    assert abs(float(tight[:, 1].mean()) - 2.0) < 0.05


def test_empty_line_is_refused(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    with pytest.raises(ValueError):
        sample_lines(model, [[]])

