"""Whole-sequence LSTM recurrences with hand-written backward passes (training, reading).

Autograd over a Python loop of T steps records ~40 small operations per step and
replays them one by one backwards, each with its own bookkeeping.  The two
`torch.autograd.Function`s here run the same maths in fewer, larger operations: the
forward loop writes what the backward needs into preallocated (T, ...) rows (reused
from call to call: `Lease`), the reverse loop works on one step's (B, ...) slices at a
time, so that they stay in the core's cache, and each weight gradient is one large
matrix product after it (not T small ones).

    lstm_sequence        one LSTM layer, given its input part of the gates (layers 2-3)
    attention_sequence   LSTM1 + the soft attention window (the window feeds back into
                         LSTM1's next step, so the two form one recurrence)

Tensors are time-major, (T, B, ...).  The input part of the gates (x @ W_ih + bias for
every step) is computed by the caller in one product, under autograd, so its gradient
(dx, dW_ih) is one large product too.  Under autocast the per-step products run in its
dtype (bf16, as nn.LSTM's would) and the state and gate arithmetic in fp32; otherwise
both in the input's dtype (float64 for gradcheck).  PyTorch's gate order (i, f, g, o).
"""
from __future__ import annotations

import math
import threading

import torch
import torch.nn.functional as F


# exp of anything below about -87 is a denormal or 0, which x86 CPUs compute many times slower
# than a normal result (most of the window bumps' positions are far from the window;
# docs/speed.md); e^-87 = 1.6e-38 weighs nothing next to any character the window is on,
# and its gradient as little
EXP_FLOOR = -87.0


def _dtypes(x: torch.Tensor) -> tuple[torch.dtype, torch.dtype]:
    """(dtype of the per-step products, dtype of the state and gate arithmetic) for input x:
    under autocast (CPU or CUDA) its dtype (bf16) and fp32, else x's dtype for both."""
    for device_type in ("cpu", "cuda"):
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type), torch.float32
    return x.dtype, x.dtype


# ---- buffers reused from call to call ---------------------------------------------------
class _Workspace:
    """Large buffers kept from one call to the next.

    A fresh buffer of 100+ MB comes from the OS page by page, and on a small VM its first
    writes (page faults) cost more than the arithmetic done in it.  A `Lease`'s buffers
    return here when the lease is freed, i.e. when nothing can read them any more (the
    backward pass ran and the graph is gone, or no backward will come), and the next call
    of any size up to theirs reuses them.
    """
    SMALL = 1 << 18          # elements; smaller buffers come from malloc's own free lists
    KEEP = 32                # free buffers kept per dtype and device (3 layers hold ~20)

    def __init__(self):
        self.free: dict[tuple, list[torch.Tensor]] = {}
        self.lock = threading.Lock()

    def take(self, numel: int, dtype, device) -> torch.Tensor:
        """A flat buffer of at least numel elements: the smallest free one that fits, or new."""
        if numel >= self.SMALL:
            with self.lock:
                # a buffer made under inference_mode cannot be written outside it (and a
                # normal one would be written inside it as a view with a version counter): kept apart
                free = self.free.get((dtype, device, torch.is_inference_mode_enabled()), [])
                fits = [i for i, b in enumerate(free) if b.numel() >= numel]
                if fits:
                    return free.pop(min(fits, key=lambda i: free[i].numel()))
            numel = int(numel * 1.25)        # headroom: the next batch may be a little longer
        return torch.empty(numel, dtype=dtype, device=device)

    def give_back(self, buffers) -> None:
        with self.lock:
            for b in buffers:
                if b.numel() >= self.SMALL:
                    free = self.free.setdefault((b.dtype, b.device, b.is_inference()), [])
                    free.append(b)
                    if len(free) > self.KEEP:
                        free.pop(min(range(len(free)), key=lambda i: free[i].numel()))


WORKSPACE = _Workspace()


