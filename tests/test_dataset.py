"""Training batches: random reshaping of lines (augmentation)."""
import numpy as np
import torch


def test_augment_reshapes_a_line_and_keeps_its_pen_lifts():
    from handwrite.training.dataset import augment
    rng = np.random.default_rng(0)
    line = np.c_[rng.normal(size=(50, 2)) * 10, (rng.random(50) < 0.2)].astype(np.float32)
    line[0] = 0
    out = augment(line, np.random.default_rng(1), 0.1)
    np.testing.assert_array_equal(out[:, 2], line[:, 2])
    assert np.all(out[0] == 0)
    assert not np.allclose(out[:, :2], line[:, :2])
    # a linear map of the offsets, by at most 10% in size: the line's extent stays close
    ext = lambda o: np.ptp(np.cumsum(o[:, :2], 0), 0)   # noqa: E731
    assert np.all(np.abs(ext(out) / ext(line) - 1) < 0.35)
    np.testing.assert_array_equal(augment(line, np.random.default_rng(1), 0.1), out)   # seeded
    np.testing.assert_allclose(augment(line, np.random.default_rng(1), 0.0), line)


def test_augmented_batches_do_not_depend_on_how_lines_are_split(tiny_iam):
    from handwrite.alphabet import Alphabet
    from handwrite.training.dataset import load_lines, make_batch
    from handwrite.preprocess import Normalizer
    data = load_lines(tiny_iam, downsample=2, progress=False)
    alphabet = Alphabet(sorted(set("".join(data.texts))))
    norm = Normalizer([0.0, 0.0], [10.0, 10.0])
    whole = make_batch(data, [0, 1, 2, 3], alphabet, norm, augment_with=(7, 0.1))
    half = make_batch(data, [1, 3], alphabet, norm, augment_with=(7, 0.1))     # what one rank reads
    plain = make_batch(data, [1, 3], alphabet, norm)
    n = int(half.mask[0].sum())
    torch.testing.assert_close(half.inputs[0, :n], whole.inputs[1, :n])
    assert not torch.allclose(half.inputs, plain.inputs)
