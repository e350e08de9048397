"""The sampling step of one line as one ONNX Runtime call, against torch's, in one process.

    python benchmarks/bench_onnx_step.py [--weights W.safetensors] [--rounds 3]

Issue 16: at batch 1, a step's ~45 small torch calls (~3 us each) cost as much as its
int8 products.  handwrite.onnx_step runs the whole step (three LSTM layers, window,
output layer) as one ONNX Runtime session call on buffers bound once per line, with int8
products (DynamicQuantizeMatMul) or fp32.  Printed, all on one thread, interleaved in
rounds, best of each (the machine may be shared; compare the ratios):
  1. the outputs of the ONNX step against FastStep's on the same state (fp32: max
     difference; int8: rms error of y over its spread, next to torch's int8);
  2. ms per step, the step alone and step + drawing a point (`_OnePoint`), for the eager
     LSTMCell reference of bench_sampling.py, torch's one-line step (`_OneLine`) in fp32
     and int8, and the ONNX step in fp32 and int8; and the int8 ONNX step drawing its
     point in the same call (`OnnxLine.points`, what onnx-int8 runs); ratios to the reference;
  3. `sample_lines` of a 40-character line to its end (default style's primer) and
     `Writer.write` of it: fp32, int8 and onnx-int8.
Skips (exit 0) when onnx or onnxruntime is not installed.
"""
import argparse
import importlib.util
import os
import sys
import time

missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
if missing:
    print(f"skipped: needs {' and '.join(missing)} (pip install 'handwrite-synthesis[onnx]')")
    sys.exit(0)

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from common import timeit  # noqa: E402

from handwrite import onnx_step, sampling  # noqa: E402
from handwrite.sampling import FastStep, _OneLine, _OnePoint, draw_noise, sample_lines  # noqa: E402
from handwrite.writer import DEFAULT_STYLE, Writer  # noqa: E402

LINE = "The quick brown fox jumps over a lazy dog"[:40]
STEPS = 300

parser = argparse.ArgumentParser()
parser.add_argument("--weights", default=None)
parser.add_argument("--rounds", type=int, default=3)
args = parser.parse_args()
torch.set_num_threads(1)
writer = Writer(args.weights)
model, M = writer.model, writer.model.config.output_mixtures
codes = writer.alphabet.encode(LINE)
chars = torch.tensor([codes + [0]])
onehot, positions = model.one_hot(chars), torch.arange(chars.shape[1], dtype=torch.float32)
fast = {"fp32": FastStep(model), "int8": FastStep(model, plan=("int8", "int8"))}
t = time.perf_counter()
ort = {kind: onnx_step.OnnxStep(fast[kind], int8=kind == "int8") for kind in fast}
print(f"threads 1; building both ONNX graphs and sessions: {time.perf_counter() - t:.2f} s")

# 1. the same state in: a line's state after 40 steps
with torch.inference_mode():
    state, x = model.initial_state(1), torch.zeros(1, 3)
    for _ in range(40):
        y, state, _ = fast["fp32"](x, state, onehot, positions)
        x = torch.tensor([[0.3, -0.2, 0.0]])
    want = fast["fp32"](x, state, onehot, positions)
    for kind in ("fp32", "int8"):
        line = ort[kind].line(state, onehot, positions)
        y, phi = line(x)
        got = [y, *line.state(), phi]
        ref = [want[0], *(getattr(want[1], n) for n in onnx_step.STATE), want[2]]
        worst = max(float((a - b).abs().max()) for a, b in zip(got, ref))
        rms = float((y - want[0]).pow(2).mean().sqrt() / want[0].std())
        torch_rms = float((fast["int8"](x, state, onehot, positions)[0] - want[0]).pow(2).mean().sqrt() / want[0].std())
        print(f"ONNX {kind} step vs FastStep fp32, same state: max difference {worst:.2e}, y rms/std {rms:.4f}"
              + (f" (torch int8: {torch_rms:.4f})" if kind == "int8" else ""))

# 2. per step, batch 1
bench = open(os.path.join(os.path.dirname(__file__), "bench_sampling.py")).read().split("parser = argparse")[0]
space = {"__file__": os.path.join(os.path.dirname(__file__), "bench_sampling.py")}
exec(compile(bench, "bench_sampling.py", "exec"), space)       # the EagerReference class, nothing run
reference = space["EagerReference"](model)
noise = draw_noise(torch.Generator().manual_seed(0), 1, STEPS)


def loop(make, point: bool):
    line = make()
    draw, x = _OnePoint(line.y, noise, M), torch.zeros(1, 3)
    for step in range(STEPS):
        line(x)
        if point:
            x = draw(step, 0.75)


def loop_in_graph(make):
    """The ONNX step drawing its own point in the same call (what onnx-int8 runs)."""
    points = make().points(torch.zeros(1, 3), noise, 0.75)
    for step in range(STEPS):
        points(step)


makers = {f"torch _OneLine {k}": (lambda k=k: _OneLine(fast[k], model, model.initial_state(1), onehot, positions))
          for k in fast}
makers.update({f"ONNX Runtime {k}": (lambda k=k: ort[k].line(model.initial_state(1), onehot, positions))
               for k in ort})
assert len(reference.write(codes, seed=0, max_steps=STEPS)) == STEPS
times = {}
with torch.inference_mode():
    for _ in range(args.rounds):
        times.setdefault("eager reference", []).append(timeit(lambda: reference.write(codes, seed=0, max_steps=STEPS), repeat=1))
        for name, make in makers.items():
            for point in (False, True):
                times.setdefault((name, point), []).append(timeit(lambda: loop(make, point), repeat=2))
        times.setdefault("in graph", []).append(timeit(lambda: loop_in_graph(makers["ONNX Runtime int8"]), repeat=2))
ref_ms = min(times.pop("eager reference")) / STEPS * 1e3
print(f"eager LSTMCell reference (step + point): {ref_ms:.3f} ms/step")
for name in makers:
    step, whole = (min(times[(name, p)]) / STEPS * 1e3 for p in (False, True))
    print(f"{name:22s}: step {step:.3f} ms ({ref_ms / step:.1f}x the reference), "
          f"step + point {whole:.3f} ms ({ref_ms / whole:.1f}x)")
in_graph = min(times["in graph"]) / STEPS * 1e3
print(f"{'ONNX Runtime int8, point drawn in the graph (onnx-int8)':22s}: step + point {in_graph:.3f} ms "
      f"({ref_ms / in_graph:.1f}x)")

# 3. a default-style line to its end, and Writer.write as a user calls it
primer = writer._primer(DEFAULT_STYLE).primers[0]
ends, writes = {}, {}
writers = {p: Writer(args.weights, precision=p) for p in ("fp32", "int8", "onnx-int8")}
for p, w in writers.items():
    w.write("warm up", seed=0)
for _ in range(args.rounds):
    for p, w in writers.items():
        ends.setdefault(p, []).append(timeit(lambda: sample_lines(model, [codes], seed=0, primer=primer, precision=p),
                                             repeat=1))
        writes.setdefault(p, []).append(timeit(lambda: w.write(LINE, seed=3), repeat=1))
for p in writers:
    print(f"{p:9s}: primed 40-character line (sample_lines) {min(ends[p]):.3f} s "
          f"({min(ends['fp32']) / min(ends[p]):.1f}x fp32); Writer.write {min(writes[p]):.3f} s "
          f"({min(writes['fp32']) / min(writes[p]):.1f}x fp32)")
print(f"int8 error check (torch products): {sampling.int8_error(model):.4f}")
