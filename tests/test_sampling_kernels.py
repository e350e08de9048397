"""Every sampling kernel against the reference sampler, on the bundled weights.

The reference (`sampling.reference_lines`) is Graves' sampling written plainly over
`HandwritingModel.step`.  Each kernel of `sampling.KERNELS` is teacher-forced along the
reference's own points (a 40-step stretch of two short lines, fixed seed), so that its
mixture parameters and window can be compared step by step however its rounding
differs; the fp32 kernels also draw the reference's strokes themselves.

Tolerances, per kind of arithmetic (measured on an AMD EPYC with AVX-512 VNNI/BF16):
- fp32 (the plain step, the fused step, the one-line step): the same products summed in
  another order; float32 rounding over 40 recurrent steps moved y by at most 8e-6 and phi
  by 6e-6, so 1e-4 leaves room for other CPUs' kernels yet catches any change of maths
  (a wrong gate or window term moves them by 1e-2 or more).
- bf16 and int8 products: an 8-bit mantissa, or 8-bit weights and activations, per
  product.  Their error does not grow along the sequence: the rms of y's error over y's
  spread was 0.0025 (bf16) and 0.004 (int8), the largest error of any window weight 0.07;
  the limits 0.015 and 0.15 allow 3x that, while a broken kernel (a window row quantized,
  a gate order swapped) gives errors of order 0.1 and 1.
"""
import numpy as np
import pytest
import torch

from handwrite.choices import PRECISIONS
from handwrite.sampling import KERNELS, FastStep, Stepper, _Batch, _OneLine, reference_lines, stream_lines
from handwrite.sampling.onnx_kernel import onnx_line
from handwrite.sampling.primer import _cache_for, _start

pytestmark = pytest.mark.slow

TEXTS = ("handwriting", "hi there")
STEPS, SEED = 40, 3
FP32_TOLERANCE = 1e-4          # max |difference| of y and phi, fp32 kernels
LOW_RMS, LOW_PHI = 0.015, 0.15  # bf16 / int8: rms error of y over its spread; max |phi difference|
EXACT = ("plain", "fp32")
HAS_ONNX = all(__import__("importlib").util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason="needs onnx and onnxruntime")


@pytest.fixture(scope="module")
def bundled():
    from handwrite.weights import load_weights
    loaded = load_weights(None)
    codes = [loaded.alphabet.encode(t) for t in TEXTS]
    # one reference per batch size: the noise is drawn per batch, as the loop draws it
    refs = {n: reference_lines(loaded.model, codes[:n], STEPS, seed=SEED) for n in (1, 2)}
    return loaded.model, codes, refs


def _start_of(model, codes):
    return _start(model, codes, None, _cache_for(model), torch.device("cpu"))


def _plan(name):
    return ("onnx-int8", "int8") if name == "onnx-int8" else (name, name)


def _build(model, codes, name) -> Stepper:
    return KERNELS[_plan(name)[len(codes) > 1]].build(model, _cache_for(model), _plan(name), _start_of(model, codes),
                                                      len(codes))


def _teacher_forced(stepper, points, steps=STEPS, first=0):
    """Step `stepper` along points (B, T, 3) from step `first`: y (B, steps, 1+6M), phi (B, steps, U)."""
    ys, phis = [], []
    x = torch.zeros(points.shape[0], 3) if first == 0 else points[:, first - 1]
    with torch.inference_mode():
        for t in range(first, first + steps):
            y, phi = stepper(x)
            ys.append(y.clone())           # a one-line kernel's y is a buffer
            phis.append(phi.clone())
            x = points[:, t]
    return torch.stack(ys, 1), torch.stack(phis, 1)


def _assert_follows(name, y, phi, ref_y, ref_phi):
    if name in EXACT:
        assert float((y - ref_y).abs().max()) < FP32_TOLERANCE, name
        assert float((phi - ref_phi).abs().max()) < FP32_TOLERANCE, name
        return
    rms = float((y - ref_y).pow(2).mean().sqrt() / ref_y.std())
    assert 0 < rms < LOW_RMS, (name, rms)          # > 0: the low precision really ran
    assert float((phi - ref_phi).abs().max()) < LOW_PHI, name


def _kernel_names():
    return [name for name in KERNELS if name != "onnx-int8" or HAS_ONNX]


def test_every_precision_name_is_a_kernel():
    assert set(PRECISIONS) - {"auto", "fastest"} <= set(KERNELS)
    assert "plain" in KERNELS                           # sample_lines(fast=False)


@pytest.mark.parametrize("lines", [1, 2])
@pytest.mark.parametrize("name", _kernel_names())
def test_each_kernel_follows_the_reference(bundled, name, lines):
    model, codes, refs = bundled
    stepper = _build(model, codes[:lines], name)
    assert isinstance(stepper, Stepper)
    ref = refs[lines]
    y, phi = _teacher_forced(stepper, ref.points)
    _assert_follows(name, y, phi, ref.params, ref.phi)


