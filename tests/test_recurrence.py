"""The fused whole-sequence recurrences (handwrite.recurrence) against the plain autograd path.

Tolerances, fp32 on tiny models: the fused path's loss equals the plain one's within 1e-6
relative, every parameter gradient within 1e-6 absolute + 1e-5 relative (measured: ~5e-8);
lstm_sequence equals nn.LSTM within the same.  In float64 both hand-written backward passes
pass torch.autograd.gradcheck; under bf16 autocast the two paths agree within 1%.
"""
from __future__ import annotations

import pytest
import torch

from handwrite import cpu
from handwrite.model import HandwritingModel, ModelConfig, mdn_nll
from handwrite.recurrence import attention_sequence, lstm_sequence

CONFIG = ModelConfig(alphabet_size=12, hidden=16, window_mixtures=3, output_mixtures=4)


def batch(B=3, T=25, U=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, 3, generator=g)
    x[..., 2] = (torch.rand(B, T, generator=g) < 0.2).float()
    target = torch.randn(B, T, 3, generator=g)
    target[..., 2] = (torch.rand(B, T, generator=g) < 0.2).float()
    chars = torch.randint(1, CONFIG.alphabet_size, (B, U), generator=g)
    chars[-1, U - 2:] = 0                          # padding in the last line
    mask = torch.ones(B, T)
    mask[-1, T - 5:] = 0                           # and a shorter last line
    return x, target, chars, mask


