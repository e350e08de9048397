"""precision="onnx-int8": a single line's step as one ONNX Runtime call (handwrite.onnx_step)."""
import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from handwrite import onnx_step, sampling  # noqa: E402
from handwrite.sampling import FastStep, sample_lines  # noqa: E402

FP32_TOLERANCE = 1e-5          # the fp32 graph against FastStep: the same maths, other kernels (tiny model)
INT8_STEP_TOLERANCE = 0.05     # as tests/test_sampling.py: int8 against fp32, teacher-forced, tiny model


def _text(model, alphabet, text="two words"):
    chars = torch.tensor([alphabet.encode(text) + [0]])
    return model.one_hot(chars), torch.arange(chars.shape[1], dtype=torch.float32)


def _points(n=60, seed=0):
    rng = np.random.default_rng(seed)
    pts = np.c_[rng.normal(size=(n, 2)), rng.random(n) < 0.1].astype(np.float32)
    return torch.from_numpy(pts)


def _teacher_forced(model, onehot, positions, points, int8):
    """Per point, (y, phi, state) of the ONNX step and of FastStep in fp32, each on its own state."""
    fast = FastStep(model)
    line = onnx_step.OnnxStep(fast, int8=int8).line(model.initial_state(1), onehot, positions)
    state, out = model.initial_state(1), []
    with torch.inference_mode():
        for x in points[:, None]:
            y, phi = line(x)
            y_ref, state, phi_ref = fast(x, state, onehot, positions)
            got = [y.clone(), phi, *(t.clone() for t in line.state())]     # buffers, reused
            out.append((got, [y_ref, phi_ref, *(getattr(state, n) for n in onnx_step.STATE)]))
    return out


def _worst(pairs):
    return max(float((a - b).abs().max()) for got, want in pairs for a, b in zip(got, want))


def test_fp32_graph_is_the_fast_step(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    onehot, positions = _text(model, alphabet)
    assert _worst(_teacher_forced(model, onehot, positions, _points(), int8=False)) < FP32_TOLERANCE


def test_int8_graph_stays_close_to_fp32(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    onehot, positions = _text(model, alphabet)
    worst = _worst(_teacher_forced(model, onehot, positions, _points(), int8=True))
    assert 0 < worst < INT8_STEP_TOLERANCE        # int8 really ran (not bit-equal), and stays close


def test_fp32_graph_on_the_bundled_weights():
    from handwrite.weights import load_weights
    loaded = load_weights(None)
    model = loaded.model.eval()
    onehot, positions = _text(model, loaded.alphabet, "The quick brown fox")
    pairs = _teacher_forced(model, onehot, positions, _points(20) * 0.3, int8=False)
    assert _worst(pairs) < 1e-4                   # 400 cells: longer sums, a little more rounding


def test_read_reaches_the_sequence_read(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    onehot, positions = _text(model, alphabet, "primer text ")
    strokes = _points()
    with torch.inference_mode():
        ref = model.read(strokes[None], onehot, positions, model.initial_state(1))
    line = onnx_step.OnnxStep(FastStep(model), int8=False).line(model.initial_state(1), onehot, positions)
    line.read(strokes)
    worst = max(float((a - getattr(ref, n)).abs().max()) for a, n in zip(line.state(), onnx_step.STATE))
    assert worst < FP32_TOLERANCE


def test_a_seed_repeats_and_the_line_ends(tiny_model_parts):
    model, alphabet, normalizer = tiny_model_parts
    codes = [alphabet.encode("Hello world")]
    primer = (_points(50).numpy(), alphabet.encode("primer text "))
    for extra in ({}, {"primer": primer}):
        kw = dict(seed=4, precision="onnx-int8", normalizer=normalizer, char_bias=[np.r_[0.5, np.zeros(10)]], **extra)
        a, b = sample_lines(model, codes, **kw)[0], sample_lines(model, codes, **kw)[0]
        assert a.offsets.tobytes() == b.offsets.tobytes() and a.phi.tobytes() == b.phi.tobytes()
        assert np.isfinite(a.offsets).all() and a.offsets[-1, 2] == 1
    one = sample_lines(model, codes, seed=4, precision="onnx-int8")[0]
    torch_int8 = sample_lines(model, codes, seed=4, precision="int8")[0]
    np.testing.assert_allclose(one.offsets[:4], torch_int8.offsets[:4], atol=0.05)


def test_batches_run_torch_int8(tiny_model_parts):
    # ONNX Runtime steps one line; batches of lines are torch's int8 step, the same strokes
    model, alphabet, _ = tiny_model_parts
    codes = [alphabet.encode(t) for t in ("two lines", "of text")]
    a = sample_lines(model, codes, seed=1, precision="onnx-int8")
    b = sample_lines(model, codes, seed=1, precision="int8")
    assert all(x.offsets.tobytes() == y.offsets.tobytes() for x, y in zip(a, b))


def test_one_session_per_model(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    sample_lines(model, [alphabet.encode("a")], seed=0, precision="onnx-int8", max_steps=2)
    cache = sampling._cache_for(model)
    built = cache.onnx_step(model)
    sample_lines(model, [alphabet.encode("b")], seed=0, precision="onnx-int8", max_steps=2)
    assert sampling._cache_for(model).onnx_step(model) is built


def test_writer_writes_with_it(tiny_model_parts):
    from handwrite.writer import Writer
    writer = Writer.from_model(*tiny_model_parts, precision="onnx-int8")
    assert len(writer.write("hi there", seed=0).lines) == 1
