"""Drawing pen offsets from the network, one step at a time, for a batch of lines.

Biased sampling (Graves, section 5.4): sigma = exp(log_sigma - b) and
pi = softmax(pi_logits * (1 + b)); b = 0 samples the model as trained, larger b gives
neater, more regular writing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model import HandwritingModel, State, split_params

STEPS_PER_CHAR = 30      # hard cap on the length of a line, per character (typical: ~8)
MIN_STEPS = 60


@dataclass
class SampledLine:
    offsets: np.ndarray      # (T, 3) normalised (dx, dy, eos); row 0 is the start
    phi: np.ndarray          # (T, U) attention weights of each step over the characters
    finished: bool           # the window passed the last character before the step cap


def sample_point(y: torch.Tensor, mixtures: int, bias: float, generator: torch.Generator) -> torch.Tensor:
    """Draw (B, 3) offsets from mixture params y (B, 1+6M)."""
    eos_logit, pi, mx, my, lsx, lsy, rho_hat = split_params(y.float(), mixtures)
    probs = torch.softmax(pi * (1 + bias), dim=-1)
    k = torch.multinomial(probs, 1, generator=generator)                # (B, 1)
    pick = lambda t: t.gather(1, k).squeeze(1)                          # noqa: E731
    mx, my = pick(mx), pick(my)
    sx, sy = torch.exp(pick(lsx) - bias), torch.exp(pick(lsy) - bias)
    rho = torch.tanh(pick(rho_hat))
    z = torch.randn(y.shape[0], 2, generator=generator, dtype=torch.float32)
    dx = mx + sx * z[:, 0]
    dy = my + sy * (rho * z[:, 0] + torch.sqrt(1 - rho * rho) * z[:, 1])
    eos = (torch.rand(y.shape[0], generator=generator) < torch.sigmoid(eos_logit)).float()
    return torch.stack([dx, dy, eos], dim=1)


@torch.inference_mode()
def prime(model: HandwritingModel, state: State, strokes: torch.Tensor, onehot, positions) -> tuple[State, torch.Tensor]:
    """Run the network through given (B, T, 3) normalised offsets; returns state and last input."""
    x = strokes[:, 0]
    for t in range(strokes.shape[1] - 1):
        _, state, _ = model.step(x, state, onehot, positions)
        x = strokes[:, t + 1]
    return state, x


@torch.inference_mode()
def sample_lines(model: HandwritingModel, codes: list[list[int]], *, bias: float = 0.75,
                 seed: int | None = None, primer: tuple[np.ndarray, list[int]] | None = None,
                 max_steps: int | None = None) -> list[SampledLine]:
    """Sample one line of handwriting per code list, all lines as one batch.

    primer: (normalised offsets (T, 3), codes of the primer's text); the network reads
    them first and each line's text is then primer text + " " + line text.
    """
    if not codes or any(len(c) == 0 for c in codes):
        raise ValueError("every line needs at least one character")
    generator = torch.Generator().manual_seed(int(seed) if seed is not None else int(torch.randint(0, 2**62, (1,))))
    B = len(codes)
    offset = 0
    if primer is not None:
        p_offsets, p_codes = primer
        full = [list(p_codes) + c for c in codes]
        offset = len(p_codes)
    else:
        full = [list(c) for c in codes]
    lengths = torch.tensor([len(c) for c in full])
    U = int(lengths.max()) + 1                                   # +1: the position past the end
    chars = torch.zeros(B, U, dtype=torch.long)
    for b, c in enumerate(full):
        chars[b, :len(c)] = torch.tensor(c)
    onehot = model.one_hot(chars)
    positions = torch.arange(U, dtype=torch.float32)
    state = model.initial_state(B)
    x = torch.zeros(B, 3)
    if primer is not None:
        prim = torch.from_numpy(np.asarray(p_offsets, np.float32)).unsqueeze(0).expand(B, -1, -1)
        state, x = prime(model, state, prim, onehot, positions)
    line_lengths = lengths - offset
    caps = (line_lengths * STEPS_PER_CHAR).clamp(min=MIN_STEPS)
    if max_steps is not None:
        caps = caps.clamp(max=max_steps)
    past_end = torch.arange(U).unsqueeze(0) > lengths.unsqueeze(1)   # (B, U) cells after the virtual end

    out_x = [[] for _ in range(B)]
    out_phi = [[] for _ in range(B)]
    finished = [False] * B
    alive = torch.arange(B)                                        # rows of the batch still writing
    step = 0
    while len(alive):
        y, state, phi = model.step(x, state, onehot, positions)
        x = sample_point(y, model.config.output_mixtures, bias, generator)
        step += 1
        # a line is done when the window weighs the virtual position past its end the most
        masked = phi.masked_fill(past_end[alive], -1.0)
        done = masked.argmax(dim=1) == lengths[alive]
        capped = step >= caps[alive]
        for j, b in enumerate(alive.tolist()):
            out_x[b].append(x[j].numpy().copy())
            out_phi[b].append(phi[j, offset:].numpy().copy())
            if done[j]:
                finished[b] = True
        stop = done | capped
        if stop.any():
            keep = (~stop).nonzero().squeeze(1)
            alive = alive[keep]
            state = state.index(keep)
            x, onehot = x[keep], onehot[keep]
    lines = []
    for b in range(B):
        offs = np.concatenate([np.zeros((1, 3), np.float32), np.stack(out_x[b])])
        offs[-1, 2] = 1.0                                         # the pen lifts at the end
        phis = np.stack(out_phi[b])
        lines.append(SampledLine(offs, phis[:, :int(line_lengths[b])], finished[b]))
    return lines
