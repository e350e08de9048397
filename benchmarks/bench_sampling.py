"""Sampling speed: the fast path against a plain eager LSTMCell loop, same weights.

    python benchmarks/bench_sampling.py [--weights W.safetensors]

Measures, in one run on this machine:
  1. one 40-character line at batch 1: ms per step and per line, fast vs plain eager
     (the plain reference runs the network with three nn.LSTMCell modules and a per-step
     Python sampling loop, as a straightforward port would), and the ratio;
  2. a 400-character paragraph (10 wrapped lines, all in one batch) against writing its
     lines one at a time.
Targets (issue 5): fast >= 8x the eager reference for a 40-character line; the paragraph
costs much less than 10 single lines.
"""
import argparse
import os
import sys


import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from common import timeit  # noqa: E402

from handwrite.layout import split_text  # noqa: E402
from handwrite.sampling import sample_lines  # noqa: E402
from handwrite.writer import Writer  # noqa: E402

LINE = "The quick brown fox jumps over a lazy dog"[:40]
PARAGRAPH = ("Handwriting synthesis turns text into pen strokes. " * 8)[:400]


class EagerReference(nn.Module):
    """The synthesis network as a plain eager loop of nn.LSTMCell, sharing the weights."""

    def __init__(self, model):
        super().__init__()
        c = model.config
        self.m, self.M, self.K = model, c.output_mixtures, c.window_mixtures
        H, V = c.hidden, c.alphabet_size
        self.cell1 = model.lstm1
        self.cell2 = nn.LSTMCell(3 + H + V, H)
        self.cell3 = nn.LSTMCell(3 + H + V, H)
        for cell, lstm in ((self.cell2, model.lstm2), (self.cell3, model.lstm3)):
            cell.weight_ih, cell.weight_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
            cell.bias_ih, cell.bias_hh = lstm.bias_ih_l0, lstm.bias_hh_l0

    @torch.inference_mode()
    def write(self, codes, bias=0.75, seed=0):
        m, K, M = self.m, self.K, self.M
        rng = np.random.default_rng(seed)
        chars = torch.tensor([codes + [0]])
        onehot = m.one_hot(chars)[0]
        U = len(codes)
        H = m.config.hidden
        h = [torch.zeros(1, H) for _ in range(3)]
        c = [torch.zeros(1, H) for _ in range(3)]
        kappa = torch.zeros(1, K)
        w = torch.zeros(1, onehot.shape[1])
        x = torch.zeros(1, 3)
        pts = []
        for _ in range(30 * U):
            h[0], c[0] = self.cell1(torch.cat([x, w], 1), (h[0], c[0]))
            a, b, k = m.attention(h[0]).split(K, dim=1)
            kappa = kappa + m.config.kappa_step * torch.nn.functional.softplus(k)
            u = torch.arange(U + 1).float()
            phi = (a.exp().T * torch.exp(-b.exp().T * (kappa.T - u) ** 2)).sum(0)
            w = (phi.unsqueeze(1) * onehot).sum(0, keepdim=True)
            h[1], c[1] = self.cell2(torch.cat([x, h[0], w], 1), (h[1], c[1]))
            h[2], c[2] = self.cell3(torch.cat([x, h[1], w], 1), (h[2], c[2]))
            y = m.output(torch.cat(h, 1))[0]
            pi = torch.softmax(y[1:1 + M] * (1 + bias), 0).numpy()
            j = rng.choice(M, p=pi / pi.sum())
            mx, my, lsx, lsy, r = (float(y[1 + M * i + j]) for i in range(1, 6))
            sx, sy, r = np.exp(lsx - bias), np.exp(lsy - bias), np.tanh(r)
            d = rng.multivariate_normal([mx, my], [[sx * sx, r * sx * sy], [r * sx * sy, sy * sy]])
            eos = float(rng.random() < torch.sigmoid(y[0]).item())
            x = torch.tensor([[d[0], d[1], eos]], dtype=torch.float32)
            pts.append(x)
            if int(phi.argmax()) == U:
                break
        return torch.cat(pts)


parser = argparse.ArgumentParser()
parser.add_argument("--weights", default=None)
args = parser.parse_args()
# handwrite samples on one thread (see sampling.sample_lines); the reference gets the same
torch.set_num_threads(1)
writer = Writer(args.weights)
model = writer.model
codes = writer.alphabet.encode(LINE)
print(f"threads: {torch.get_num_threads()}; model: {model.config}")

# 1. one line at batch 1, the same number of steps for both
ref = EagerReference(model)
steps = len(ref.write(codes, seed=0))
t_ref = timeit(lambda: ref.write(codes, seed=0), repeat=3)
t_fast = timeit(lambda: sample_lines(model, [codes], seed=0, max_steps=steps), repeat=3)
t_plain = timeit(lambda: sample_lines(model, [codes], seed=0, max_steps=steps, fast=False), repeat=3)
n_fast = len(sample_lines(model, [codes], seed=0, max_steps=steps)[0].offsets) - 1
print(f"40-char line, eager LSTMCell reference: {t_ref / steps * 1e3:6.3f} ms/step, {t_ref:6.2f} s/line ({steps} steps)")
print(f"40-char line, handwrite plain step    : {t_plain / n_fast * 1e3:6.3f} ms/step, {t_plain:6.2f} s/line ({n_fast} steps)")
print(f"40-char line, handwrite fast step     : {t_fast / n_fast * 1e3:6.3f} ms/step, {t_fast:6.2f} s/line ({n_fast} steps)")
ratio = (t_ref / steps) / (t_fast / n_fast)
print(f"speed-up per step, fast vs eager reference: {ratio:.1f}x (target >= 8x: {'met' if ratio >= 8 else 'NOT met'})")

# 2. a 400-character paragraph: all lines in one batch vs one line at a time
lines = [ln.text for ln in split_text(PARAGRAPH) if ln.text]
all_codes = [writer.alphabet.encode(t) for t in lines]
t_batch = timeit(lambda: sample_lines(model, all_codes, seed=1), repeat=2)
t_single = timeit(lambda: [sample_lines(model, [c], seed=1) for c in all_codes], repeat=1, warmup=0)
print(f"400-char paragraph ({len(lines)} lines): batched {t_batch:.2f} s, one line at a time {t_single:.2f} s, "
      f"ratio {t_single / t_batch:.1f}x")