class Lease:
    """Buffers taken from WORKSPACE, given back when this object is freed."""

    def __init__(self, device):
        self.device, self.buffers = device, []

    def new(self, *shape, dtype) -> torch.Tensor:
        flat = WORKSPACE.take(math.prod(shape), dtype, self.device)
        self.buffers.append(flat)
        return flat[:math.prod(shape)].view(shape)

    def __del__(self):
        WORKSPACE.give_back(self.buffers)


# ---- the LSTM cell, shared by both recurrences ------------------------------------------
class _CellRecord:
    """What an LSTM layer's forward pass keeps of each step for its backward pass.

    (T, B, ...) rows in the state dtype (fp32 under autocast), written by `forward`, held
    by `lease`.  `backward` works on one step at a time, so that its (B, H) operands stay
    in the core's cache (on a 2-core VM the same arithmetic over whole (T, B, H) tensors
    runs at memory speed, several times slower).
    """

    def __init__(self, T, B, H, dtype, lease: Lease):
        new = lambda *shape: lease.new(*shape, dtype=dtype)  # noqa: E731
        self.lease = lease
        self.sig = new(T, B, 4 * H)          # sigmoid of all gates (the g quarter unused)
        self.tanh_g = new(T, B, H)
        self.c = new(T + 1, B, H)            # c[0]: the initial cell
        self.tanh_c = new(T, B, H)
        self.H = H

    def forward(self, t, gates, h_out):
        """gates (B, 4H) of step t -> writes c_t and h_t (into h_out)."""
        H, sig, tanh_g, tanh_c = self.H, self.sig[t], self.tanh_g[t], self.tanh_c[t]
        gates = gates.to(sig.dtype)
        torch.sigmoid(gates, out=sig)              # one op for three gates beats three
        torch.tanh(gates[:, 2 * H:3 * H], out=tanh_g)
        i, f, o = sig[:, :H], sig[:, H:2 * H], sig[:, 3 * H:]
        torch.addcmul(f * self.c[t], i, tanh_g, out=self.c[t + 1])
        torch.tanh(self.c[t + 1], out=tanh_c)
        torch.mul(o, tanh_c, out=h_out)

    def backward(self, t, dh, dc, d_gates_out, scratch):
        """dh, dc (B, H) reaching h_t and c_t (dc: from step t+1) -> writes the gates'
        gradient (B, 4H) into d_gates_out; returns c_{t-1}'s gradient."""
        H, sig, tanh_g, tanh_c = self.H, self.sig[t], self.tanh_g[t], self.tanh_c[t]
        i, f, o = sig[:, :H], sig[:, H:2 * H], sig[:, 3 * H:]
        dh_o = dh * o
        dc = torch.addcmul(dc + dh_o, dh_o, tanh_c * tanh_c, value=-1)    # + dh o (1 - tanh(c)^2)
        torch.mul(dc, tanh_g, out=scratch[:, :H])                          # d i
        torch.mul(dc, self.c[t], out=scratch[:, H:2 * H])                  # d f
        torch.mul(dc, i, out=scratch[:, 2 * H:3 * H])                      # d g
        torch.mul(dh, tanh_c, out=scratch[:, 3 * H:])                      # d o
        slope = torch.addcmul(sig, sig, sig, value=-1)                     # sigmoid' = s (1 - s)
        torch.addcmul(self.ones(dh), tanh_g, tanh_g, value=-1, out=slope[:, 2 * H:3 * H])  # tanh'
        torch.mul(scratch, slope, out=d_gates_out)
        return dc * f

    def ones(self, like):
        if getattr(self, "_ones", None) is None or self._ones.shape != like.shape:
            self._ones = torch.ones_like(like)
        return self._ones


