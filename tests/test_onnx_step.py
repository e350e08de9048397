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
INT8_READ_TOLERANCE = 0.1      # the state after reading up to 39 points in int8 (the step graph's own: up to 0.078)


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


@pytest.mark.parametrize("length", [5, onnx_step.READ_STEPS, 2 * onnx_step.READ_STEPS + 7])
def test_read_graph_reaches_the_sequence_read(tiny_model_parts, length):
    """The read graph (READ_STEPS points a call, layers 2-3's input part batched) and the
    step graph for the points left over reach model.read's state: in fp32 within the fp32
    tolerance; with int8 products within the int8 read tolerance, as the step graph's
    point-by-point int8 read does."""
    model, alphabet, _ = tiny_model_parts
    onehot, positions = _text(model, alphabet, "primer text ")
    strokes = _points(length, seed=length)
    with torch.inference_mode():
        ref = model.read(strokes[None], onehot, positions, model.initial_state(1))

    def worst(state):
        return max(float((a - getattr(ref, n)).abs().max()) for a, n in zip(state, onnx_step.STATE))
    for int8, tolerance in ((False, FP32_TOLERANCE), (True, INT8_READ_TOLERANCE)):
        step = onnx_step.OnnxStep(FastStep(model), int8=int8)
        line = step.line(model.initial_state(1), onehot, positions)
        line.read(strokes)
        one_by_one = step.line(model.initial_state(1), onehot, positions)
        for x in strokes[:, None]:
            one_by_one(x)
        assert worst(line.state()) < tolerance, int8
        assert worst(one_by_one.state()) < tolerance, int8


def test_every_weight_in_the_graphs_is_used(tiny_model_parts):
    """An initializer no node reads makes ONNX Runtime print a warning at every start."""
    model, _, _ = tiny_model_parts
    fast = FastStep(model)
    for build in (onnx_step.build_graph, onnx_step.build_read_graph):
        for int8 in (False, True):
            graph = build(fast, int8).graph
            used = {name for node in graph.node for name in node.input}
            assert [w.name for w in graph.initializer if w.name not in used] == [], (build.__name__, int8)


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


@pytest.mark.parametrize("style", [None, "free"])          # primed (the default style) and free
def test_writer_writes_and_streams_with_it(tiny_model_parts, style):
    from handwrite.writer import Writer, WritingDone
    writer = Writer.from_model(*tiny_model_parts, precision="onnx-int8")
    written = writer.write("Hi there", seed=0, style=style)
    assert len(written.lines) == 1 and np.isfinite(written.points).all()
    assert writer.write("Hi there", seed=0, style=style).points.tobytes() == written.points.tobytes()
    events = list(writer.stream("Hi there", seed=0, style=style))
    assert isinstance(events[-1], WritingDone)
    assert events[-1].handwriting.points.tobytes() == written.points.tobytes()


def test_streamed_steps_keep_their_points(tiny_model_parts):
    # each Step's offsets are its own (not a buffer the next steps write over), and
    # streaming draws the same line
    model, alphabet, _ = tiny_model_parts
    codes = [alphabet.encode("Hello")]
    generator = sampling.stream_lines(model, codes, seed=3, precision="onnx-int8")
    steps, copies = [], []
    try:
        while True:
            steps.append(next(generator))
            copies.append(steps[-1].offsets.copy())
    except StopIteration as done:
        line = done.value[0]
    assert len(steps) > 2 and all(np.array_equal(s.offsets, c) for s, c in zip(steps, copies))
    assert line.offsets.tobytes() == sample_lines(model, codes, seed=3, precision="onnx-int8")[0].offsets.tobytes()


def test_the_graphs_draw_is_sample_point():
    # the same y, noise and bias: the same component (but for float ties at a boundary of
    # the cumulative probabilities) and the same point within float rounding
    import onnxruntime as ort
    M, n = 20, 4000
    session = ort.InferenceSession(onnx_step.build_draw_graph(M).SerializeToString(), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(0)
    ys = torch.randn(n, 1 + 6 * M, generator=gen) * 2
    ys[:, 1 + 5 * M:] /= 2     # rho_hat ~ N(0, 1): as |rho| -> 1, sqrt(1 - rho^2) magnifies tanh's last bits
    noise = sampling.draw_noise(gen, n, 1)[:, 0]
    biases = torch.rand(n, generator=gen) * 3 - 0.5
    same = 0
    for y, z, b in zip(ys[:, None], noise[:, None], biases):
        got = session.run(None, {"y": y.numpy(), "noise": z.numpy(), "bias": b.view(1, 1).numpy()})[0]
        want = sampling.sample_point(y, z, M, float(b)).numpy()
        if np.abs(got - want).max() <= 1e-5 * max(1.0, np.abs(want).max()):
            same += 1
        else:      # only where the uniform draw is at a boundary of the cumulative probabilities
            cumulative = torch.softmax(y[:, 1:1 + M] * (1 + float(b)), 1).cumsum(1)
            assert float((cumulative - z[0, 0]).abs().min()) < 1e-6
    assert same >= 0.999 * n


def test_the_drawn_points_are_sample_points_of_its_y(tiny_model_parts):
    # in the whole step's graph: each drawn point is sample_point of that step's y and
    # bias (with the char bias under the window), and the next step reads it
    model, alphabet, _ = tiny_model_parts
    onehot, positions = _text(model, alphabet)
    M = model.config.output_mixtures
    step = onnx_step.OnnxStep(FastStep(model, plan=("int8", "int8")))
    noise = sampling.draw_noise(torch.Generator().manual_seed(2), 1, 40)
    char_bias = torch.rand(1, positions.shape[0])
    drawn = step.line(model.initial_state(1), onehot, positions)
    forced = step.line(model.initial_state(1), onehot, positions)
    points, x = drawn.points(torch.zeros(1, 3), noise, 0.6, char_bias), torch.zeros(1, 3)
    with torch.inference_mode():
        for i in range(40):
            got, phi = points(i)
            y, phi_forced = forced(x)
            assert torch.equal(phi, phi_forced)           # the same step on the same point
            line_bias = 0.6 + (phi * char_bias).sum(1)
            torch.testing.assert_close(got, sampling.sample_point(y, noise[:, i], M, line_bias), atol=1e-5, rtol=1e-5)
            x = got
