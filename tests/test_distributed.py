"""`handwrite train` under torchrun: 2 CPU ranks with gloo on tiny synthetic data.

Checks that the ranks stay identical, that 2 ranks train like 1 process on the same
global batch, that a stop signal on one rank stops both with a checkpoint, and that
runs resume with any number of ranks.  Each torchrun launch costs a few seconds of
interpreter start-up, so the module shares its runs through fixtures.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from conftest import make_tiny_iam
from handwrite.training.dataset import load_lines, writer_split
from handwrite.model import ModelConfig
from handwrite.training.train import TrainConfig, train

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="PyTorch built without gloo")

TINY = ModelConfig(hidden=16, window_mixtures=3, output_mixtures=4)
# the CLI sets only --hidden; the mixture counts stay at their defaults
CLI_TINY = ModelConfig(hidden=16)
TOLERANCE = dict(rtol=1e-4, atol=1e-5)   # float sums in a different order, a few Adam steps

# Runs train() in each rank as torchrun starts it, then saves that rank's final weights
# and last gradients (train() returns only its progress, so record_model keeps a
# reference to the model it builds).
WORKER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    import torch
    from handwrite.model import ModelConfig
    from handwrite.training.train import TrainConfig, train
    from test_distributed import record_model, final_state

    args = json.loads(sys.argv[1])
    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    rank = int(os.environ["RANK"])
    (out / f"pid{rank}").write_text(str(os.getpid()))
    model = ModelConfig(**args.pop("model"))
    with record_model() as models:
        train(TrainConfig(model=model, samples=False, bf16=False, threads=1, device="cpu", **args), progress=False)
    torch.save(final_state(models[-1]), out / f"rank{rank}.pt")
""")


@contextlib.contextmanager
def record_model():
    """Yields a list that gets every model train() builds or loads from a checkpoint."""
    import handwrite.training.train as T
    models, from_checkpoint = [], T.model_from_checkpoint

    class Recorded(T.HandwritingModel):
        def __init__(self, config):
            super().__init__(config)
            models.append(self)

    def recorded_from_checkpoint(*args, **kwargs):
        loaded = from_checkpoint(*args, **kwargs)
        models.append(loaded.model)
        return loaded

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(T, "HandwritingModel", Recorded)
        mp.setattr(T, "model_from_checkpoint", recorded_from_checkpoint)
        yield models