# ---- one LSTM layer ----------------------------------------------------------------------
class _LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_gates, w_hh, h0, c0, mm_dtype, dtype):
        with torch.autocast(x_gates.device.type, enabled=False):
            T, B, H4 = x_gates.shape
            H = H4 // 4
            ctx.x_dtype = x_gates.dtype
            x_gates = x_gates.to(mm_dtype)
            w_hh_t = w_hh.detach().t().to(mm_dtype)                    # (H, 4H)
            cell = _CellRecord(T, B, H, dtype, Lease(x_gates.device))
            hs = cell.hs = cell.lease.new(T + 1, B, H, dtype=mm_dtype)   # hs[0] = h0
            hs[0], cell.c[0] = h0, c0
            for t in range(T):
                cell.forward(t, torch.addmm(x_gates[t], hs[t], w_hh_t), hs[t + 1])
            ctx.save_for_backward(w_hh)
            ctx.cell, ctx.mm_dtype = cell, mm_dtype   # the buffers, not saved tensors: see Lease
            return hs[1:].clone(), cell.c[T].clone()

    @staticmethod
    def backward(ctx, d_hs, d_c_last):
        w_hh, = ctx.saved_tensors
        cell = ctx.cell
        hs = cell.hs
        with torch.autocast(hs.device.type, enabled=False):
            T, B, H = d_hs.shape
            d_hs, dc = d_hs.to(cell.c.dtype), d_c_last.to(cell.c.dtype)
            w_hh_m = w_hh.detach().to(ctx.mm_dtype)                    # (4H, H)
            d_gates = hs.new_empty(T, B, 4 * H)                        # mm_dtype
            scratch = d_hs.new_empty(B, 4 * H)
            dh_rec = d_hs.new_zeros(B, H)                              # from step t+1's gates
            for t in range(T - 1, -1, -1):
                dc = cell.backward(t, d_hs[t] + dh_rec, dc, d_gates[t], scratch)
                dh_rec = torch.mm(d_gates[t], w_hh_m)
            # dW_hh = sum over steps and lines of d_gates^T h_{t-1}: one product
            d_w_hh = torch.mm(d_gates.view(T * B, 4 * H).t(), hs[:-1].reshape(T * B, H))
            return d_gates.to(ctx.x_dtype), d_w_hh.to(w_hh.dtype), dh_rec.to(dc.dtype), dc, None, None


def lstm_sequence(x_gates, w_hh, h0, c0):
    """x_gates (T, B, 4H) input part of the gates (bias included), w_hh (4H, H), h0, c0 (B, H)
    -> hs (T, B, H), c_T (B, H).  Same as nn.LSTM on the same weights."""
    return _LSTMSequence.apply(x_gates, w_hh, h0, c0, *_dtypes(x_gates))


