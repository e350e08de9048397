"""Training the synthesis network on IAM-OnDB: one loop, read top to bottom.

Runs as one process (CPU or one GPU) or, unchanged, under torchrun with one process
per rank (DistributedDataParallel; gloo on CPU, nccl on CUDA):

    handwrite train --data iam-ondb/ --out runs/first
    torchrun --standalone --nproc_per_node 4 -m handwrite train --data iam-ondb/ --out runs/first

`batch_size` is the global batch: every optimiser step reads `batch_size` lines, split
across the ranks, and the gradient is that of (summed NLL / points) over the whole
global batch whatever the world size.  So N ranks train like one process, and a run
can be resumed with a different number of ranks (checkpoints count global batches).

RUN_DIR gets (from rank 0 only):
  log.jsonl       one JSON object per event (progress every 100 steps, epochs)
  checkpoint.pt   latest model + optimiser state, written atomically every few minutes
  best.pt         weights with the lowest validation NLL so far
  split.json      the writer-disjoint validation split
  samples/        PNGs of fixed sentences written after each epoch
  epochs/         with --keep-epochs: every epoch's weights, exported (fp16 .safetensors)

Here: the model's start, the steps and the epochs.  config.py: TrainConfig and the
run's state and checkpoints; processes.py: devices and ranks; balance.py: which lines.
"""
from __future__ import annotations

import copy
import json
import math
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..alphabet import Alphabet
from ..model import HandwritingModel, ModelConfig, count_parameters, mdn_nll
from ..preprocess import Normalizer
from ..weights import checkpoint_meta, export_weights, load_weights, model_from_checkpoint, save_checkpoint
# the pieces of a run, importable from here as they were before they had modules of their own
from .balance import (JOINED_LIFTS, capital_balance, capital_point_weights, has_capitals, letter_point_weights,  # noqa: F401
                      is_joined_up, repeat_lines, split_data)
from .config import SAMPLE_TEXTS, LogWindow, Run, RunLog, TrainConfig, mixed_precision_here  # noqa: F401
from .dataset import SPLIT_SEED, LineSet, bucket_batches, make_batch
from .processes import (Processes, autocast_dtype, pick_device, read_checkpoint_everywhere,  # noqa: F401
                        start_processes)


@torch.no_grad()
def evaluate_nll(model: HandwritingModel, data: LineSet, alphabet: Alphabet, normalizer: Normalizer,
                 batch_size: int = 64, bf16: bool = True, progress: bool = False) -> dict:
    """Validation NLL in nats: per line and per point (normalised, downsampled offsets).

    Runs on the device the model is on; `bf16` turns mixed precision on.
    """
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort(data.lengths)
    total, points = 0.0, 0
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if progress:
        from tqdm import tqdm
        batches = tqdm(batches, desc="NLL", unit="batch")
    for idx in batches:
        b = make_batch(data, idx, alphabet, normalizer)
        with torch.autocast(device.type, dtype=autocast_dtype(device), enabled=bf16):
            y = model(b.inputs.to(device), b.chars.to(device))
        total += mdn_nll(y, b.targets.to(device), b.mask.to(device), model.config.output_mixtures).sum().item()
        points += b.points
    return {"nll_per_line": total / max(len(data), 1), "nll_per_point": total / max(points, 1),
            "lines": len(data), "points": points}


def draw_samples(model, alphabet, normalizer, texts, path: Path, bias: float = 0.75, seed: int = 0) -> None:
    from ..writer import Writer
    writer = Writer.from_model(model, alphabet, normalizer)
    writer.write("\n".join(texts), bias=bias, seed=seed).save(path)


