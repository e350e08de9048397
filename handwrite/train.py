"""Training the synthesis network on IAM-OnDB: one loop, read top to bottom.

RUN_DIR gets:
  log.jsonl       one JSON object per event (progress every few hundred steps, epochs)
  checkpoint.pt   latest model + optimiser state, written atomically every few minutes
  best.pt         weights with the lowest validation NLL so far
  split.json      the writer-disjoint validation split
  samples/        PNGs of fixed sentences written after each epoch
"""
from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .alphabet import Alphabet
from .dataset import LineSet, bucket_batches, load_lines, make_batch, writer_split
from .model import HandwritingModel, ModelConfig, count_parameters, mdn_nll
from .preprocess import Normalizer
from .weights import load_checkpoint, model_from_checkpoint, save_checkpoint

SAMPLE_TEXTS = (
    "The quick brown fox jumps over the lazy dog",
    "Handwriting synthesis on a small CPU",
    "Zebras quietly vexed by jumping wolves",
)


@dataclass
class TrainConfig:
    data: str
    out: str
    epochs: int = 100
    max_steps: int | None = None
    batch_size: int = 64
    lr: float = 1e-3
    lr_decay: float = 0.97            # multiplied into the learning rate after every epoch
    min_lr: float = 5e-5
    clip: float = 3.0                 # gradient-norm clipping
    seed: int = 0
    downsample: int = 2               # keep every 2nd pen point (halves the cost, keeps the shapes)
    val_fraction: float = 0.08
    checkpoint_minutes: float = 5.0
    bf16: bool = True                 # bf16 autocast for matrix products on CPU
    threads: int | None = None
    device: str = "cpu"
    samples: bool = True
    resume: bool = False
    model: ModelConfig | None = None  # None: the full 3x400 network
    sample_texts: tuple = field(default=SAMPLE_TEXTS)


class RunLog:
    def __init__(self, path: Path):
        self.path = path

    def write(self, **event) -> None:
        event.setdefault("time", time.time())
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")


@torch.no_grad()
def evaluate_nll(model: HandwritingModel, data: LineSet, alphabet: Alphabet, normalizer: Normalizer,
                 batch_size: int = 64, bf16: bool = True, progress: bool = False) -> dict:
    """Validation NLL in nats: per line and per point (normalised, downsampled offsets)."""
    model.eval()
    order = np.argsort(data.lengths)
    total, points = 0.0, 0
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if progress:
        from tqdm import tqdm
        batches = tqdm(batches, desc="NLL", unit="batch")
    for idx in batches:
        b = make_batch(data, idx, alphabet, normalizer)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = model(b.inputs, b.chars)
        total += mdn_nll(y, b.targets, b.mask, model.config.output_mixtures).sum().item()
        points += b.points
    return {"nll_per_line": total / max(len(data), 1), "nll_per_point": total / max(points, 1),
            "lines": len(data), "points": points}


def draw_samples(model, alphabet, normalizer, texts, path: Path, bias: float = 0.75, seed: int = 0) -> None:
    from .writer import Writer
    writer = Writer.from_model(model, alphabet, normalizer)
    writer.write("\n".join(texts), bias=bias, seed=seed).save(path)