@pytest.mark.parametrize("lines", [1, 2])
@pytest.mark.parametrize("fast", [False, True])
def test_fp32_sampling_draws_the_reference_strokes(bundled, fast, lines):
    # the same noise, and fp32 rounding far too small to change a draw: the same points
    model, codes, refs = bundled
    steps = list(stream_lines(model, codes[:lines], seed=SEED, precision="fp32", fast=fast, max_steps=STEPS))
    steps = [s for s in steps if len(s.rows) == lines]          # before any line stopped
    points = torch.from_numpy(np.stack([s.offsets for s in steps], 1))
    assert points.shape[1] >= STEPS // 2
    np.testing.assert_allclose(points, refs[lines].points[:, :points.shape[1]], atol=FP32_TOLERANCE)


def test_fp16_products_of_fp16_weights_are_fp32_ones(bundled):
    # the bundled weights are stored in fp16: fp16 products round nothing, only sum in
    # another order (int8 rounds the hidden states' weights: far larger)
    model, codes, refs = bundled
    ref = refs[2]

    def rms_error(name):
        y, phi = _teacher_forced(_build(model, codes[:2], name), ref.points)
        return float((y - ref.params).pow(2).mean().sqrt() / ref.params.std()), float((phi - ref.phi).abs().max())

    (fp16, fp16_phi), (int8, _) = rms_error("fp16"), rms_error("int8")
    assert 0 < fp16 < 1e-4 and fp16_phi < 10 * FP32_TOLERANCE
    assert int8 > 100 * fp16


@pytest.mark.parametrize("lines", [1, 2])
@pytest.mark.parametrize("reduce_range", [False, True])
def test_int8_follows_the_reference_in_both_activation_ranges(bundled, reduce_range, lines):
    # 7-bit activations (CPUs without VNNI) and 8-bit ones (with): both tested on any CPU
    model, codes, refs = bundled
    fast = FastStep(model, ("int8", "int8"), int8_reduce_range=reduce_range)
    assert fast.products["int8"].reduce_range is reduce_range
    start = _start_of(model, codes[:lines])
    kind = _OneLine if lines == 1 else _Batch
    stepper = kind(fast, model, start.state, start.onehot, start.positions)
    y, phi = _teacher_forced(stepper, refs[lines].points)
    _assert_follows("int8", y, phi, refs[lines].params, refs[lines].phi)


@needs_onnx
@pytest.mark.parametrize("unsigned_weights", [False, True])
def test_onnx_follows_the_reference_with_signed_and_unsigned_weights(bundled, unsigned_weights):
    from onnx import TensorProto

    from handwrite.onnx_step import OnnxStep, build_graph
    model, codes, refs = bundled
    fast = FastStep(model, ("int8", "int8"))
    stored = {w.data_type for w in build_graph(fast, unsigned_weights=unsigned_weights).graph.initializer}
    assert (TensorProto.UINT8 in stored) is unsigned_weights and (TensorProto.INT8 in stored) is not unsigned_weights
    start = _start_of(model, codes[:1])
    onnx = OnnxStep(fast, unsigned_weights=unsigned_weights)
    stepper = onnx_line(onnx, fast, model, start.state, start.onehot, start.positions)
    y, phi = _teacher_forced(stepper, refs[1].points)
    _assert_follows("onnx-int8", y, phi, refs[1].params, refs[1].phi)


@pytest.mark.parametrize("name", _kernel_names())
def test_keep_branches_one_line_into_candidates(bundled, name):
    # a line written 10 steps, branched into 3 rows: each row goes on as the line would
    model, codes, refs = bundled
    ref = refs[1]
    stepper = _build(model, codes[:1], name)
    _teacher_forced(stepper, ref.points, steps=10)
    branched = stepper.keep(torch.tensor([0, 0, 0]))
    assert isinstance(branched, Stepper)
    y, phi = _teacher_forced(branched, ref.points.expand(3, -1, -1), steps=10, first=10)
    # the same row three times: the same numbers up to how a kernel blocks its rows
    assert float((y - y[:1]).abs().max()) < FP32_TOLERANCE, float((y - y[:1]).abs().max())
    one = lambda t: t[:, 10:20].expand(3, -1, -1)  # noqa: E731
    _assert_follows(name, y, phi, one(ref.params), one(ref.phi))


@pytest.mark.parametrize("name", ["plain", "fp32", "bf16", "int8"])
def test_keep_reorders_and_drops_rows(bundled, name):
    model, codes, refs = bundled
    ref = refs[2]
    stepper = _build(model, codes, name)
    _teacher_forced(stepper, ref.points, steps=10)
    swapped = stepper.keep(torch.tensor([1, 0]))
    y, _ = _teacher_forced(swapped, ref.points.flip(0), steps=5, first=10)
    _assert_follows(name, y, torch.zeros(1), ref.params.flip(0)[:, 10:15], torch.zeros(1))
    last = swapped.keep(torch.tensor([1]))             # the first line alone, as a batch kernel goes on
    y, _ = _teacher_forced(last, ref.points[:1], steps=5, first=15)
    _assert_follows(name, y, torch.zeros(1), ref.params[:1, 15:20], torch.zeros(1))