def start_model(cfg: TrainConfig, resumed: dict | None, data: LineSet, train_set: LineSet, ckpt_path: Path):
    """(alphabet, normalizer, model): resumed, from exported weights, or fresh."""
    if resumed is not None:
        loaded = model_from_checkpoint(resumed, ckpt_path)
        alphabet, normalizer, model = loaded.alphabet, loaded.normalizer, loaded.model
    elif cfg.init_weights:
        # start from exported weights (e.g. the bundled model): their alphabet and
        # normalisation, a fresh optimiser and epoch count
        loaded = load_weights(None if cfg.init_weights == "bundled" else cfg.init_weights)
        alphabet, normalizer, model = loaded.alphabet, loaded.normalizer, loaded.model
    else:
        alphabet = Alphabet("".join(sorted(set("".join(data.texts)))))
        normalizer = Normalizer.fit([train_set.line(i) for i in range(len(train_set))])
        mcfg = replace(cfg.model or ModelConfig(), alphabet_size=alphabet.size)
        torch.manual_seed(cfg.seed)
        model = HandwritingModel(mcfg)
    for text in data.texts:
        bad = alphabet.unsupported(text)
        if bad:
            raise ValueError(f"the data holds characters the resumed model cannot write: {text[bad[0]]!r}")
    return alphabet, normalizer, model


def start_run(cfg: TrainConfig, procs: Processes, progress: bool) -> tuple[Run, torch.nn.Module, bool]:
    """(run, the model to call: DDP-wrapped when distributed, resumed?)."""
    out = Path(cfg.out)
    if procs.master:
        (out / "samples").mkdir(parents=True, exist_ok=True)
        for stale in out.glob(".*.pt.*.tmp"):   # left by a process killed mid-write
            stale.unlink(missing_ok=True)
    log = RunLog(out / "log.jsonl", enabled=procs.master)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    data, train_set, val_set, val_writers = split_data(cfg, procs, progress)
    ckpt_path = out / "checkpoint.pt"
    resumed = read_checkpoint_everywhere(ckpt_path, cfg.resume, procs.master, procs.distributed, procs.device)
    alphabet, normalizer, model = start_model(cfg, resumed, data, train_set, ckpt_path)
    device = procs.device
    model.to(device).train()
    # DDP averages gradients over ranks and starts every rank from rank 0's weights
    ddp_model = torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None) if procs.distributed else model
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    # CUDA autocast runs cuDNN's nn.LSTM (layers 2-3) in fp16 whatever amp_dtype says, so on a
    # GPU the loss is scaled to keep small gradients from flushing to zero
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.bf16 and device.type == "cuda")
    state = {"epoch": 0, "batch": 0, "step": 0, "best_val": math.inf, "seconds": 0.0, "points": 0}
    if resumed is not None:
        optimizer.load_state_dict(resumed["optimizer"])
        if "scaler" in resumed and scaler.is_enabled():
            scaler.load_state_dict(resumed["scaler"])
        state.update(checkpoint_meta(resumed, ckpt_path)["progress"])
    if procs.master:
        (out / "split.json").write_text(json.dumps({
            "seed": SPLIT_SEED, "val_fraction": cfg.val_fraction, "val_writers": val_writers,
            "val_line_ids": val_set.line_ids,
            "train_lines": len(train_set), "val_lines": len(val_set)}, indent=1))
    run = Run(cfg, procs, out, log, train_set, val_set, alphabet, normalizer, model, optimizer, scaler, state)
    return run, ddp_model, resumed is not None


