"""Training throughput of the real 3x400 network next to the machine's matmul rates.

    python benchmarks/bench_training.py [--batch 64] [--steps 300] [--threads N] [--device cuda]

Prints points/s for bf16 autocast and fp32, and the bf16 and fp32 matrix-product
rates of this machine measured in the same run, so the figures can be compared
across machines.  Target (issue 2 / 5): >= 10,000 points/s with bf16 on a 2-core
AVX512-BF16 CPU.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import matmul_flops, timeit  # noqa: E402

from handwrite.model import HandwritingModel, ModelConfig, mdn_nll  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--steps", type=int, default=300, help="points per line (IAM median after downsampling: ~310)")
parser.add_argument("--chars", type=int, default=40)
parser.add_argument("--threads", type=int, default=None)
parser.add_argument("--device", default="cpu", help="cpu or cuda")
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


print(f"device {dev}, threads: {torch.get_num_threads()}, batch {B} lines x {T} points, {U} characters")
fp32_mm = matmul_flops(torch.float32, device=dev)
bf16_mm = matmul_flops(torch.bfloat16, device=dev)
pts = {}
for name, bf16 in (("bf16 autocast", True), ("fp32", False)):
    t = timeit(lambda: step(bf16), repeat=3)
    pts[name] = B * T / t
    print(f"training, {name:13s}: {pts[name]:9.0f} points/s  ({t * 1e3:.0f} ms per batch)")
print(f"matmul fp32: {fp32_mm / 1e9:7.1f} GFLOP/s")
print(f"matmul bf16: {bf16_mm / 1e9:7.1f} GFLOP/s   (bf16/fp32 = {bf16_mm / fp32_mm:.2f}x)")
print(f"training bf16/fp32 = {pts['bf16 autocast'] / pts['fp32']:.2f}x; "
      f"target 10,000 points/s: {'met' if pts['bf16 autocast'] >= 10_000 else 'NOT met'}")
