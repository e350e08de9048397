"""The synthesis network: shapes, step == forward, and the mixture-density loss."""
from __future__ import annotations

import math

import pytest
import torch

from handwrite.model import HandwritingModel, ModelConfig, count_parameters, mdn_nll, split_params

CONFIG = ModelConfig(alphabet_size=12, hidden=16, window_mixtures=3, output_mixtures=4)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return HandwritingModel(CONFIG).eval()


def random_batch(B=2, T=15, U=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, 3, generator=g)
    x[..., 2] = (torch.rand(B, T, generator=g) < 0.2).float()
    x[:, 0] = 0.0                                    # the start row
    chars = torch.randint(1, CONFIG.alphabet_size, (B, U), generator=g)
    chars[-1, U - 2:] = 0                            # padding in the last line
    return x, chars


def test_forward_output_shapes(model):
    x, chars = random_batch(B=3, T=11, U=6)
    y = model(x, chars)
    assert y.shape == (3, 11, 1 + 6 * CONFIG.output_mixtures) and torch.isfinite(y).all()
    y2, phi = model(x, chars, return_attention=True)
    assert torch.equal(y, y2) and phi.shape == (3, 11, 6)
    assert (phi >= 0).all()


def test_step_output_shapes(model):
    x, chars = random_batch(B=3, U=6)
    onehot = model.one_hot(chars)
    positions = torch.arange(6, dtype=torch.float32)
    state = model.initial_state(3)
    y, state, phi = model.step(x[:, 0], state, onehot, positions)
    assert y.shape == (3, 1 + 6 * CONFIG.output_mixtures) and phi.shape == (3, 6)
    for name, width in [("h1", 16), ("c1", 16), ("h2", 16), ("c2", 16), ("h3", 16), ("c3", 16),
                        ("kappa", CONFIG.window_mixtures), ("window", CONFIG.alphabet_size)]:
        assert getattr(state, name).shape == (3, width), name
    sub = state.index(torch.tensor([2, 0]))
    assert torch.equal(sub.h3[0], state.h3[2]) and sub.kappa.shape == (2, CONFIG.window_mixtures)


def test_padding_one_hots_are_zero(model):
    oh = model.one_hot(torch.tensor([[3, 0, 1]]))
    assert oh.shape == (1, 3, CONFIG.alphabet_size)
    assert oh[0, 0, 3] == 1 and oh[0, 1].sum() == 0 and oh[0, 2, 1] == 1


