import numpy as np
import pytest
import torch

from handwrite import sampling
from handwrite.model import State
from handwrite.sampling import (INT8_MIN_HIDDEN, INT8_TOLERANCE, MIN_STEPS, STEPS_PER_CHAR, FastStep, auto_plan,
                                fastest_plan, int8_error, sample_lines, sample_point, step_plan)


def _codes(alphabet, *texts):
    return [alphabet.encode(t) for t in texts]


def test_fast_step_writes_what_the_plain_step_writes(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    codes = _codes(alphabet, "hello world", "a much longer line of text", "x")
    fast = sample_lines(model, codes, seed=5, fast=True, precision="fp32")
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



def _primer(alphabet, text="primer text ", points=80):
    rng = np.random.default_rng(0)
    offsets = np.c_[rng.normal(size=(points, 2)), (rng.random(points) < 0.1)].astype(np.float32)
    offsets[0] = 0
    return offsets, alphabet.encode(text)


def test_one_line_in_auto_precision_writes_what_the_plain_step_writes(tiny_model_parts):
    # the tiny model is below INT8_MIN_HIDDEN: auto is fp32 for one line on every CPU kind
    model, alphabet, _ = tiny_model_parts
    codes = _codes(alphabet, "one line alone")
    f = sample_lines(model, codes, seed=2, precision="auto")[0]
    p = sample_lines(model, codes, seed=2, fast=False)[0]
    np.testing.assert_allclose(f.offsets, p.offsets, atol=1e-4)


def test_bf16_products_stay_close_to_fp32(tiny_model_parts):
    # teacher-forced over the same points, the bf16 step's mixture parameters and window
    # track the fp32 step's: the error does not grow along the sequence
    model, alphabet, _ = tiny_model_parts
    chars = torch.tensor([alphabet.encode("two lines of"), alphabet.encode("text written")])
    onehot, positions = model.one_hot(chars), torch.arange(chars.shape[1], dtype=torch.float32)
    x = torch.from_numpy(_primer(alphabet, points=60)[0]).expand(2, -1, -1)
    steps = {p: FastStep(model, plan=("bf16", "bf16") if p else ("fp32", "fp32")) for p in (None, 1)}
    states = {p: model.initial_state(2) for p in steps}
    worst = 0.0
    with torch.inference_mode():
        for t in range(x.shape[1]):
            out = {}
            for p, step in steps.items():
                out[p], states[p], _ = step(x[:, t], states[p], onehot, positions)
            worst = max(worst, float((out[1] - out[None]).abs().max()))
    assert 0 < worst < 0.05          # bf16 really ran (not bit-equal), and stays close


def test_bf16_lines_are_written_and_finish_like_fp32(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    codes = _codes(alphabet, "hello world", "another line", "x")
    b = sample_lines(model, codes, seed=3, precision="bf16")
    f = sample_lines(model, codes, seed=3, precision="fp32")
    for lb, lf in zip(b, f):
        assert np.isfinite(lb.offsets).all() and lb.offsets[-1, 2] == 1
        # the first steps, before sampling choices can part, are the same within bf16 noise
        np.testing.assert_allclose(lb.offsets[:4], lf.offsets[:4], atol=0.05)


def test_precision_choice():
    cpu = torch.device("cpu")
    assert step_plan("fp32", cpu) == ("fp32", "fp32")
    assert step_plan("bf16", cpu) == ("bf16", "bf16")
    assert step_plan("auto", torch.device("cuda")) == ("fp32", "fp32")
    assert step_plan("fastest", torch.device("cuda")) == ("fp32", "fp32")
    with pytest.raises(ValueError, match="auto, fp32, bf16, fp16, int8"):
        step_plan("half", cpu)


@pytest.mark.parametrize("kind, one, batches", [
    ("amx", "int8", "int8"), ("avx512-bf16", "int8", "bf16"), ("avx512-vnni", "int8", "int8"),
    ("avx2", "fp32", "fp16")])
def test_auto_is_a_rule_per_cpu_kind(kind, one, batches):
    assert auto_plan(cpu_kind=kind) == (one, batches)
    assert auto_plan(1, cpu_kind=kind) == (one, one)                # the batch only shrinks
    # int8 only for a model that passes its check and is large enough to gain from it
    fallback = "fp32" if batches == "int8" else batches
    assert auto_plan(cpu_kind=kind, int8_ok=lambda: False) == ("fp32", fallback)
    small = "fp32" if batches in ("int8", "fp16") else batches       # fp16 too: its products are too small to gain
    assert auto_plan(cpu_kind=kind, hidden=INT8_MIN_HIDDEN - 1) == ("fp32", small)


def test_fp16_batches_only_where_torch_has_the_op(monkeypatch):
    from handwrite.sampling import plan
    assert plan.fp16_available()                        # the x86 torch CI installs has fbgemm's op
    monkeypatch.setattr(plan, "fp16_available", lambda: False)
    assert auto_plan(cpu_kind="avx2") == ("fp32", "fp32")
    with pytest.raises(ValueError, match="fp16.*lacks"):
        step_plan("fp16", torch.device("cpu"))
    monkeypatch.undo()
    with pytest.raises(ValueError, match="CPUs only"):
        step_plan("fp16", torch.device("cuda"))


def test_auto_on_bf16_cpus_takes_bf16_for_large_batches_and_fp16_weights_below(monkeypatch):
    from handwrite.sampling import plan
    from handwrite.sampling.plan import BF16_MIN_LINES
    assert auto_plan(BF16_MIN_LINES - 1, cpu_kind="avx512-bf16") == ("int8", "fp16")
    assert auto_plan(BF16_MIN_LINES, cpu_kind="avx512-bf16") == ("int8", "bf16")
    assert auto_plan(2, cpu_kind="avx512-bf16", int8_ok=lambda: False) == ("fp32", "fp16")
    assert auto_plan(2, cpu_kind="avx512-bf16", hidden=INT8_MIN_HIDDEN - 1) == ("fp32", "bf16")
    monkeypatch.setattr(plan, "fp16_available", lambda: False)
    assert auto_plan(2, cpu_kind="avx512-bf16") == ("int8", "int8")


def test_auto_does_not_time_anything_and_repeats(monkeypatch):
    # the same flags give the same plan: nothing measured, so no noise to flip it
    from handwrite import cpu as cpu_flags
    monkeypatch.setattr(cpu_flags, "flags", lambda: frozenset({"avx2", "avx512_vnni", "avx512_bf16"}))
    plans = {step_plan("auto", torch.device("cpu"), lines=n) for n in (64, 64, 64)}
    assert plans == {("int8", "bf16")}
    monkeypatch.setattr(cpu_flags, "flags", lambda: frozenset({"avx2"}))
    assert step_plan("auto", torch.device("cpu"), lines=1) == ("fp32", "fp32")


def test_fastest_adds_onnx_for_one_line_where_installed(monkeypatch):
    from handwrite import onnx_step
    monkeypatch.setattr(onnx_step, "missing_packages", lambda: [])
    assert fastest_plan(cpu_kind="avx512-bf16") == ("onnx-int8", "bf16")
    assert fastest_plan(8, cpu_kind="avx512-bf16") == ("onnx-int8", "int8")     # int8 where auto has fp16
    assert fastest_plan(1, cpu_kind="avx2") == ("onnx-int8", "onnx-int8")
    assert fastest_plan(cpu_kind="avx2") == ("onnx-int8", "int8")          # int8 batches where auto has fp16
    assert fastest_plan(cpu_kind="avx2", int8_ok=lambda: False) == ("fp32", "fp16")     # auto's batches
    monkeypatch.setattr(onnx_step, "missing_packages", lambda: ["onnxruntime"])
    assert fastest_plan(cpu_kind="avx512-bf16") == ("int8", "bf16")
    assert fastest_plan(cpu_kind="avx2") == ("fp32", "int8")
    assert sampling.fastest_precision(1) == auto_plan(1)[0]


def _teacher_forced(model, alphabet, steps, points=60):
    """Each step's outputs (y, phi) over the same points and texts, per step in `steps`."""
    chars = torch.tensor([alphabet.encode("two lines of"), alphabet.encode("text written")])
    onehot, positions = model.one_hot(chars), torch.arange(chars.shape[1], dtype=torch.float32)
    x = torch.from_numpy(_primer(alphabet, points=points)[0]).expand(2, -1, -1)
    outs = {k: [] for k in steps}
    with torch.inference_mode():
        for k, step in steps.items():
            state = model.initial_state(2)
            for t in range(x.shape[1]):
                y, state, phi = step(x[:, t], state, onehot, positions)
                outs[k].append((y, phi))
    return outs


INT8_STEP_TOLERANCE = 0.05     # mixture parameters and window weights, teacher-forced, tiny model


def test_int8_products_stay_close_to_fp32(tiny_model_parts):
    # int8 weights for the three layers' products: the same state in, the step's mixture
    # parameters and attention stay within INT8_STEP_TOLERANCE of fp32 all along the sequence
    model, alphabet, _ = tiny_model_parts
    outs = _teacher_forced(model, alphabet, {"fp32": FastStep(model), "int8": FastStep(model, plan=("int8", "int8"))})
    worst_y = max(float((a[0] - b[0]).abs().max()) for a, b in zip(outs["int8"], outs["fp32"]))
    worst_phi = max(float((a[1] - b[1]).abs().max()) for a, b in zip(outs["int8"], outs["fp32"]))
    assert 0 < worst_y < INT8_STEP_TOLERANCE      # int8 really ran (not bit-equal), and stays close
    assert worst_phi < INT8_STEP_TOLERANCE
    assert int8_error(model) <= INT8_TOLERANCE


def test_int8_products_keep_the_pen_and_window_rows_fp32(tiny_model_parts):
    # only the hidden states' rows are int8: with the hidden states at 0, a layer's gates
    # from a large window and pen offsets are fp32's to rounding (int8 activations with
    # one scale for the window's 4.0 would be off by far more)
    model, _, _ = tiny_model_parts
    fast = FastStep(model, plan=("int8", "int8"))
    int8, fp32 = fast.products["int8"], fast.fp32
    H, V = model.config.hidden, model.config.alphabet_size
    g = torch.Generator().manual_seed(0)
    for layer in range(3):
        x = torch.randn(4, 3, generator=g) * 20
        rest = [torch.zeros(4, H) for _ in sampling.probe_inputs(layer, H, V)]
        rest[sampling.WINDOW_AT[layer]] = torch.rand(4, V, generator=g) * 4.0
        exact = fp32 if sampling.INT8_LAYERS[layer] else int8.dense
        torch.testing.assert_close(int8.gates(layer, x, *rest), exact.gates(layer, x, *rest), rtol=1e-5, atol=1e-5)
        rest = sampling.probe_inputs(layer, H, V, rows=4, generator=g)      # hidden rows: int8, close
        off = float((int8.gates(layer, x, *rest) - fp32.gates(layer, x, *rest)).abs().max())
        if sampling.INT8_LAYERS[layer]:
            assert 0 < off < 0.05
        else:           # the first layer, which drives the attention window, stays out of int8
            torch.testing.assert_close(int8.gates(layer, x, *rest), int8.dense.gates(layer, x, *rest))
            assert off < 0.01                                               # fp16 weights at most


def test_int8_lines_are_deterministic_and_finish_like_fp32(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    codes = _codes(alphabet, "hello world", "another line", "x")
    a = sample_lines(model, codes, seed=3, precision="int8")
    b = sample_lines(model, codes, seed=3, precision="int8")
    f = sample_lines(model, codes, seed=3, precision="fp32")
    for la, lb, lf in zip(a, b, f):
        assert la.offsets.tobytes() == lb.offsets.tobytes()          # a seed fixes the strokes
        assert np.isfinite(la.offsets).all() and la.offsets[-1, 2] == 1
        np.testing.assert_allclose(la.offsets[:4], lf.offsets[:4], atol=0.05)
    one = sample_lines(model, codes[:1], seed=7, precision="int8")[0]
    assert one.offsets.tobytes() == sample_lines(model, codes[:1], seed=7, precision="int8")[0].offsets.tobytes()


def test_int8_and_onnx_run_on_cpus_only():
    cpu = torch.device("cpu")
    assert step_plan("int8", cpu) == ("int8", "int8")
    with pytest.raises(ValueError, match="CPUs only"):
        step_plan("int8", torch.device("cuda"))


def test_auto_on_this_cpu_runs_a_plan_that_passes(tiny_model_parts):
    model, alphabet, _ = tiny_model_parts
    cache = sampling._cache_for(model)
    plan = step_plan("auto", torch.device("cpu"), int8_ok=lambda: cache.int8_ok(model), hidden=model.config.hidden)
    assert plan == ("fp32", "fp32") or plan == ("fp32", "bf16")     # the tiny model never runs int8
    sample_lines(model, _codes(alphabet, "auto"), seed=1)            # runs whatever it picked


def test_primer_prefix_is_read_once_and_changes_nothing(tiny_model_parts, monkeypatch):
    model, alphabet, _ = tiny_model_parts
    primer = _primer(alphabet)
    codes = _codes(alphabet, "first line", "a second line")
    sampling._CACHES.clear()
    cached = sample_lines(model, codes, seed=4, primer=primer, precision="fp32")
    (state, steps), = sampling._CACHES[model].prefixes.values()
    assert 0 < steps < len(primer[0]) - 1          # part of the primer is shared, not all of it
    again = sample_lines(model, codes, seed=4, primer=primer, precision="fp32")
    monkeypatch.setattr(sampling.primer, "PRIMER_TAIL", -1.0)   # no shared prefix: every line reads it all
    sampling._CACHES.clear()
    full = sample_lines(model, codes, seed=4, primer=primer, precision="fp32")
    assert sampling._CACHES[model].prefixes and next(iter(sampling._CACHES[model].prefixes.values()))[1] == 0
    for c, a, u in zip(cached, again, full):
        np.testing.assert_array_equal(c.offsets, a.offsets)
        np.testing.assert_allclose(c.offsets, u.offsets, atol=1e-4)


def test_rows_of_one_text_read_the_primer_once_and_draw_as_if_each_had(tiny_model_parts, monkeypatch):
    model, alphabet, _ = tiny_model_parts
    primer = _primer(alphabet)
    codes = _codes(alphabet, "same", "other", "same", "same")
    read_rows = []
    real_read = type(model).read
    monkeypatch.setattr(type(model), "read", lambda self, x, *a: read_rows.append(x.shape[0]) or real_read(self, x, *a))
    once = sample_lines(model, codes, seed=5, primer=primer, precision="fp32")
    assert read_rows[-1] == 2                        # "same" and "other": the rest read for two rows
    monkeypatch.setattr(sampling.registry, "_one_row_per_text", lambda start: None)
    each = sample_lines(model, codes, seed=5, primer=primer, precision="fp32")
    assert read_rows[-1] == 4
    for a, b in zip(once, each):
        np.testing.assert_allclose(a.offsets, b.offsets, atol=1e-4)
    assert not np.array_equal(once[0].offsets, once[2].offsets)     # same state, own noise: own strokes


def test_changed_weights_are_never_served_from_the_cache(tiny_model_parts):
    import copy
    model, alphabet, _ = tiny_model_parts
    model = copy.deepcopy(model)
    primer = _primer(alphabet)
    codes = _codes(alphabet, "cache test", "two")
    sample_lines(model, codes, seed=6, primer=primer)              # fills the cache
    with torch.no_grad():
        model.output.bias.add_(0.3)                                # an in-place update, like an optimizer step
        model.lstm1.weight_hh.mul_(1.1)
    after = sample_lines(model, codes, seed=6, primer=primer)
    fresh = sample_lines(copy.deepcopy(model), codes, seed=6, primer=primer)   # a model never seen
    for a, f in zip(after, fresh):
        np.testing.assert_array_equal(a.offsets, f.offsets)


def _offsets(*strokes):
    """Absolute (x, y) strokes -> (T, 3) offsets as the network draws them (row 0 the start)."""
    pts = np.concatenate([np.c_[np.asarray(s, float), np.r_[np.zeros(len(s) - 1), 1.0]] for s in strokes])
    offs = np.zeros((len(pts) + 1, 3))
    offs[1:, :2] = np.diff(np.r_[[[0.0, 0.0]], pts[:, :2]], axis=0)
    offs[1:, 2] = pts[:, 2]
    return offs


WORD = [(0, 0), (3, 10), (6, 0), (10, 10), (14, 0), (17, 10), (20, 0)]   # two letters, 10 units each


def test_delayed_strokes_keep_a_bar_and_a_dot_and_drop_made_up_letters():
    from handwrite.sampling import _delayed_strokes
    bar = [(13, 7), (17, 7.3), (23, 7.5)]            # begins over the word, short, flat
    dot = [(16, 14), (16.3, 14.2)]
    letter = [(22, 0), (24, 10), (27, 0), (29, 10)]  # begins past the end: the model making up text
    offs = _offsets(WORD, bar, dot, letter)
    written = 1 + len(WORD)
    assert _delayed_strokes(offs, written, n_chars=2) == written + len(bar) + len(dot)
    # a stroke beginning right of the writing, or tall, ends the line at once
    assert _delayed_strokes(_offsets(WORD, letter, bar), written, 2) == written
    assert _delayed_strokes(_offsets(WORD, [(14, 0), (15, 9), (16, 0)]), written, 2) == written
    # the tail of a y written as a stroke of its own: from the right end, straight down
    tail = [(21, 5), (20, 12), (18, 19)]                 # y grows downwards, as in the data
    assert _delayed_strokes(_offsets(WORD, tail, letter), written, 2) == written + len(tail)
    # ... but a stroke that goes on to the right is a new letter, however low it reaches
    assert _delayed_strokes(_offsets(WORD, [(21, 5), (24, 19), (27, 5)]), written, 2) == written
    # a stroke the look-ahead cut off before its pen lift is not kept
    cut = _offsets(WORD, bar)
    cut[-1, 2] = 0
    assert _delayed_strokes(cut, written, 2) == written


def test_lines_record_where_the_window_left_the_text(tiny_model_parts):
    model, alphabet, normalizer = tiny_model_parts
    lines = sample_lines(model, _codes(alphabet, "ab", "a longer line"), seed=3, normalizer=normalizer)
    for ln in lines:
        if ln.finished:
            assert 0 < ln.left_text_at <= len(ln.offsets)
        assert ln.offsets[-1, 2] == 1 and len(ln.phi) == len(ln.offsets) - 1


# ---- the one-line path (sampling._OneLine, sampling._OnePoint) ------------------------------
def _without_one_line(monkeypatch):
    monkeypatch.setattr(sampling._OneLine, "KINDS", ())       # every batch through _Batch and FastStep


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("primed", [False, True])
def test_one_line_path_writes_what_the_batch_path_writes(tiny_model_parts, monkeypatch, precision, primed):
    # the same operations on the same numbers, on buffers: bit for bit the same line (with
    # a primer in fp32; int8 reads the primer with int8 products, checked below)
    model, alphabet, normalizer = tiny_model_parts
    codes = _codes(alphabet, "Hello world")
    kw = dict(seed=4, precision=precision, normalizer=normalizer, char_bias=[np.r_[0.5, np.zeros(10)]])
    if primed:
        kw["primer"] = _primer(alphabet, points=50)
    one = sample_lines(model, codes, **kw)[0]
    _without_one_line(monkeypatch)
    batch = sample_lines(model, codes, **kw)[0]
    if primed and precision == "int8":
        assert np.isfinite(one.offsets).all() and one.offsets[-1, 2] == 1
        return
    assert one.offsets.tobytes() == batch.offsets.tobytes()
    assert one.phi.tobytes() == batch.phi.tobytes()
    assert (one.finished, one.left_text_at) == (batch.finished, batch.left_text_at)


def test_one_line_stream_yields_what_the_batch_path_yields(tiny_model_parts, monkeypatch):
    model, alphabet, _ = tiny_model_parts
    codes = _codes(alphabet, "stream")
    one = [s.offsets.copy() for s in sampling.stream_lines(model, codes, seed=2, precision="fp32")]
    _without_one_line(monkeypatch)
    batch = [s.offsets.copy() for s in sampling.stream_lines(model, codes, seed=2, precision="fp32")]
    assert len(one) == len(batch) and all(a.tobytes() == b.tobytes() for a, b in zip(one, batch))


@pytest.mark.parametrize("per_line_bias", [False, True])
def test_one_point_draws_what_sample_point_draws(per_line_bias):
    M, steps = 5, 200
    g = torch.Generator().manual_seed(0)
    y = torch.randn(steps, 1 + 6 * M, generator=g) * 2
    noise = sampling.draw_noise(g, 1, steps)
    buffer = torch.empty(1, 1 + 6 * M)
    draw = sampling._OnePoint(buffer, noise, M)
    for t in range(steps):
        buffer.copy_(y[t:t + 1])
        bias = torch.rand(1, generator=g) if per_line_bias else 0.75
        assert torch.equal(draw(t, bias), sample_point(buffer, noise[:, t], M, bias))


def test_one_line_read_matches_the_sequence_read(tiny_model_parts):
    # _OneLine.read (the int8 primer read) teacher-forces the points one step at a time:
    # in fp32 the state model.read reaches, and with int8 products close to it
    model, alphabet, _ = tiny_model_parts
    chars = torch.tensor([alphabet.encode("primer text ")])
    onehot, positions = model.one_hot(chars), torch.arange(chars.shape[1], dtype=torch.float32)
    strokes = torch.from_numpy(_primer(alphabet, points=60)[0])
    with torch.inference_mode():
        ref = model.read(strokes[None], onehot, positions, model.initial_state(1))
        for kind, tol in (("fp32", 1e-5), ("int8", INT8_STEP_TOLERANCE)):
            one = sampling._OneLine(FastStep(model, plan=(kind, kind)), model, model.initial_state(1), onehot, positions)
            one.read(strokes)
            got = one.h + one.c + [one.kappa, one.window]
            want = [ref.h1, ref.h2, ref.h3, ref.c1, ref.c2, ref.c3, ref.kappa, ref.window]
            worst = max(float((a - b).abs().max()) for a, b in zip(got, want))
            assert worst < tol, (kind, worst)


def test_batch_read_in_int8_steps_close_to_the_sequence_read(tiny_model_parts):
    # a batch whose step runs int8 reads a primer point by point with that step (as
    # _OneLine does); in fp32 it reads the sequence at once, exactly model.read
    model, alphabet, _ = tiny_model_parts
    texts = ["primer text one", "primer text b"]
    chars = torch.zeros(2, max(map(len, texts)), dtype=torch.long)
    for b, t in enumerate(texts):
        chars[b, :len(t)] = torch.tensor(alphabet.encode(t))
    onehot, positions = model.one_hot(chars), torch.arange(chars.shape[1], dtype=torch.float32)
    strokes = torch.from_numpy(_primer(alphabet, points=60)[0])
    with torch.inference_mode():
        ref = model.read(strokes[None].expand(2, -1, 3), onehot, positions, model.initial_state(2))
        for kind, tol in (("fp32", 0.0), ("int8", INT8_STEP_TOLERANCE)):
            batch = sampling._Batch(FastStep(model, plan=(kind, kind)), model, model.initial_state(2), onehot,
                                    positions)
            batch.read(strokes)
            worst = max(float((getattr(batch.state, n) - getattr(ref, n)).abs().max()) for n in State.__slots__)
            assert worst <= tol, (kind, worst)
    assert kind == "int8" and worst > 0          # int8 took the other path: not the fp32 sequence read


def test_onnx_int8_names_what_to_install_and_runs_on_cpus_only(monkeypatch):
    from handwrite import onnx_step
    monkeypatch.setattr(onnx_step, "missing_packages", lambda: ["onnxruntime"])
    with pytest.raises(ModuleNotFoundError, match=r"needs onnxruntime: pip install 'handwrite-synthesis\[onnx\]'"):
        sampling.check_precision("onnx-int8")
    monkeypatch.setattr(onnx_step, "missing_packages", lambda: [])
    assert step_plan("onnx-int8", torch.device("cpu")) == ("onnx-int8", "int8")     # batches: torch's int8
    with pytest.raises(ValueError, match="CPUs only"):
        step_plan("onnx-int8", torch.device("cuda"))


@pytest.mark.parametrize("flags, kind", [
    (set(), "avx2"), ({"avx2"}, "avx2"), ({"avx2", "avx512_vnni"}, "avx512-vnni"),
    ({"avx512_vnni", "avx512_bf16"}, "avx512-bf16"), ({"avx512_vnni", "avx512_bf16", "amx_bf16"}, "amx")])
def test_cpu_kind_and_int8_branches_come_from_the_flags(monkeypatch, flags, kind):
    from handwrite import cpu
    monkeypatch.setattr(cpu, "flags", lambda: frozenset(flags))
    assert cpu.kind() == kind
    without_vnni = "avx512_vnni" not in flags           # int16 sums: 7-bit activations, unsigned ONNX weights
    assert cpu.int8_reduce_range() is without_vnni and cpu.onnx_unsigned_weights() is without_vnni