# ---- steps and epochs ----------------------------------------------------------------------------
def train_step(run: Run, ddp_model, lines: np.ndarray, amp_dtype) -> tuple[float, int, int, bool]:
    """One optimiser step on the global batch `lines`: (this rank's NLL, its points, all
    points, whether the weights were updated: not when a gradient was NaN or infinite)."""
    cfg, procs, device = run.cfg, run.procs, run.procs.device
    points = int((run.train_set.lengths[lines] - 1).sum())   # targets in the global batch
    share = lines[procs.rank::procs.world]    # lines are sorted by length: strides balance the ranks
    weight = procs.world                      # DDP divides the summed gradients by the world size
    if len(share) == 0:                       # fewer lines than ranks: join the all-reduce with zeros
        share, weight = lines[:1], 0
    # a new shape for each line in each epoch; validation lines are never reshaped
    shape = (cfg.seed * 100_003 + run.state["epoch"], cfg.augment) if cfg.augment > 0 else None
    b = make_batch(run.train_set, share, run.alphabet, run.normalizer, augment_with=shape)
    weigh_points = cfg.capital_weight != 1.0 or (cfg.teach and cfg.teach_weight != 1.0)
    chars = b.chars.to(device)
    with torch.autocast(device.type, dtype=amp_dtype, enabled=cfg.bf16):
        y = ddp_model(b.inputs.to(device), chars, return_attention=weigh_points)
    if weigh_points:
        y, phi = y
    point_nll = mdn_nll(y, b.targets.to(device), b.mask.to(device), run.model.config.output_mixtures)
    nll = point_nll.sum()                      # logged as it is: the weights only steer the gradient
    if weigh_points:
        point_nll = point_nll * capital_point_weights(phi, chars, run.alphabet, cfg.capital_weight)
        point_nll = point_nll * letter_point_weights(phi, chars, run.alphabet, cfg.teach_weight, set(cfg.teach).__contains__)
    # rank r's nll * W / P, averaged over W ranks = (sum of all NLL) / P
    loss = point_nll.sum() * weight / points
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.unscale_(run.optimizer)
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.clip)
    updated = bool(torch.isfinite(grad_norm))   # gradients are all-reduced: every rank agrees
    if updated:
        run.scaler.step(run.optimizer)
    run.scaler.update()
    share_points = int((run.train_set.lengths[share] - 1).sum())
    return (nll.item() if weight else 0.0), share_points, points, updated


