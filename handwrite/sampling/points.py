"""Drawing the pen's next points from the network's mixture density.

All randomness is drawn up front from the seed (four numbers per line and step,
`draw_noise`), so a seed fixes the strokes, and every kernel can be compared with the
reference on exactly the same draws.  The formulas are `handwrite.mixture`'s.
"""
from __future__ import annotations

import torch

from ..mixture import biased_sigmas, biased_weights, sample_point

__all__ = ["draw_noise", "sample_point", "_OnePoint"]


def draw_noise(generator: torch.Generator, batch: int, steps: int) -> torch.Tensor:
    """(batch, steps, 4): uniform (mixture component), two normals (offset), uniform (pen lift)."""
    u = torch.rand(batch, steps, 2, generator=generator)
    z = torch.randn(batch, steps, 2, generator=generator)
    return torch.stack([u[..., 0], z[..., 0], z[..., 1], u[..., 1]], -1)


class _OnePoint:
    """`sample_point` for a single line, reading a one-line kernel's output buffer y (1, 1+6M).

    The same floating-point operations on the same numbers as `sample_point` (so the same
    point), in about half the calls: the mixture component is found as a Python int, the
    five parameters of each component and each step's four draws are views made once,
    and dx and dy are computed as one pair.
    """

    def __init__(self, y, noise, mixtures: int):
        M = mixtures
        self.M, self.pi, self.eos_logit = M, y[:, 1:1 + M], y[:, :1]
        params = y[0, 1 + M:].view(5, M).t()                          # (M, 5): mx, my, lsx, lsy, rho_hat
        self.means, self.log_sigmas = params[:, :2].unbind(0), params[:, 2:4].unbind(0)
        self.rho_hats = params[:, 4:].unbind(0)
        self.uniform, self.z1, self.z2, self.lift = (column.unbind(0) for column in noise[0].t())

    def __call__(self, step: int, bias):
        """(1, 3) offsets drawn with the noise of step `step`; bias a number or a (1,) tensor."""
        row_bias = bias.unsqueeze(1) if isinstance(bias, torch.Tensor) else bias
        probs = biased_weights(self.pi, row_bias)
        k = min(int((probs.cumsum(1) < self.uniform[step]).sum()), self.M - 1)
        sigma = biased_sigmas(self.log_sigmas[k], bias)                 # (sx, sy)
        rho, z1 = torch.tanh(self.rho_hats[k]), self.z1[step]
        z = torch.cat([z1.view(1), rho * z1 + torch.sqrt(1 - rho * rho) * self.z2[step]])
        eos = (self.lift[step] < torch.sigmoid(self.eos_logit)).float()     # (1, 1)
        return torch.cat([(self.means[k] + sigma * z).view(1, 2), eos], 1)
