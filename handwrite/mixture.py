"""The two formulas of Graves' synthesis network that every step shares, written once.

    attention window (arXiv 1308.0850, eqs. 46-51): from the window layer's 3K outputs
        alpha = exp(a_hat), beta = exp(b_hat), kappa = kappa_prev + step * softplus(k_hat)
        phi(u) = sum_k alpha_k exp(-beta_k (kappa_k - u)^2),  w = sum_u phi(u) c_u
    biased mixture (section 5.4): for bias b >= 0
        pi = softmax(pi_hat * (1 + b)),  sigma = exp(log_sigma_hat - b)

The plain step (`model.HandwritingModel`), the fused sampling step (`sampling.kernels`),
the point's draw (`sample_point`) and the density plots (`plots.predict_line`) call these.
Two places keep their own copy of the arithmetic and are tested against these: the
one-line step on buffers (`sampling.kernels._OneLine`, the same operations in place) and
the ONNX graphs (`onnx_step`, the same operations as graph nodes); the training
recurrence (`recurrence.py`) also floors the window's exponent (see EXP_FLOOR there).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def window_weights(alpha, beta, kappa, positions):
    """phi (B, U): alpha, beta, kappa (B, K) against character positions (U,)."""
    # (B, K, 1) against (U,) -> (B, K, U) -> sum over K
    return (alpha.unsqueeze(-1) * torch.exp(-beta.unsqueeze(-1) * (kappa.unsqueeze(-1) - positions) ** 2)).sum(1)


def attention_window(logits, kappa, kappa_step: float, onehot, positions):
    """The window layer's outputs logits (B, 3K) = [a_hat, b_hat, k_hat], the last kappa
    (B, K), onehot (B, U, V) -> window (B, V), kappa (B, K), phi (B, U)."""
    K = kappa.shape[-1]
    alpha_beta = torch.exp(logits[:, :2 * K])
    kappa = kappa + kappa_step * F.softplus(logits[:, 2 * K:])
    phi = window_weights(alpha_beta[:, :K], alpha_beta[:, K:], kappa, positions)
    window = torch.bmm(phi.unsqueeze(1).to(onehot.dtype), onehot).squeeze(1)
    return window, kappa, phi


def biased_weights(pi_logits, bias):
    """Mixture weights (..., M) at sampling bias `bias` (a number, or (B, 1) per row)."""
    return torch.softmax(pi_logits * (1 + bias), dim=-1)


def biased_sigmas(log_sigmas, bias):
    """Standard deviations at sampling bias `bias`: exp(log sigma - bias)."""
    return torch.exp(log_sigmas - bias)


def sample_point(y: torch.Tensor, noise: torch.Tensor, mixtures: int, bias) -> torch.Tensor:
    """Draw (B, 3) offsets (dx, dy, eos) from mixture params y (B, 1+6M) with noise (B, 4)
    (uniform for the component, two normals for the offset, uniform for the pen lift);
    bias is a number or a (B,) tensor (a bias per line)."""
    M = mixtures
    y = y.float()
    row_bias = bias.unsqueeze(1) if isinstance(bias, torch.Tensor) else bias     # (B, 1) or a number
    probs = biased_weights(y[:, 1:1 + M], row_bias)
    # the component whose cumulative probability first exceeds the uniform draw
    k = (probs.cumsum(1) < noise[:, :1]).sum(1, keepdim=True).clamp(max=M - 1)
    mx, my, lsx, lsy, rho_hat = y[:, 1 + M:].view(-1, 5, M).gather(2, k.unsqueeze(1).expand(-1, 5, 1)).squeeze(2).unbind(1)
    sx, sy = biased_sigmas(lsx, bias), biased_sigmas(lsy, bias)
    rho = torch.tanh(rho_hat)
    dx = mx + sx * noise[:, 1]
    dy = my + sy * (rho * noise[:, 1] + torch.sqrt(1 - rho * rho) * noise[:, 2])
    eos = (noise[:, 3] < torch.sigmoid(y[:, 0])).float()
    return torch.stack([dx, dy, eos], dim=1)