def loss_and_grads(model, fused: bool, bf16: bool = False):
    x, target, chars, mask = batch()
    model.fused_recurrence = fused
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y, phi = model(x, chars, return_attention=True)
    loss = mdn_nll(y, target, mask, CONFIG.output_mixtures).sum() / mask.sum()
    loss.backward()
    return loss.detach(), phi, {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.fixture
def model():
    torch.manual_seed(0)
    return HandwritingModel(CONFIG).train()


def test_fused_training_equals_plain_in_fp32(model):
    loss_p, phi_p, grads_p = loss_and_grads(model, fused=False)
    loss_f, phi_f, grads_f = loss_and_grads(model, fused=True)
    torch.testing.assert_close(loss_f, loss_p, rtol=1e-6, atol=0)
    torch.testing.assert_close(phi_f, phi_p, rtol=1e-5, atol=1e-6)
    assert grads_f.keys() == grads_p.keys()
    for name in grads_p:
        assert grads_p[name].abs().max() > 0, name            # every parameter is reached
        torch.testing.assert_close(grads_f[name], grads_p[name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.skipif(not cpu.has_bf16(), reason="no bf16 instructions on this CPU: oneDNN has no bf16 "
                    "nn.LSTM here (and training runs in fp32, train.mixed_precision_here)")
def test_fused_training_close_to_plain_under_bf16_autocast(model):
    """bf16 products on both sides, rounded in different places: close, not equal."""
    loss_p, _, grads_p = loss_and_grads(model, fused=False, bf16=True)
    loss_f, _, grads_f = loss_and_grads(model, fused=True, bf16=True)
    torch.testing.assert_close(loss_f, loss_p, rtol=1e-2, atol=0)
    for name in grads_p:
        cos = torch.nn.functional.cosine_similarity(grads_f[name].flatten(), grads_p[name].flatten(), dim=0)
        assert cos > 0.99, (name, cos.item())


@torch.no_grad()
def test_fused_read_from_a_state_equals_plain(model):
    """Reading a primer from a non-zero state (what sampling does) reaches the same state."""
    model.eval()
    x, _, chars, _ = batch(B=2, T=12, U=5)
    onehot = model.one_hot(chars)
    positions = torch.arange(5, dtype=torch.float32)
    start = model.initial_state(2)
    for t in range(3):
        _, start, _ = model.step(x[:, t], start, onehot, positions)
    finals = []
    for fused in (False, True):
        model.fused_recurrence = fused
        finals.append(model.read(x[:, 3:], onehot, positions, start))
    for name in finals[0].__slots__:
        torch.testing.assert_close(getattr(finals[1], name), getattr(finals[0], name),
                                   rtol=1e-5, atol=1e-6, msg=name)


def test_lstm_sequence_gradcheck():
    g = torch.Generator().manual_seed(0)
    T, B, H = 4, 2, 3
    args = [torch.randn(T, B, 4 * H, generator=g), 0.5 * torch.randn(4 * H, H, generator=g),
            torch.randn(B, H, generator=g).tanh(), torch.randn(B, H, generator=g)]
    args = [a.double().requires_grad_() for a in args]
    assert torch.autograd.gradcheck(lambda *a: lstm_sequence(*a), args)


def test_attention_sequence_gradcheck():
    """All inputs that carry gradients, the initial state included, in float64."""
    g = torch.Generator().manual_seed(0)
    T, B, H, V, K, U = 4, 2, 3, 5, 2, 4
    chars = torch.randint(1, V, (B, U), generator=g)
    onehot = torch.nn.functional.one_hot(chars, V).double()
    positions = torch.arange(U, dtype=torch.float64)
    diff = [torch.randn(T, B, 4 * H, generator=g), 0.5 * torch.randn(4 * H, V + H, generator=g),
            0.5 * torch.randn(3 * K, H, generator=g), torch.randn(3 * K, generator=g),
            torch.randn(B, H, generator=g).tanh(), torch.randn(B, H, generator=g),
            torch.rand(B, K, generator=g) * U, torch.rand(B, V, generator=g)]
    diff = [a.double().requires_grad_() for a in diff]

    def run(x_gates, w_rec, att_w, att_b, h0, c0, kappa0, w0):
        hs, ws, c, kappa, _ = attention_sequence(x_gates, w_rec, att_w, att_b, onehot, positions,
                                                 h0, c0, kappa0, w0, 0.3)
        return hs, ws, c, kappa
    assert torch.autograd.gradcheck(run, diff)


def test_lstm_sequence_equals_nn_lstm_in_fp32():
    """Layers 2-3 use lstm_sequence under autocast; in fp32 it is nn.LSTM's maths too."""
    torch.manual_seed(0)
    T, B, n_in, H = 9, 3, 7, 5
    lstm = torch.nn.LSTM(n_in, H)
    inp = torch.randn(T, B, n_in, requires_grad=True)
    h0, c0 = torch.randn(B, H).tanh(), torch.randn(B, H)
    out_ref, (_, c_ref) = lstm(inp, (h0[None], c0[None]))
    (out_ref.square().sum() + c_ref.sum()).backward()
    grads_ref = [inp.grad.clone()] + [p.grad.clone() for p in lstm.parameters()]
    inp.grad = None
    lstm.zero_grad()
    x_gates = torch.nn.functional.linear(inp, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)
    out, c = lstm_sequence(x_gates, lstm.weight_hh_l0, h0, c0)
    (out.square().sum() + c.sum()).backward()
    grads = [inp.grad] + [p.grad for p in lstm.parameters()]
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c, c_ref[0], rtol=1e-5, atol=1e-6)
    for g, g_ref in zip(grads, grads_ref):
        torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-6)


def test_reused_buffers_never_leak_into_a_result(model, monkeypatch):
    """The recurrences reuse their (T, B, ...) buffers from call to call (`Lease`): what a
    buffer held before must never reach a loss or a gradient.  Every free buffer is filled
    with NaN first, and the loss and gradients must be finite and the same bits as with
    fresh buffers, in fp32 and under bf16 autocast.  (Session 6 found NaN batch losses in
    bf16 fine-tunes, which came and went between runs of the same batches; the window's
    small product now runs in fp32, and this guards the buffers' side of it.)"""
    import handwrite.recurrence as recurrence
    for bf16 in (False, True):
        fresh = recurrence._Workspace()
        monkeypatch.setattr(recurrence, "WORKSPACE", fresh)
        monkeypatch.setattr(fresh, "SMALL", 1)             # the tiny model's buffers come from it too
        loss_ref, _, grads_ref = loss_and_grads(model, fused=True, bf16=bf16)
        for dtype in (torch.float32, torch.bfloat16):
            fresh.free[(dtype, torch.device("cpu"))] = [
                torch.full((4096,), float("nan"), dtype=dtype) for _ in range(fresh.KEEP)]
        loss, _, grads = loss_and_grads(model, fused=True, bf16=bf16)
        assert torch.isfinite(loss)
        torch.testing.assert_close(loss, loss_ref, rtol=0, atol=0)
        for name in grads_ref:
            assert torch.isfinite(grads[name]).all(), name
            torch.testing.assert_close(grads[name], grads_ref[name], rtol=0, atol=0, msg=name)
