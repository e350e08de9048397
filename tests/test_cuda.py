"""The CUDA paths: training on one GPU, two GPU ranks over nccl, sampling on a GPU.

Skipped on machines without CUDA (this project's CPU machines and CI); on a GPU machine
`pytest tests/test_cuda.py` checks in a minute what the CPU tests cannot.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import make_tiny_iam

from handwrite.model import ModelConfig
from handwrite.training.train import TrainConfig, train
from handwrite.weights import load_checkpoint, model_from_checkpoint

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

TINY = ModelConfig(hidden=16, window_mixtures=3, output_mixtures=4)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITE_CACHE", str(tmp_path / "cache"))


def _config(data, out, device, **overrides):
    settings = dict(data=str(data), out=str(out), model=TINY, batch_size=4, samples=False, bf16=False,
                    threads=1, device=device, epochs=1000, max_steps=5, lr=1e-3)
    settings.update(overrides)
    return TrainConfig(**settings)


def _weights(run):
    return model_from_checkpoint(load_checkpoint(run / "checkpoint.pt"), run / "checkpoint.pt").model.state_dict()


def test_one_gpu_trains_like_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)    # cuDNN's LSTMs default to TF32
    data = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)
    train(_config(data, tmp_path / "gpu", "cuda"), progress=False)
    train(_config(data, tmp_path / "cpu", "cpu"), progress=False)
    gpu, cpu = _weights(tmp_path / "gpu"), _weights(tmp_path / "cpu")
    diffs = torch.cat([(gpu[name].cpu() - cpu[name]).abs().flatten() for name in cpu])
    # Adam moves every weight by about lr per step whatever the gradient's size, so a
    # near-zero gradient whose sign differs in the last bits can differ by 2 lr a step;
    # all the others agree closely
    assert float(diffs.max()) <= 2 * 5 * 1e-3
    assert float((diffs > 1e-4).float().mean()) < 0.01


def test_mixed_precision_on_gpu_trains(tmp_path):
    data = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=3)
    state = train(_config(data, tmp_path / "amp", "cuda", bf16=True), progress=False)
    assert state["step"] == 5
    assert all(torch.isfinite(v).all() for v in _weights(tmp_path / "amp").values())


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_two_gpu_ranks_over_nccl(tmp_path):
    data = make_tiny_iam(tmp_path / "iam", forms=2, lines_per_form=4)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "handwrite",
           "train", "--data", str(data), "--out", str(run), "--device", "cuda", "--hidden", "16",
           "--batch-size", "4", "--max-steps", "3", "--no-samples"]
    env = dict(os.environ, HANDWRITE_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (run / "checkpoint.pt").exists()


def test_sampling_on_gpu_writes_what_the_cpu_writes(tiny_model_parts):
    from handwrite.sampling import sample_lines
    model, alphabet, normalizer = tiny_model_parts
    codes = [alphabet.encode("gpu line"), alphabet.encode("two")]
    cpu = sample_lines(model, codes, seed=2, precision="fp32", normalizer=normalizer)
    gpu_model = model.to("cuda")
    try:
        gpu = sample_lines(gpu_model, codes, seed=2, precision="fp32", normalizer=normalizer)
    finally:
        model.to("cpu")
    for c, g in zip(cpu, gpu):
        n = min(len(c.offsets), len(g.offsets), 20)     # the first steps, before choices can part
        np.testing.assert_allclose(g.offsets[:n], c.offsets[:n], atol=1e-3)
