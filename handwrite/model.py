"""Graves' handwriting-synthesis network (arXiv 1308.0850, section 5).

    x_t (dx, dy, eos) ──► LSTM1 ──► window ──► LSTM2 ──► LSTM3 ──► mixture density
                           ▲  └──────┬──────────┘   └──┬─────┘       ▲
                  w_{t-1} ─┘         └── skip connections: x_t and w_t feed every
                                         layer, h1..h3 all feed the output

The soft window w_t is a mixture of K Gaussians over character positions u whose
centres kappa only move forward: phi(t, u) = sum_k alpha_k exp(-beta_k (kappa_k - u)^2),
w_t = sum_u phi(t, u) c_u for one-hot characters c_u.  The output is a mixture of M
bivariate Gaussians over the next offset and a Bernoulli end-of-stroke probability.

Training reads whole sequences: LSTM1 and the window run step by step (the window
depends on LSTM1's state), then LSTM2 and LSTM3 over the whole sequence; on CPUs through
the hand-written recurrences of `recurrence.py`, elsewhere under autograd and `nn.LSTM`.
Sampling runs all of it one step at a time with `step`, on the same weights.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .choices import DEFAULT_HIDDEN
from .mixture import attention_window
from .recurrence import attention_sequence, lstm_sequence


@dataclass
class ModelConfig:
    alphabet_size: int = 80      # one-hot width: characters + 1 padding column
    hidden: int = DEFAULT_HIDDEN # cells per LSTM layer (3 layers)
    window_mixtures: int = 10    # K Gaussians in the attention window
    output_mixtures: int = 20    # M bivariate Gaussians in the output
    kappa_step: float = 0.1      # scale of the window's forward steps (chars per point)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**d)


class State:
    """Recurrent state for step-by-step sampling (all tensors have batch first)."""

    __slots__ = ("h1", "c1", "h2", "c2", "h3", "c3", "kappa", "window")

    def __init__(self, h1, c1, h2, c2, h3, c3, kappa, window):
        self.h1, self.c1, self.h2, self.c2, self.h3, self.c3 = h1, c1, h2, c2, h3, c3
        self.kappa, self.window = kappa, window

    def index(self, idx) -> "State":
        return State(*(getattr(self, n)[idx] for n in self.__slots__))


def _lstm_update(gates: torch.Tensor, c: torch.Tensor):
    """PyTorch gate order (i, f, g, o) -> new (h, c)."""
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


class HandwritingModel(nn.Module):
    # on CPUs, whole sequences run through handwrite.recurrence (hand-written backward);
    # False: the plain autograd loop and nn.LSTM, the reference the fused path is tested against
    fused_recurrence = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        H, V, K, M = config.hidden, config.alphabet_size, config.window_mixtures, config.output_mixtures
        self.lstm1 = nn.LSTMCell(3 + V, H)                       # input: x_t, w_{t-1}
        self.attention = nn.Linear(H, 3 * K)                     # alpha, beta, kappa steps
        self.lstm2 = nn.LSTM(3 + H + V, H, batch_first=True)     # input: x_t, h1_t, w_t
        self.lstm3 = nn.LSTM(3 + H + V, H, batch_first=True)     # input: x_t, h2_t, w_t
        self.output = nn.Linear(3 * H, 1 + 6 * M)                # eos, pi, mu(2), log sigma(2), rho
        with torch.no_grad():
            # start with broad windows that step about one character every ten points
            self.attention.bias.zero_()
            self.attention.bias[K:2 * K].fill_(-2.0)
            for lstm_bias in (self.lstm1.bias_hh, self.lstm2.bias_hh_l0, self.lstm3.bias_hh_l0):
                lstm_bias[H:2 * H].fill_(1.0)                    # forget gates open

    # ---- the attention window -------------------------------------------------------
    def _window(self, h1, kappa, onehot, positions):
        """h1 (B, H), kappa (B, K), onehot (B, U, V) -> window (B, V), kappa, phi (B, U)."""
        return attention_window(self.attention(h1).float(), kappa, self.config.kappa_step, onehot, positions)

    def one_hot(self, chars: torch.Tensor) -> torch.Tensor:
        """(B, U) int codes (0 = padding) -> (B, U, V) float one-hots with padding all zero."""
        oh = F.one_hot(chars.long(), self.config.alphabet_size).float()
        oh[..., 0] = 0.0
        return oh

    # ---- whole sequences (training, NLL, reading a primer) ---------------------------
    def forward(self, x: torch.Tensor, chars: torch.Tensor, return_attention: bool = False,
                state: State | None = None):
        """x (B, T, 3) normalised offsets, chars (B, U) codes -> mixture params (B, T, 1+6M).

        With return_attention, also returns phi (B, T, U).  state: where the reading
        starts (e.g. after a primer's first points); None: a line's start.
        """
        onehot = self.one_hot(chars)
        positions = torch.arange(chars.shape[1], device=x.device, dtype=torch.float32)
        h, phi, _ = self._sequence(x, onehot, positions, state, return_attention)
        y = self.output(h)
        return (y, phi) if return_attention else y

    def read(self, x: torch.Tensor, onehot: torch.Tensor, positions: torch.Tensor, state: State) -> State:
        """Teacher-force strokes x (B, T, 3) from `state`; the state after the last one.

        What `step` would reach after T steps on the same points (priming), in far fewer
        operations: layers 2-3 run over the whole sequence at once.
        """
        return self._sequence(x, onehot, positions, state, False)[2]

    def _sequence(self, x, onehot, positions, state: State | None, return_attention: bool):
        """-> [h1, h2, h3] (B, T, 3H), phi (B, T, U) or None, final State.  state None: zeros."""
        # the fused path on CPUs (GPUs: cuDNN's LSTMs are faster), except to read one line
        # without gradients, where the plain loop's fewer writes per step win (docs/speed.md)
        one_line_read = x.shape[0] == 1 and not torch.is_grad_enabled()
        if self.fused_recurrence and x.device.type == "cpu" and not one_line_read:
            return self._sequence_fused(x, onehot, positions, state, return_attention)
        return self._sequence_plain(x, onehot, positions, state, return_attention)

    def _initial(self, x, state: State | None) -> State:
        """`state`, or for None the zero state of a line's start (in x's dtype and device)."""
        if state is not None:
            return state
        c, B = self.config, x.shape[0]
        zeros = [x.new_zeros(B, c.hidden) for _ in range(6)]                       # h1, c1 .. h3, c3
        return State(*zeros, x.new_zeros(B, c.window_mixtures), x.new_zeros(B, c.alphabet_size))

    def _sequence_fused(self, x, onehot, positions, state: State | None, return_attention: bool):
        """The same maths as _sequence_plain in far fewer operations (handwrite.recurrence):
        every input product over the whole sequence at once, hand-written backward passes."""
        s = self._initial(x, state)
        l1, l2, l3 = self.lstm1, self.lstm2, self.lstm3
        x_t = x.transpose(0, 1)                                                          # (T, B, 3)
        x_gates = F.linear(x_t, l1.weight_ih[:, :3], l1.bias_ih + l1.bias_hh)            # (T, B, 4H)
        w_rec = torch.cat([l1.weight_ih[:, 3:], l1.weight_hh], dim=1)                   # (4H, V+H)
        h1, w, c1, kappa, phi = attention_sequence(
            x_gates, w_rec, self.attention.weight, self.attention.bias, onehot, positions,
            s.h1, s.c1, s.kappa, s.window, self.config.kappa_step)
        x_t = x_t.to(h1.dtype)        # bf16 under autocast: the concatenations move half the bytes
        h2, c2 = self._lstm_layer(l2, torch.cat([x_t, h1, w], dim=-1), s.h2, s.c2)        # (T, B, H)
        h3, c3 = self._lstm_layer(l3, torch.cat([x_t, h2, w], dim=-1), s.h3, s.c3)
        final = State(h1[-1], c1, h2[-1], c2, h3[-1], c3, kappa, w[-1])
        h = torch.cat([h1, h2, h3], dim=-1).transpose(0, 1)                              # (B, T, 3H)
        return h, (phi.transpose(0, 1) if return_attention else None), final

    @staticmethod
    def _lstm_layer(lstm: nn.LSTM, inp, h0, c0):
        """nn.LSTM's maths on time-major inp (T, B, in) -> (T, B, H), c_T.

        Under autocast: one bf16 input product, then the fused recurrence (faster than
        nn.LSTM's bf16); in fp32, oneDNN's nn.LSTM is the faster (docs/speed.md)."""
        if not torch.is_autocast_enabled(inp.device.type):
            out, (_, c_n) = lstm(inp.transpose(0, 1), (h0[None], c0[None]))
            return out.transpose(0, 1), c_n[0]
        x_gates = F.linear(inp, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)   # (T, B, 4H)
        return lstm_sequence(x_gates, lstm.weight_hh_l0, h0, c0)

    def _sequence_plain(self, x, onehot, positions, state: State | None, return_attention: bool):
        """The reference: LSTM1 and the window step by step under autograd, then nn.LSTMs."""
        B, T, _ = x.shape
        H, V, K = self.config.hidden, self.config.alphabet_size, self.config.window_mixtures
        w_ih = self.lstm1.weight_ih
        # x-part of LSTM1's gates for every step at once; per step only [w, h] remains
        x_gates = F.linear(x, w_ih[:, :3], self.lstm1.bias_ih + self.lstm1.bias_hh)   # (B, T, 4H)
        w_rec = torch.cat([w_ih[:, 3:], self.lstm1.weight_hh], dim=1)                 # (4H, V+H)
        if state is None:
            h, c = x.new_zeros(B, H), x.new_zeros(B, H)
            kappa, window = x.new_zeros(B, K), x.new_zeros(B, V)
            hx2 = hx3 = None
        else:
            h, c, kappa, window = state.h1, state.c1, state.kappa, state.window
            hx2 = (state.h2.unsqueeze(0), state.c2.unsqueeze(0))
            hx3 = (state.h3.unsqueeze(0), state.c3.unsqueeze(0))
        hs, ws, phis = [], [], []
        for x_gates_t in x_gates.unbind(1):   # unbind: one backward op, not T slice-scatters
            gates = x_gates_t + F.linear(torch.cat([window, h], dim=1), w_rec)
            h, c = _lstm_update(gates.float(), c)
            window, kappa, phi = self._window(h, kappa, onehot, positions)
            hs.append(h)
            ws.append(window)
            if return_attention:
                phis.append(phi)
        h1 = torch.stack(hs, 1)                                                        # (B, T, H)
        w = torch.stack(ws, 1)                                                         # (B, T, V)
        h2, (h2_n, c2_n) = self.lstm2(torch.cat([x, h1, w], dim=-1), hx2)
        h3, (h3_n, c3_n) = self.lstm3(torch.cat([x, h2, w], dim=-1), hx3)
        final = State(h, c, h2_n[0], c2_n[0], h3_n[0], c3_n[0], kappa, window)
        return torch.cat([h1, h2, h3], dim=-1), (torch.stack(phis, 1) if return_attention else None), final

    # ---- one step (sampling, priming) ------------------------------------------------
    def initial_state(self, batch: int, device=None) -> State:
        H, V, K = self.config.hidden, self.config.alphabet_size, self.config.window_mixtures
        z = lambda n: torch.zeros(batch, n, device=device)  # noqa: E731
        return State(z(H), z(H), z(H), z(H), z(H), z(H), z(K), z(V))

    def step(self, x: torch.Tensor, state: State, onehot: torch.Tensor, positions: torch.Tensor):
        """x (B, 3), onehot (B, U, V) -> mixture params (B, 1+6M), new State, phi (B, U)."""
        l1 = self.lstm1
        gates = F.linear(torch.cat([x, state.window], 1), l1.weight_ih, l1.bias_ih) + F.linear(state.h1, l1.weight_hh, l1.bias_hh)
        h1, c1 = _lstm_update(gates, state.c1)
        window, kappa, phi = self._window(h1, state.kappa, onehot, positions)
        h2, c2 = self._cell(self.lstm2, torch.cat([x, h1, window], 1), state.h2, state.c2)
        h3, c3 = self._cell(self.lstm3, torch.cat([x, h2, window], 1), state.h3, state.c3)
        y = self.output(torch.cat([h1, h2, h3], 1))
        return y, State(h1, c1, h2, c2, h3, c3, kappa, window), phi

    @staticmethod
    def _cell(lstm: nn.LSTM, inp, h, c):
        gates = F.linear(inp, lstm.weight_ih_l0, lstm.bias_ih_l0) + F.linear(h, lstm.weight_hh_l0, lstm.bias_hh_l0)
        return _lstm_update(gates, c)


# ---- the mixture density ---------------------------------------------------------------
def split_params(y: torch.Tensor, mixtures: int):
    """(..., 1+6M) -> eos_logit (...), pi_logits, mu_x, mu_y, log_sx, log_sy, rho_hat (..., M)."""
    M = mixtures
    eos = y[..., 0]
    pi, mx, my, lsx, lsy, rho = y[..., 1:].split(M, dim=-1)
    return eos, pi, mx, my, lsx, lsy, rho


def mdn_nll(y: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, mixtures: int) -> torch.Tensor:
    """Negative log-likelihood in nats of each target point: (B, T), zero where mask is 0.

    y (B, T, 1+6M) network output, target (B, T, 3) next (dx, dy, eos), mask (B, T).
    """
    y = y.float()
    eos_logit, pi, mx, my, lsx, lsy, rho_hat = split_params(y, mixtures)
    lsx, lsy = lsx.clamp(min=-8.0), lsy.clamp(min=-8.0)   # keep 1/sigma finite
    rho = torch.tanh(rho_hat) * (1 - 1e-4)
    dx, dy, eos = target[..., 0:1], target[..., 1:2], target[..., 2]
    zx = (dx - mx) * torch.exp(-lsx)
    zy = (dy - my) * torch.exp(-lsy)
    one_m_rho2 = 1 - rho * rho
    z = zx * zx + zy * zy - 2 * rho * zx * zy
    log_n = -math.log(2 * math.pi) - lsx - lsy - 0.5 * torch.log(one_m_rho2) - z / (2 * one_m_rho2)
    log_mix = torch.logsumexp(torch.log_softmax(pi, dim=-1) + log_n, dim=-1)
    log_eos = -F.binary_cross_entropy_with_logits(eos_logit, eos, reduction="none")
    return -(log_mix + log_eos) * mask


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