@torch.no_grad()
def test_step_over_a_sequence_reproduces_forward(model):
    """Teacher forcing: feeding the true inputs one step at a time gives forward's outputs."""
    x, chars = random_batch(B=2, T=20, U=7)
    y_seq, phi_seq = model(x, chars, return_attention=True)
    onehot = model.one_hot(chars)
    positions = torch.arange(chars.shape[1], dtype=torch.float32)
    state = model.initial_state(2)
    ys, phis = [], []
    for t in range(x.shape[1]):
        y, state, phi = model.step(x[:, t], state, onehot, positions)
        ys.append(y)
        phis.append(phi)
    torch.testing.assert_close(torch.stack(ys, 1), y_seq, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(torch.stack(phis, 1), phi_seq, atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_window_only_moves_forward(model):
    x, chars = random_batch(B=2, T=30, U=7)
    onehot = model.one_hot(chars)
    positions = torch.arange(7, dtype=torch.float32)
    state = model.initial_state(2)
    kappas = []
    for t in range(30):
        _, state, _ = model.step(x[:, t], state, onehot, positions)
        kappas.append(state.kappa)
    k = torch.stack(kappas)
    assert (k[1:] >= k[:-1]).all()


def _reference_nll(y, target, mixtures):
    """Per-point NLL from torch.distributions: a mixture of bivariate normals + Bernoulli."""
    eos_logit, pi, mx, my, lsx, lsy, rho_hat = split_params(y, mixtures)
    sx, sy, rho = lsx.exp(), lsy.exp(), torch.tanh(rho_hat) * (1 - 1e-4)
    cov = torch.stack([torch.stack([sx * sx, rho * sx * sy], -1),
                       torch.stack([rho * sx * sy, sy * sy], -1)], -2)
    comp = torch.distributions.MultivariateNormal(torch.stack([mx, my], -1), covariance_matrix=cov)
    mix = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(logits=pi), comp)
    log_xy = mix.log_prob(target[..., :2])
    log_eos = torch.distributions.Bernoulli(logits=eos_logit).log_prob(target[..., 2])
    return -(log_xy + log_eos)


def test_mdn_nll_matches_an_independent_computation():
    torch.manual_seed(3)
    M = 4
    y = torch.randn(2, 9, 1 + 6 * M, dtype=torch.float64) * 0.7
    target = torch.randn(2, 9, 3, dtype=torch.float64)
    target[..., 2] = (target[..., 2] > 0.5).double()
    mask = torch.ones(2, 9, dtype=torch.float64)
    got = mdn_nll(y, target, mask, M).double()
    torch.testing.assert_close(got, _reference_nll(y.float(), target.float(), M).double(), atol=1e-4, rtol=1e-4)


def test_mdn_nll_is_zero_where_masked_and_finite_for_extreme_outputs():
    M = 4
    y = torch.randn(1, 6, 1 + 6 * M) * 50          # extreme sigmas, rhos and logits
    target = torch.randn(1, 6, 3) * 10
    target[..., 2] = 1.0
    mask = torch.tensor([[1, 1, 1, 0, 0, 0]], dtype=torch.float32)
    nll = mdn_nll(y, target, mask, M)
    assert torch.isfinite(nll).all()
    assert (nll[0, 3:] == 0).all()


def test_mdn_nll_of_an_untrained_model_is_positive_and_its_gradient_reaches_every_weight(model):
    model.train()
    x, chars = random_batch(B=2, T=12, U=5)
    target = torch.roll(x, -1, dims=1)
    mask = torch.ones(2, 12)
    mask[1, 8:] = 0
    nll = mdn_nll(model(x, chars), target, mask, CONFIG.output_mixtures)
    loss = nll.sum() / mask.sum()
    # normalised unit-variance offsets under a broad untrained mixture: about 2-5 nats a point
    assert torch.isfinite(loss) and 1.0 < loss.item() < 10.0
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_a_sharper_fit_has_lower_nll():
    """Moving the mixture onto the targets lowers the loss: the sign of the loss is right."""
    M = 1
    target = torch.tensor([[[0.5, -0.2, 0.0]]])
    mask = torch.ones(1, 1)
    far = torch.zeros(1, 1, 1 + 6 * M)
    near = far.clone()
    near[..., 2], near[..., 3] = 0.5, -0.2                       # mu_x, mu_y on the target
    near[..., 4], near[..., 5] = -2.0, -2.0                     # narrower sigmas
    near[..., 0] = -5.0                                          # confident "pen stays down"
    assert mdn_nll(near, target, mask, M) < mdn_nll(far, target, mask, M)
    # the Bernoulli part alone: log 2 at logit 0
    only_eos = mdn_nll(far, target, mask, M) - _reference_nll(far, target, M)
    assert abs(only_eos.item()) < 1e-4
    expected_eos = math.log(2.0)
    eos_part = _reference_nll(far, target, M) + torch.distributions.MultivariateNormal(
        torch.zeros(2), torch.eye(2)).log_prob(target[..., :2])
    assert abs(eos_part.item() - expected_eos) < 1e-5


def test_model_config_round_trip_and_unknown_keys():
    assert ModelConfig.from_dict(CONFIG.to_dict()) == CONFIG
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({**CONFIG.to_dict(), "layers": 4})


def test_parameter_count_grows_with_the_hidden_size():
    small = count_parameters(HandwritingModel(CONFIG))
    bigger = count_parameters(HandwritingModel(ModelConfig(alphabet_size=12, hidden=32, window_mixtures=3,
                                                           output_mixtures=4)))
    assert 0 < small < bigger


def test_read_reaches_the_state_of_stepping(tiny_model_parts):
    # priming reads strokes as a sequence; it must land where step-by-step reading does,
    # also when it starts from a state that is not the initial one
    model, alphabet, _ = tiny_model_parts
    torch.manual_seed(1)
    x = torch.randn(2, 30, 3) * 0.5
    x[..., 2] = (torch.rand(2, 30) < 0.2).float()
    chars = torch.tensor([alphabet.encode("some text"), alphabet.encode("other one")])
    onehot, positions = model.one_hot(chars), torch.arange(chars.shape[1], dtype=torch.float32)
    with torch.inference_mode():
        stepped = model.initial_state(2)
        for t in range(30):
            _, stepped, _ = model.step(x[:, t], stepped, onehot, positions)
        read = model.read(x[:, 12:], onehot, positions, model.read(x[:, :12], onehot, positions, model.initial_state(2)))
    for name in stepped.__slots__:
        torch.testing.assert_close(getattr(read, name), getattr(stepped, name), atol=1e-5, rtol=1e-4)