# ---- LSTM1 + the attention window --------------------------------------------------------
class _AttentionSequence(torch.autograd.Function):
    """LSTM1 reads z_t = [w_{t-1}, h_{t-1}] through w_rec (4H, V+H); the window w_t is
    computed from h_t (see HandwritingModel._window for the maths)."""

    @staticmethod
    def forward(ctx, x_gates, w_rec, att_w, att_b, onehot, positions, h0, c0, kappa0, w0,
                kappa_step, mm_dtype, dtype):
        with torch.autocast(x_gates.device.type, enabled=False):
            T, B, H4 = x_gates.shape
            H, V, K, U = H4 // 4, w0.shape[1], kappa0.shape[1], positions.shape[0]
            ctx.x_dtype = x_gates.dtype
            x_gates, onehot = x_gates.to(mm_dtype), onehot.to(dtype)
            w_rec_t = w_rec.detach().t().to(mm_dtype)                 # (V+H, 4H)
            # the window's small product (N = 3K) in the state dtype: under bf16 autocast, oneDNN's
            # bf16 kernel for it, on a strided slice of z, returned NaN now and then on an AMX Xeon
            # (it varied from run to run with the same inputs); in fp32 it never did, at about the same cost
            att_w_t, att_b = att_w.detach().t().to(dtype), att_b.detach().to(dtype)
            cell = _CellRecord(T, B, H, dtype, Lease(x_gates.device))
            new = lambda *shape: cell.lease.new(*shape, dtype=dtype)  # noqa: E731
            z = cell.lease.new(T + 1, B, V + H, dtype=mm_dtype)        # z[t] = [w_{t-1}, h_{t-1}]
            att = new(T, B, 3 * K)                                     # alpha, beta, kappa-step logits
            alpha_beta = new(T, B, 2 * K)
            kappas = new(T + 1, B, K)
            bumps = new(T, B, K, U)                                    # exp(-beta (kappa - u)^2)
            phis = onehot.new_empty(T, B, U)                           # an output: not leased
            z[0, :, :V], z[0, :, V:], cell.c[0], kappas[0] = w0, h0, c0, kappa0
            for t in range(T):
                h = z[t + 1, :, V:]
                cell.forward(t, torch.addmm(x_gates[t], z[t], w_rec_t), h)
                torch.addmm(att_b, h.to(dtype), att_w_t, out=att[t])
                torch.exp(att[t, :, :2 * K], out=alpha_beta[t])
                torch.add(kappas[t], F.softplus(att[t, :, 2 * K:]), alpha=kappa_step, out=kappas[t + 1])
                dist2 = (kappas[t + 1].unsqueeze(-1) - positions).square_()                 # (B, K, U)
                exponent = dist2.mul_(alpha_beta[t, :, K:].neg().unsqueeze(-1)).clamp_(min=EXP_FLOOR)
                torch.exp(exponent, out=bumps[t])
                torch.bmm(alpha_beta[t, :, None, :K], bumps[t], out=phis[t].unsqueeze(1))   # (B, 1, U)
                z[t + 1, :, :V] = torch.bmm(phis[t].unsqueeze(1), onehot).squeeze(1)       # (B, V)
            ctx.save_for_backward(w_rec, att_w, onehot, positions)
            ctx.cell, ctx.kappa_step, ctx.mm_dtype = cell, kappa_step, mm_dtype   # see Lease
            ctx.window = z, att, alpha_beta, kappas, bumps
            ctx.mark_non_differentiable(phis)
            return z[1:, :, V:].clone(), z[1:, :, :V].clone(), cell.c[T].clone(), kappas[T].clone(), phis

    @staticmethod
    def backward(ctx, d_hs, d_ws, d_c_last, d_kappa_last, _d_phis):
        w_rec, att_w, onehot, positions = ctx.saved_tensors
        cell, (z, att, alpha_beta, kappas, bumps) = ctx.cell, ctx.window
        with torch.autocast(z.device.type, enabled=False):
            T, B, H = d_hs.shape
            V, K = d_ws.shape[-1], kappas.shape[-1]
            dtype = cell.c.dtype
            d_hs, d_ws, dc, d_kappa = (d.to(dtype) for d in (d_hs, d_ws, d_c_last, d_kappa_last))
            window = _WindowGrads(att, alpha_beta, kappas, bumps, positions, ctx.kappa_step)
            w_rec_m = w_rec.detach().to(ctx.mm_dtype)                  # (4H, V+H)
            att_w = att_w.detach().to(dtype)                           # (3K, H)
            d_gates = z.new_empty(T, B, 4 * H)                         # mm_dtype
            d_att = d_hs.new_empty(T, B, 3 * K)
            scratch = d_hs.new_empty(B, 4 * H)
            dz = d_hs.new_zeros(B, V + H)                              # from step t+1's gates
            for t in range(T - 1, -1, -1):
                d_phi = torch.bmm(onehot, (d_ws[t] + dz[:, :V]).unsqueeze(-1))          # (B, U, 1)
                d_kappa = window.backward(t, d_phi, d_kappa, d_att[t])
                dh = torch.addmm(d_hs[t] + dz[:, V:], d_att[t], att_w)
                dc = cell.backward(t, dh, dc, d_gates[t], scratch)
                dz = torch.mm(d_gates[t], w_rec_m)
            flat = lambda a: a.reshape(T * B, a.shape[-1])  # noqa: E731
            d_w_rec = torch.mm(flat(d_gates).t(), flat(z[:-1]))
            d_att_w = flat(d_att).t() @ flat(z[1:, :, V:]).to(dtype)
            d_att_b = flat(d_att).sum(0)
            return (d_gates.to(ctx.x_dtype), d_w_rec.to(w_rec.dtype), d_att_w, d_att_b, None, None,
                    dz[:, V:].to(dtype), dc, d_kappa, dz[:, :V].to(dtype), None, None, None)