def train(cfg: TrainConfig, progress: bool = True) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "samples").mkdir(exist_ok=True)
    log = RunLog(out / "log.jsonl")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ckpt_path, best_path = out / "checkpoint.pt", out / "best.pt"

    # ---- data: cached preprocessing, writer-disjoint split ----
    data = load_lines(cfg.data, downsample=cfg.downsample, progress=progress)
    train_idx, val_idx, val_writers = writer_split(data.writers, cfg.val_fraction, seed=1234)
    if len(train_idx) == 0:
        raise ValueError("no training lines left after the validation split")
    train_set, val_set = data.subset(train_idx), data.subset(val_idx)

    # ---- model, optimiser: fresh or resumed ----
    resumed = None
    if cfg.resume and ckpt_path.is_file():
        resumed = load_checkpoint(ckpt_path)
        meta = json.loads(resumed["meta"])
        alphabet = Alphabet(meta["alphabet"])
        normalizer = Normalizer(**meta["normalizer"])
        model = model_from_checkpoint(resumed, ckpt_path).model
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
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    state = {"epoch": 0, "batch": 0, "step": 0, "best_val": math.inf, "seconds": 0.0, "points": 0}
    if resumed is not None:
        optimizer.load_state_dict(resumed["optimizer"])
        state.update(json.loads(resumed["meta"])["progress"])
    (out / "split.json").write_text(json.dumps({
        "seed": 1234, "val_fraction": cfg.val_fraction, "val_writers": val_writers,
        "train_lines": len(train_set), "val_lines": len(val_set)}, indent=1))

    def checkpoint_meta(extra_info=None) -> str:
        return json.dumps({"config": model.config.to_dict(), "alphabet": alphabet.chars,
                           "normalizer": normalizer.to_dict(), "progress": state,
                           "train_config": {k: v for k, v in asdict(cfg).items() if k != "model"},
                           "info": extra_info or {}})

    def write_checkpoint() -> None:
        save_checkpoint(ckpt_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "meta": checkpoint_meta()})

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    log.write(event="start", resumed=resumed is not None, params=count_parameters(model),
              train_lines=len(train_set), val_lines=len(val_set), **{k: state[k] for k in ("epoch", "batch", "step")})

    last_ckpt = time.monotonic()
    mix = model.config.output_mixtures
    try:
        while state["epoch"] < cfg.epochs and not stop["flag"]:
            epoch = state["epoch"]
            lr = max(cfg.lr * cfg.lr_decay ** epoch, cfg.min_lr)
            for g in optimizer.param_groups:
                g["lr"] = lr
            batches = bucket_batches(train_set.lengths, cfg.batch_size, cfg.seed, epoch)
            bar = None
            if progress:
                from tqdm import tqdm
                bar = tqdm(total=len(batches), initial=state["batch"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
                           unit="batch", mininterval=1.0 if os.isatty(2) else 60.0)
            run_loss, run_points, t_window = 0.0, 0, time.monotonic()
            while state["batch"] < len(batches):
                if stop["flag"] or (cfg.max_steps is not None and state["step"] >= cfg.max_steps):
                    break
                t0 = time.monotonic()
                b = make_batch(train_set, batches[state["batch"]], alphabet, normalizer)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                    y = model(b.inputs, b.chars)
                nll = mdn_nll(y, b.targets, b.mask, mix).sum()
                loss = nll / b.points
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
                if torch.isfinite(grad_norm):
                    optimizer.step()
                state["batch"] += 1
                state["step"] += 1
                state["points"] += b.points
                state["seconds"] += time.monotonic() - t0
                run_loss += nll.item()
                run_points += b.points
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(nll=f"{loss.item():.3f}", pts_s=f"{b.points / (time.monotonic() - t0):.0f}", refresh=False)
                if state["step"] % 100 == 0:
                    dt = time.monotonic() - t_window
                    log.write(event="train", epoch=epoch, step=state["step"], lr=lr,
                              nll_per_point=run_loss / run_points, points_per_s=run_points / dt)
                    run_loss, run_points, t_window = 0.0, 0, time.monotonic()
                if time.monotonic() - last_ckpt > cfg.checkpoint_minutes * 60:
                    write_checkpoint()
                    last_ckpt = time.monotonic()
            if bar is not None:
                bar.close()
            if state["batch"] < len(batches):
                break   # interrupted or max_steps: checkpoint below, epoch not finished

            # ---- end of epoch: validation, best weights, samples ----
            state["epoch"] += 1
            state["batch"] = 0
            val = evaluate_nll(model, val_set, alphabet, normalizer, bf16=cfg.bf16)
            model.train()
            improved = val["nll_per_line"] < state["best_val"]
            if improved:
                state["best_val"] = val["nll_per_line"]
            info = {"epochs": state["epoch"], "steps": state["step"], "val_nll_per_line": val["nll_per_line"],
                    "val_nll_per_point": val["nll_per_point"], "train_hours": state["seconds"] / 3600}
            log.write(event="epoch", epoch=state["epoch"], step=state["step"], lr=lr,
                      val_nll_per_line=val["nll_per_line"], val_nll_per_point=val["nll_per_point"],
                      best=improved, train_hours=state["seconds"] / 3600)
            if improved:
                save_checkpoint(best_path, {"model": model.state_dict(), "meta": checkpoint_meta(info)})
            write_checkpoint()
            last_ckpt = time.monotonic()
            if cfg.samples:
                try:
                    draw_samples(model, alphabet, normalizer, cfg.sample_texts,
                                 out / "samples" / f"epoch-{state['epoch']:03d}.png")
                except Exception as e:  # a drawing problem must not end a long run
                    log.write(event="sample_error", error=repr(e))
                model.train()
    finally:
        write_checkpoint()
        for s, h in old_handlers.items():
            signal.signal(s, h)
    log.write(event="stop", **{k: state[k] for k in ("epoch", "batch", "step")})
    return dict(state)
