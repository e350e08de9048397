"""Low-rank adapters: a learned hand as small changes to the base model's weights.

Each adapted weight matrix W (out, in) gets W + scale * B @ A with A (rank, in) and
B (out, rank); the biases get a full additive change (they are small), times scale too.  The base model
is never changed: `merged` makes a copy holding the changed weights, which every
sampling kernel then packs as it packs the base model's (its caches are per model
object).  `forward` runs the base model with the changed weights under autograd, for
learning, through `torch.func.functional_call`.
"""
from __future__ import annotations

import copy
import hashlib

import torch
from torch.func import functional_call

from .model import HandwritingModel

# The matrices that can be adapted: every LSTM layer's input and recurrent weights, the
# attention window's and the output's (what `learning.LearnSettings` adapts is its choice).
TARGETS = ("lstm1.weight_ih", "lstm1.weight_hh", "attention.weight", "lstm2.weight_ih_l0", "lstm2.weight_hh_l0",
           "lstm3.weight_ih_l0", "lstm3.weight_hh_l0", "output.weight")
BIASES = ("lstm1.bias_ih", "lstm2.bias_ih_l0", "lstm3.bias_ih_l0", "output.bias")


class Adapters:
    """The adapter tensors of one hand: {name: tensor}, names "<weight>.A", "<weight>.B",
    "<bias>.delta"; `scale` multiplies every change (B @ A and the deltas)."""

    def __init__(self, tensors: dict, scale: float = 1.0):
        self.tensors = dict(tensors)
        self.scale = float(scale)

    @classmethod
    def fresh(cls, model: HandwritingModel, rank: int, seed: int = 0, targets=TARGETS, biases=BIASES) -> "Adapters":
        """Adapters of the matrices `targets` that change nothing yet (B = 0), A drawn at
        random, trainable."""
        g = torch.Generator().manual_seed(seed)
        params = dict(model.named_parameters())
        tensors = {}
        for name in targets:
            out, inp = params[name].shape
            tensors[f"{name}.A"] = (torch.randn(rank, inp, generator=g) / inp ** 0.5).requires_grad_()
            tensors[f"{name}.B"] = torch.zeros(out, rank, requires_grad=True)
        for name in biases:
            tensors[f"{name}.delta"] = torch.zeros_like(params[name], requires_grad=True)
        return cls(tensors, scale=1.0)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.tensors.values())

    def deltas(self) -> dict[str, torch.Tensor]:
        """{parameter name: the change to add to it}."""
        out = {}
        for name in TARGETS:
            if f"{name}.A" in self.tensors:
                a, b = self.tensors[f"{name}.A"].float(), self.tensors[f"{name}.B"].float()
                out[name] = self.scale * (b @ a)
        for name in BIASES:
            if f"{name}.delta" in self.tensors:
                out[name] = self.scale * self.tensors[f"{name}.delta"].float()
        return out

    def weights(self, model: HandwritingModel) -> dict[str, torch.Tensor]:
        """The adapted parameters {name: base + change}, under autograd for the changes."""
        params = {n: p.detach() for n, p in model.named_parameters()}
        for name, delta in self.deltas().items():
            params[name] = params[name] + delta
        return params

    def forward(self, model: HandwritingModel, *args, **kwargs):
        """model(*args) with the adapted weights (gradients reach the adapters)."""
        return functional_call(model, self.weights(model), args, kwargs)

    @torch.no_grad()
    def merged(self, model: HandwritingModel) -> HandwritingModel:
        """A copy of `model` holding the adapted weights (the base stays as it is)."""
        new = copy.deepcopy(model)
        params = dict(new.named_parameters())
        for name, delta in self.deltas().items():
            params[name].add_(delta.to(params[name].dtype))
        return new.eval()

    def frozen(self) -> "Adapters":
        """Detached fp16 copies: what a hand file holds (and what writing uses)."""
        return Adapters({k: v.detach().to(torch.float16).contiguous() for k, v in self.tensors.items()}, self.scale)

    def digest(self) -> str:
        """sha256 of the tensors: two hands with the same adapters share a merged model."""
        h = hashlib.sha256(repr(self.scale).encode())
        for k in sorted(self.tensors):
            h.update(k.encode())
            h.update(self.tensors[k].detach().to(torch.float16).contiguous().numpy().tobytes())
        return h.hexdigest()

    def check_fits(self, model: HandwritingModel) -> None:
        """ValueError when the tensors do not fit `model`'s shapes."""
        params = dict(model.named_parameters())
        for key, t in self.tensors.items():
            name, part = key.rsplit(".", 1)
            if name not in params or part not in ("A", "B", "delta"):
                raise ValueError(f"adapter tensor {key!r} does not belong to this model")
            shape = params[name].shape
            ok = {"A": t.ndim == 2 and t.shape[1] == shape[-1], "B": t.ndim == 2 and t.shape[0] == shape[0],
                  "delta": tuple(t.shape) == tuple(shape)}[part]
            if not ok or not torch.isfinite(t.float()).all():
                raise ValueError(f"adapter tensor {key!r} has shape {tuple(t.shape)} or values that do not fit "
                                 f"{name} {tuple(shape)}")


def model_digest(model: HandwritingModel) -> str:
    """sha256 of the model's parameters in fp16 (what exported weights hold), in name order."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().to(torch.float16).contiguous().cpu().numpy().tobytes())
    return h.hexdigest()