def final_state(model) -> dict:
    """The weights and the gradients of the last optimiser step."""
    return {"weights": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "grads": {n: p.grad.detach().clone() for n, p in model.named_parameters()}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Tiny data, a batch size that leaves one line over each epoch (so one rank gets an
    empty share of the last batch), and the environment for torchrun."""
    root = tmp_path_factory.mktemp("dist")
    data = make_tiny_iam(root / "iam", forms=6, lines_per_form=4)
    here = Path(__file__).parent   # the worker imports this module and conftest
    env = {**os.environ, "HANDWRITE_CACHE": str(root / "cache"), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(here), str(here.parent), os.environ.get("PYTHONPATH", "")])}
    (root / "worker.py").write_text(WORKER)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HANDWRITE_CACHE", env["HANDWRITE_CACHE"])   # the in-process runs share the cache
        n_train = len(writer_split(load_lines(data, progress=False).writers)[0])
        sizes = [b for b in range(3, n_train) if n_train % b == 1]
        assert sizes, f"no batch size leaves one of {n_train} lines over"
        yield {"data": data, "batch": sizes[0], "env": env, "root": root}


def torchrun(setup, *args, nproc=2, timeout=60, wait=True):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    proc = subprocess.Popen(cmd, env=setup["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait:
        return proc
    output, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, output
    return output


def run_worker(setup, out, nproc=2, wait=True, **cfg):
    args = {"data": str(setup["data"]), "out": str(out), "batch_size": setup["batch"],
            "model": TINY.to_dict(), **cfg}
    return torchrun(setup, str(setup["root"] / "worker.py"), json.dumps(args), nproc=nproc, wait=wait)


def single(setup, out, model=TINY, **cfg) -> dict:
    """One process in this one: the checkpoint, plus the final weights and gradients."""
    cfg = {"batch_size": setup["batch"], **cfg}
    with record_model() as models:
        train(TrainConfig(data=str(setup["data"]), out=str(out), model=model, samples=False, bf16=False, threads=1,
                          device="cpu", **cfg), progress=False)
    return {**torch.load(Path(out) / "checkpoint.pt", weights_only=True), **final_state(models[-1])}


def events(run) -> list[dict]:
    return [json.loads(ln) for ln in (Path(run) / "log.jsonl").read_text().splitlines()]


def assert_same_weights(a: dict, b: dict, **tol):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], **(tol or {"rtol": 0, "atol": 0}), msg=lambda m: f"{k}: {m}")


@pytest.fixture(scope="module")
def one_process(setup):
    """Uninterrupted single-process reference: 3 epochs."""
    return single(setup, setup["root"] / "single", epochs=3)


def test_two_ranks_stay_identical_and_match_one_process(setup, one_process):
    run = setup["root"] / "ddp"
    run_worker(setup, run, epochs=3)
    rank0 = torch.load(run / "rank0.pt", weights_only=True)
    rank1 = torch.load(run / "rank1.pt", weights_only=True)
    assert_same_weights(rank0["weights"], rank1["weights"])        # DDP kept the ranks in step
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert_same_weights(ckpt["model"], rank0["weights"])
    # the gradient of the same global batch, then the same weights after 3 epochs
    assert_same_weights(rank0["grads"], one_process["grads"], **TOLERANCE)
    assert_same_weights(ckpt["model"], one_process["model"], **TOLERANCE)
    progress = json.loads(ckpt["meta"])["progress"]
    assert progress["step"] == json.loads(one_process["meta"])["progress"]["step"]
    assert progress["points"] == json.loads(one_process["meta"])["progress"]["points"]
    log = events(run)
    assert log[0]["event"] == "start" and log[0]["world_size"] == 2
    assert [e["epoch"] for e in log if e["event"] == "epoch"] == [1, 2, 3]   # rank 0 alone writes the log


def test_cli_run_under_torchrun_resumes_with_one_process(setup):
    """`torchrun -m handwrite train` stops at --max-steps; one process finishes the run."""
    ref = single(setup, setup["root"] / "cli-ref", model=CLI_TINY, epochs=2)
    run = setup["root"] / "cli"
    output = torchrun(setup, "-m", "handwrite", "train", "--data", str(setup["data"]), "--out", str(run),
                      "--epochs", "2", "--batch-size", str(setup["batch"]), "--max-steps", "3", "--hidden", "16",
                      "--no-bf16", "--no-samples", "--threads", "1", "--device", "cpu")
    assert output.count("stopped at epoch 0, step 3") == 1          # one report, from rank 0
    first = json.loads(torch.load(run / "checkpoint.pt", weights_only=True)["meta"])["progress"]
    assert (first["epoch"], first["step"]) == (0, 3)
    resumed = single(setup, run, model=None, epochs=2, resume=True)
    assert_same_weights(resumed["model"], ref["model"], **TOLERANCE)
    assert json.loads(resumed["meta"])["progress"]["step"] == json.loads(ref["meta"])["progress"]["step"]
    starts = [e for e in events(run) if e["event"] == "start"]
    assert [(s["resumed"], s["world_size"], s["step"]) for s in starts] == [(False, 2, 0), (True, 1, 3)]


def test_signal_on_one_rank_stops_both_and_two_ranks_resume(setup, one_process):
    run = setup["root"] / "signal"
    proc = run_worker(setup, run, wait=False, epochs=10_000)
    try:
        # a finished epoch means both ranks are in the loop, their signal handlers set
        deadline = time.monotonic() + 40
        while not (run / "log.jsonl").is_file() or '"event": "epoch"' not in (run / "log.jsonl").read_text():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the ranks did not finish an epoch within 40 s"
            time.sleep(0.1)
        os.kill(int((run / "pid1").read_text()), signal.SIGTERM)   # rank 1 only
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    log = events(run)
    assert log[-1]["event"] == "stop" and log[-1]["step"] > 0
    stopped = json.loads(torch.load(run / "checkpoint.pt", weights_only=True)["meta"])["progress"]
    assert stopped["step"] == log[-1]["step"]
    assert_same_weights(torch.load(run / "rank0.pt", weights_only=True)["weights"],
                        torch.load(run / "rank1.pt", weights_only=True)["weights"])

    # two ranks continue from the checkpoint to a few steps further
    run_worker(setup, run, epochs=10_000, resume=True, max_steps=stopped["step"] + 4)
    rank0 = torch.load(run / "rank0.pt", weights_only=True)["weights"]
    assert_same_weights(rank0, torch.load(run / "rank1.pt", weights_only=True)["weights"])
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert json.loads(ckpt["meta"])["progress"]["step"] == stopped["step"] + 4
    assert_same_weights(ckpt["model"], rank0)
    assert [e["resumed"] for e in events(run) if e["event"] == "start"] == [False, True]
