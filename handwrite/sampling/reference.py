"""The reference sampler: Graves' sampling (arXiv 1308.0850, section 5) in a few lines.

Every kernel of the registry is tested against it on the bundled weights
(tests/test_sampling_kernels.py).  It runs the plain step, `HandwritingModel.step`, and
`mixture.sample_point` with the same noise the sampling loop draws, for a fixed number
of steps: no stopping rule, no primer, no line finishing (those are the loop's).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..model import HandwritingModel
from .points import draw_noise, sample_point


@dataclass
class ReferenceLines:
    points: torch.Tensor     # (B, T, 3) the drawn pen offsets (dx, dy, eos), normalised
    params: torch.Tensor     # (B, T, 1+6M) the mixture each point was drawn from
    phi: torch.Tensor        # (B, T, U) the attention window at each step


@torch.inference_mode()
def reference_lines(model: HandwritingModel, codes: list[list[int]], steps: int, *,
                    bias: float = 0.75, seed: int = 0) -> ReferenceLines:
    """Write each text of `codes` (character codes) for `steps` steps, all as one batch."""
    B, M = len(codes), model.config.output_mixtures
    U = max(len(c) for c in codes) + 1                       # +1: the empty position past the end
    chars = torch.zeros(B, U, dtype=torch.long)
    for b, c in enumerate(codes):
        chars[b, :len(c)] = torch.tensor(c)
    onehot = model.one_hot(chars)                            # (B, U, V), padding all zero
    positions = torch.arange(U, dtype=torch.float32)         # (U,) where each character sits
    noise = draw_noise(torch.Generator().manual_seed(seed), B, steps)   # (B, T, 4), as the loop draws it

    state = model.initial_state(B)                           # zeros: h, c (B, H), kappa (B, K), window (B, V)
    x = torch.zeros(B, 3)                                    # the pen at rest
    points, params, phis = [], [], []
    for t in range(steps):
        y, state, phi = model.step(x, state, onehot, positions)    # y (B, 1+6M), phi (B, U)
        x = sample_point(y, noise[:, t], M, bias)                  # (B, 3) drawn with bias
        points.append(x)
        params.append(y)
        phis.append(phi)
    return ReferenceLines(torch.stack(points, 1), torch.stack(params, 1), torch.stack(phis, 1))
