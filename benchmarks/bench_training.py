"""Training throughput of the real 3x400 network next to the machine's matmul rates.

    python benchmarks/bench_training.py [--batch 64] [--steps 300] [--threads N] [--device cuda]

Prints points/s for bf16 autocast and fp32, for the fused recurrence (handwrite.recurrence,
what training uses on CPUs) and the plain autograd loop + nn.LSTM it replaced, and the
bf16 and fp32 matrix-product rates of this machine measured in the same run, so the
figures can be compared across machines.  "bound" is the time the batch's matrix products
alone would take at the bf16 rate (6 FLOPs per weight and point: forward, two backward).
Targets (issue 16): >= 10,000 points/s with bf16 on a 2-core CPU, and >= 50% of the bound.
On CPUs it also times the step's bf16 products alone (at the fused recurrence's shapes): the
share of the bound that no implementation of this batch size can pass.
On a machine where another process holds a core, use --threads 1 (two threads wait for it).
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import matmul_flops, timeit  # noqa: E402

from handwrite import cpu  # noqa: E402
from handwrite.model import HandwritingModel, ModelConfig, mdn_nll  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--steps", type=int, default=300, help="points per line (IAM median after downsampling: ~310)")
parser.add_argument("--chars", type=int, default=40)
parser.add_argument("--threads", type=int, default=None)
parser.add_argument("--device", default="cpu", help="cpu or cuda")
parser.add_argument("--rounds", type=int, default=3, help="timings per configuration (the best is kept)")
args = parser.parse_args()
dev = args.device
if args.threads:
    torch.set_num_threads(args.threads)

torch.manual_seed(0)
model = HandwritingModel(ModelConfig(alphabet_size=80)).to(dev).train()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
B, T, U = args.batch, args.steps, args.chars
x = torch.randn(B, T, 3)
x[..., 2] = (torch.rand(B, T) < 0.05).float()
target = torch.randn(B, T, 3)
target[..., 2] = (torch.rand(B, T) < 0.05).float()
chars = torch.randint(1, 80, (B, U))
mask = torch.ones(B, T)
x, target, chars, mask = x.to(dev), target.to(dev), chars.to(dev), mask.to(dev)


def step(bf16: bool):
    with torch.autocast(torch.device(dev).type, dtype=torch.bfloat16, enabled=bf16):
        y = model(x, chars)
    loss = mdn_nll(y, target, mask, model.config.output_mixtures).sum() / mask.sum()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 3.0)
    optimizer.step()
    if dev != "cpu":
        torch.cuda.synchronize()


def products_alone() -> float:
    """Seconds for just the bf16 matrix products of one training step, at the shapes the
    fused recurrence uses: per step, each layer's recurrent product forward and backward
    (B rows: what the sequence forces); per batch, the input, output and weight-gradient
    products (B*T rows).  Everything else a step does comes on top, so bound / this is the
    most any implementation of this batch can reach."""
    bf, H, V = torch.bfloat16, model.config.hidden, model.config.alphabet_size
    recurrent = [(4 * H, V + H), (4 * H, H), (4 * H, H)]            # LSTM1 reads [window, h]
    w = dict(model.named_parameters())
    whole = [tuple(w[n].shape) for n in ("lstm1.weight_ih", "lstm2.weight_ih_l0", "lstm3.weight_ih_l0",
                                         "output.weight", "attention.weight")]
    r = {shape: (torch.randn(shape).to(bf), torch.randn(B, shape[1]).to(bf), torch.randn(B, shape[0]).to(bf))
         for shape in recurrent}
    big = {shape: (torch.randn(shape).to(bf), torch.randn(B * T, shape[1]).to(bf), torch.randn(B * T, shape[0]).to(bf))
           for shape in whole + recurrent}

    def run():
        for _ in range(T):
            for W, h, g in (r[s] for s in recurrent):
                torch.addmm(g, h, W.t())                # forward gates
                torch.mm(g, W)                          # backward: gradient to h
        for shape in whole:
            W, xs, gs = big[shape]
            torch.mm(xs, W.t()), torch.mm(gs, W), torch.mm(gs.t(), xs)   # forward, dx, dW
        for shape in recurrent:
            W, xs, gs = big[shape]
            torch.mm(gs.t(), xs)                        # dW of the recurrent weights
    return timeit(run, repeat=args.rounds)


print(f"device {dev}, threads: {torch.get_num_threads()}, batch {B} lines x {T} points, {U} characters")
fp32_mm = matmul_flops(torch.float32, device=dev)
bf16_mm = matmul_flops(torch.bfloat16, device=dev)
weights = sum(p.numel() for n, p in model.named_parameters() if "weight" in n)
bound = 6 * weights * B * T / bf16_mm           # seconds per batch at the bf16 matrix rate
configs = (("fused, bf16 autocast", True, True), ("plain, bf16 autocast", False, True),
           ("fused, fp32", True, False), ("plain, fp32", False, False))
if dev == "cpu" and not cpu.has_bf16():     # oneDNN has no bf16 LSTM primitive without AVX-512 BF16
    print("plain, bf16 autocast: not run (nn.LSTM cannot run in bf16 on this CPU; bf16 is emulated here)")
    configs = tuple(c for c in configs if c[0] != "plain, bf16 autocast")
best = {name: float("inf") for name, _, _ in configs}
for round_ in range(args.rounds):     # interleaved, so that a busy spell of the machine hits all alike
    for name, fused, bf16 in configs:
        model.fused_recurrence = fused
        best[name] = min(best[name], timeit(lambda: step(bf16), repeat=1, warmup=int(round_ == 0)))
pts = {}
for name, t in best.items():
    pts[name] = B * T / t
    print(f"training, {name:20s}: {pts[name]:9.0f} points/s  ({t * 1e3:.0f} ms per batch, "
          f"{bound / t:.0%} of the bf16 bound)")
print(f"matmul fp32: {fp32_mm / 1e9:7.1f} GFLOP/s")
print(f"matmul bf16: {bf16_mm / 1e9:7.1f} GFLOP/s   (bf16/fp32 = {bf16_mm / fp32_mm:.2f}x); "
      f"bf16 bound {B * T / bound:,.0f} points/s")
if dev == "cpu":
    floor = products_alone()
    print(f"the bf16 products alone: {floor * 1e3:.0f} ms per batch = {bound / floor:.0%} of the bf16 bound "
          f"(the ceiling at batch {B}: per-step products have only {B} rows)")
fused = pts["fused, bf16 autocast"]
plain_bf16 = pts.get("plain, bf16 autocast", float("nan"))
print(f"fused/plain: bf16 {fused / plain_bf16:.2f}x, "
      f"fp32 {pts['fused, fp32'] / pts['plain, fp32']:.2f}x; "
      f"target 10,000 points/s: {'met' if fused >= 10_000 else 'NOT met'}; "
      f"50% of the bound: {'met' if fused * bound / (B * T) >= 0.5 else 'NOT met'}")