class _WindowGrads:
    """The window's backward pass, one step at a time.

    phi_u = sum_k alpha_k e_ku with e_ku = exp(-beta_k d_ku^2), d_ku = kappa_k - u.
    Given d_phi (B, U), the three sums S_n = sum_u d_phi_u alpha_k e_ku d_ku^n give
    every gradient: d alpha-logit = S0, d beta-logit = -beta S2, kappa_t gets -2 beta S1
    (plus what kappa_{t+1} passes back), d kappa-step-logit = d kappa_t * step * sigmoid.
    The sums are one batched product per step, of [alpha e, alpha e d^2, alpha e d] (B, 3K, U).
    """

    def __init__(self, att, alpha_beta, kappas, bumps, positions, kappa_step):
        T, B, K, U = bumps.shape
        self.K, self.kappas, self.bumps, self.positions = K, kappas, bumps, positions
        self.alpha = alpha_beta[..., :K].unsqueeze(-1)                     # (T, B, K, 1)
        self.neg_beta = -alpha_beta[..., K:]                               # (T, B, K): small,
        self.kappa_logit = kappa_step * torch.sigmoid(att[..., 2 * K:])    # so all steps at once
        self.moments = bumps.new_empty(B, 3 * K, U)

    def backward(self, t, d_phi, d_kappa, d_att_out):
        """d_phi (B, U, 1) -> writes d att-logits (B, 3K) into d_att_out; returns d kappa_{t-1}."""
        K, m = self.K, self.moments
        dist = self.kappas[t + 1].unsqueeze(-1) - self.positions                    # (B, K, U)
        torch.mul(self.bumps[t], self.alpha[t], out=m[:, :K])
        torch.mul(m[:, :K], dist, out=m[:, 2 * K:])
        torch.mul(m[:, 2 * K:], dist, out=m[:, K:2 * K])
        sums = torch.bmm(m, d_phi).squeeze(-1)                                      # (B, 3K): S0, S2, S1
        d_kappa = torch.addcmul(d_kappa, self.neg_beta[t], sums[:, 2 * K:], value=2)
        d_att_out[:, :K] = sums[:, :K]
        torch.mul(sums[:, K:2 * K], self.neg_beta[t], out=d_att_out[:, K:2 * K])
        torch.mul(d_kappa, self.kappa_logit[t], out=d_att_out[:, 2 * K:])
        return d_kappa


def attention_sequence(x_gates, w_rec, att_w, att_b, onehot, positions, h0, c0, kappa0, w0, kappa_step):
    """LSTM1 and the window over T steps.

    x_gates (T, B, 4H) input part of LSTM1's gates (both biases included), w_rec (4H, V+H)
    LSTM1's weights for [w_{t-1}, h_{t-1}], att_w (3K, H) and att_b (3K,) the window's
    layer, onehot (B, U, V), positions (U,), initial h0, c0 (B, H), kappa0 (B, K), w0 (B, V)
    -> hs (T, B, H), windows (T, B, V), c_T (B, H), kappa_T (B, K), phis (T, B, U).
    """
    return _AttentionSequence.apply(x_gates, w_rec, att_w, att_b, onehot, positions,
                                    h0, c0, kappa0, w0, kappa_step, *_dtypes(x_gates))