def run_epoch(run: Run, ddp_model, amp_dtype, lr: float, progress: bool, last_ckpt: float) -> tuple[bool, float]:
    """Train until the epoch ends, a stop is agreed or max_steps is reached.

    Returns (finished the epoch, time of the last checkpoint).
    """
    cfg, procs, state = run.cfg, run.procs, run.state
    epoch = state["epoch"]
    # the same global batches on every rank, whatever the world size
    batches = bucket_batches(run.train_set.lengths, cfg.batch_size, cfg.seed, epoch)
    bar = None
    if progress and procs.master:
        from tqdm import tqdm
        bar = tqdm(total=len(batches), initial=state["batch"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   unit="batch", mininterval=1.0 if os.isatty(2) else 60.0)
    window = run.window
    while state["batch"] < len(batches):
        if procs.agreed_stop() or (cfg.max_steps is not None and state["step"] >= cfg.max_steps):
            break
        t0 = time.monotonic()
        share_nll, share_points, points, updated = train_step(run, ddp_model, batches[state["batch"]], amp_dtype)
        state["batch"] += 1
        state["step"] += 1
        state["points"] += points
        took = time.monotonic() - t0
        state["seconds"] += took
        window.seconds += took
        window.processed += points
        if updated:             # the logged NLL is over the steps that updated the weights
            window.nll += share_nll
            window.points += points
        else:
            window.skipped += 1
        if bar is not None:   # rank 0's share of the batch stands for the whole
            bar.set_postfix(nll=f"{share_nll / share_points:.3f}", pts_s=f"{points / took:.0f}", refresh=False)
            bar.update(1)
        if state["step"] % 100 == 0:
            nll = procs.summed(window.nll)
            run.log.write(event="train", epoch=epoch, step=state["step"], lr=lr,
                          nll_per_point=nll / window.points if window.points else float("nan"),
                          points_per_s=window.processed / window.seconds,
                          skipped_steps=window.skipped)
            window = run.window = LogWindow()
        if procs.master and time.monotonic() - last_ckpt > cfg.checkpoint_minutes * 60:
            run.write_checkpoint()
            last_ckpt = time.monotonic()
    if bar is not None:
        bar.close()
    return state["batch"] >= len(batches), last_ckpt


def end_epoch(run: Run, lr: float) -> None:
    """Rank 0, after each epoch: validation, best weights, exported epoch, checkpoint, samples."""
    cfg, state, model, out = run.cfg, run.state, run.model, run.out
    val = evaluate_nll(model, run.val_set, run.alphabet, run.normalizer, bf16=cfg.bf16)
    model.train()
    improved = val["nll_per_line"] < state["best_val"]
    if improved:
        state["best_val"] = val["nll_per_line"]
    info = {"epochs": state["epoch"], "steps": state["step"], "val_nll_per_line": val["nll_per_line"],
            "val_nll_per_point": val["nll_per_point"], "train_hours": state["seconds"] / 3600}
    run.log.write(event="epoch", epoch=state["epoch"], step=state["step"], lr=lr,
                  val_nll_per_line=val["nll_per_line"], val_nll_per_point=val["nll_per_point"],
                  best=improved, train_hours=state["seconds"] / 3600)
    if improved:
        save_checkpoint(out / "best.pt", {"model": model.state_dict(), "meta": run.meta(info)})
    if cfg.keep_epochs:   # small fp16 files, ready for tools/average_weights.py
        export_weights(out / "epochs" / f"epoch-{state['epoch']:03d}.safetensors",
                       model, run.alphabet, run.normalizer, info)
    run.write_checkpoint()
    if cfg.samples:
        try:   # sampling runs step by step: a CPU copy does it without GPU round trips
            draw_samples(model if run.procs.device.type == "cpu" else copy.deepcopy(model).cpu(),
                         run.alphabet, run.normalizer, cfg.sample_texts,
                         out / "samples" / f"epoch-{state['epoch']:03d}.png")
        except Exception as e:  # a drawing problem must not end a long run
            run.log.write(event="sample_error", error=repr(e))
        model.train()


def check_teaching(cfg: TrainConfig) -> None:
    """Errors that name a bad `teach` setting before any data is read."""
    if not 1.0 <= cfg.teach_weight <= 100.0:
        raise ValueError(f"teach_weight must be between 1 (off) and 100, got {cfg.teach_weight}")
    if cfg.teach and cfg.teach_lines < 1:
        raise ValueError(f"teach_lines must be a number of lines (at least 1), got {cfg.teach_lines}")
    if any(c.isspace() for c in cfg.teach):
        raise ValueError(f"teach takes the letters to teach, without spaces: got {cfg.teach!r}")


def train(cfg: TrainConfig, progress: bool = True) -> dict:
    """Train as `cfg` says; returns the progress (epoch, step, ...) with this process's rank."""
    for name in ("capital_repeats", "joined_repeats"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if not 1.0 <= cfg.capital_weight <= 100.0:
        raise ValueError(f"capital_weight must be between 1 (off) and 100, got {cfg.capital_weight}")
    if cfg.balance_capitals < 0:
        raise ValueError(f"balance_capitals must be 0 (off) or a number of lines, got {cfg.balance_capitals}")
    check_teaching(cfg)
    if not 0 <= cfg.augment <= 0.5:
        raise ValueError(f"augment must be between 0 and 0.5 (a fraction of the line's size), got {cfg.augment}")
    procs = start_processes(cfg.device)
    cfg = mixed_precision_here(cfg, procs.device)
    run, ddp_model, was_resumed = start_run(cfg, procs, progress)
    state = run.state
    old_handlers = {s: signal.signal(s, procs.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    run.log.write(event="start", resumed=was_resumed, params=count_parameters(run.model),
                  train_lines=len(run.train_set), val_lines=len(run.val_set), world_size=procs.world,
                  device=str(procs.device), **{k: state[k] for k in ("epoch", "batch", "step")})
    amp_dtype = autocast_dtype(procs.device)
    last_ckpt = time.monotonic()
    try:
        while state["epoch"] < cfg.epochs and not procs.agreed_stop():
            # the decay stops at min_lr, but never lifts a smaller learning rate asked for
            lr = max(cfg.lr * cfg.lr_decay ** state["epoch"], min(cfg.min_lr, cfg.lr))
            for g in run.optimizer.param_groups:
                g["lr"] = lr
            finished, last_ckpt = run_epoch(run, ddp_model, amp_dtype, lr, progress, last_ckpt)
            if not finished:
                break   # interrupted or max_steps: checkpoint below, epoch not finished
            state["epoch"] += 1
            state["batch"] = 0
            if procs.master:     # the other ranks wait at the barrier
                end_epoch(run, lr)
                last_ckpt = time.monotonic()
            procs.barrier()
    finally:
        run.write_checkpoint()
        for s, h in old_handlers.items():
            signal.signal(s, h)
        procs.close()
    run.log.write(event="stop", **{k: state[k] for k in ("epoch", "batch", "step")})
    return {**state, "rank": procs.rank, "world_size": procs.world}
