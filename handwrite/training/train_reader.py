"""Training the reader (handwrite/reader.py) on IAM-OnDB: CTC over the pen's path.

The same writer-disjoint split as the synthesis model (dataset.writer_split), so the
reader's validation figures are on writers it never saw.  Resumable from
RUN/checkpoint.pt; Ctrl-C saves one; the best validation CER is exported to
RUN/reader.safetensors after every epoch.
"""
from __future__ import annotations

import io
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..alphabet import Alphabet
from ..fileio import atomic_write_bytes
from ..reader import FEATURES, FRAMES_VERSION, ReaderConfig, ReaderNet, greedy_decode, ink_frames, pad_frames, save_reader
from ..weights import load_checkpoint, save_checkpoint
from .dataset import _fingerprint, bucket_batches, default_cache_dir, writer_split
from .evaluate import edit_distance
from .iam import DatasetError, read_iam


@dataclass
class ReaderTrainConfig:
    data: str
    out: str = "runs/reader"
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    augment: float = 0.15          # random slant, width and size changes, up to this fraction
    threads: int | None = None
    max_steps: int | None = None
    checkpoint_minutes: float = 5.0
    patience: int = 2              # epochs without a better validation loss before the rate drops
    model: ReaderConfig = field(default_factory=ReaderConfig)


@dataclass
class FrameSet:
    frames: list          # (T_i, FEATURES) float32 per line
    texts: list
    writers: list


def load_frames(root, spacing: float, progress: bool = True, cache_dir=None) -> FrameSet:
    """Every usable IAM-OnDB line as reader frames, cached by the files and the spacing."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    key = _fingerprint(root, {"reader_spacing": spacing, "features": FEATURES, "version": FRAMES_VERSION})
    cache = Path(cache_dir or default_cache_dir() / "data") / f"reader-{key}.npz"
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                frames = np.split(z["frames"], np.cumsum(z["lengths"])[:-1])
                return FrameSet(frames, meta["texts"], meta["writers"])
        except Exception:
            pass     # a damaged cache is rebuilt
    lines, _ = read_iam(root, progress=progress)
    frames = [ink_frames(ln.strokes, spacing) for ln in lines]
    data = FrameSet(frames, [ln.text for ln in lines], [ln.writer_id for ln in lines])
    try:
        buf = io.BytesIO()
        np.savez(buf, frames=np.concatenate(frames), lengths=np.array([len(f) for f in frames]),
                 meta=np.array(json.dumps({"texts": data.texts, "writers": data.writers})))
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache, buf.getvalue())
    except OSError:
        pass
    return data


def augment_frames(f: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """The same line a little more slanted, wider or larger: a linear map of the moves."""
    scale, stretch = 1 + strength * rng.uniform(-1, 1, size=2)
    shear = strength * rng.uniform(-1, 1)
    out = f.copy()
    out[:, 0] = scale * (stretch * f[:, 0] - shear * f[:, 1])
    out[:, 1] = scale * f[:, 1]
    out[:, 2] = scale * f[:, 2]
    return out


def ctc_batch(net: ReaderNet, frames: list, codes: list) -> torch.Tensor:
    """Mean CTC loss per line of a batch."""
    x, lengths = pad_frames(frames)
    log_probs, out_len = net(x, lengths)
    targets = torch.tensor([c for cs in codes for c in cs], dtype=torch.long)
    return nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, out_len,
                                  torch.tensor([len(c) for c in codes]), reduction="sum",
                                  zero_infinity=True) / len(frames)


def evaluate(net: ReaderNet, data: FrameSet, idx, alphabet: Alphabet, batch: int = 64) -> dict:
    """Validation loss and character error rate (greedy decoding, no language model)."""
    net.eval()
    loss, errors, chars = 0.0, 0, 0
    order = sorted(idx, key=lambda i: len(data.frames[i]))
    with torch.inference_mode():
        for a in range(0, len(order), batch):
            part = order[a:a + batch]
            frames = [data.frames[i] for i in part]
            codes = [alphabet.encode(data.texts[i]) for i in part]
            loss += float(ctc_batch(net, frames, codes)) * len(part)
            x, lengths = pad_frames(frames)
            log_probs, out_len = net(x, lengths)
            for got, want in zip(greedy_decode(log_probs, out_len), codes):
                errors += edit_distance(got, want)
                chars += len(want)
    net.train()
    return {"val_loss": loss / max(1, len(order)), "val_cer": errors / max(1, chars)}


def _usable(data: FrameSet, alphabet: Alphabet) -> np.ndarray:
    """Lines whose text fits the alphabet and whose frames can hold their CTC path."""
    keep = []
    for i, (f, t) in enumerate(zip(data.frames, data.texts)):
        if t and not alphabet.unsupported(t) and (len(f) - 1) // ReaderNet.STRIDE + 1 >= 2 * len(t) + 1:
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def train_reader(cfg: ReaderTrainConfig, progress: bool = True) -> dict:
    """Train (or resume) a reader; returns the last epoch's figures."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    data = load_frames(cfg.data, cfg.model.spacing, progress=progress)
    alphabet = Alphabet("".join(sorted(set("".join(data.texts)))))
    cfg.model.alphabet = cfg.model.alphabet or alphabet.chars
    alphabet = Alphabet(cfg.model.alphabet)
    usable = set(_usable(data, alphabet).tolist())
    train_idx, val_idx, val_writers = writer_split(data.writers)
    train_idx = np.array([i for i in train_idx if i in usable], dtype=np.int64)
    val_idx = [i for i in val_idx if i in usable]

    torch.manual_seed(cfg.seed)
    net = ReaderNet(cfg.model)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    state = {"epoch": 0, "step": 0, "best_cer": math.inf, "best_loss": math.inf, "stale": 0, "lr": cfg.lr}
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.is_file():
        ckpt = load_checkpoint(ckpt_path)
        net.load_state_dict(ckpt["net"])
        opt.load_state_dict(ckpt["opt"])
        state.update(json.loads(ckpt["state"]))

    def checkpoint():
        save_checkpoint(ckpt_path, {"net": net.state_dict(), "opt": opt.state_dict(), "state": json.dumps(state),
                                    "config": json.dumps(asdict(cfg.model))})

    lengths = np.array([len(data.frames[i]) for i in train_idx])
    result = {}
    try:
        while state["epoch"] < cfg.epochs:
            _train_epoch(net, opt, data, train_idx, lengths, alphabet, state, cfg, checkpoint, progress)
            result = _end_epoch(net, opt, data, val_idx, alphabet, state, cfg, out)
            checkpoint()
            if cfg.max_steps and state["step"] >= cfg.max_steps:
                break
    except KeyboardInterrupt:
        checkpoint()     # resumes at the batch after the last one done
        raise
    return result


def train_step(net, opt, data, rows, alphabet, seed: int, epoch: int, augment: float) -> float:
    """One optimiser step on the lines `rows` of `data`, reshaped at random (seeded by the
    run, the epoch and the batch's first line); the batch's CTC loss."""
    rng = np.random.default_rng([seed, epoch, int(rows[0])])
    frames = [augment_frames(data.frames[i], rng, augment) for i in rows]
    loss = ctc_batch(net, frames, [alphabet.encode(data.texts[i]) for i in rows])
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    opt.step()
    return loss.item()


def _train_epoch(net, opt, data, train_idx, lengths, alphabet, state, cfg, checkpoint, progress: bool) -> None:
    """One epoch's batches (from the one after the last done, when resuming), checkpointed now and then."""
    from tqdm import tqdm
    epoch, last_save = state["epoch"], time.monotonic()
    batches = bucket_batches(lengths, cfg.batch_size, cfg.seed, epoch)
    skip = state.pop("batch_in_epoch", 0)
    bar = tqdm(batches[skip:], desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress,
               unit="batch", initial=skip, total=len(batches))
    for k, b in enumerate(bar, start=skip):
        loss = train_step(net, opt, data, train_idx[b], alphabet, cfg.seed, epoch, cfg.augment)
        state["step"] += 1
        state["batch_in_epoch"] = k + 1
        bar.set_postfix(loss=f"{loss:.2f}")
        if time.monotonic() - last_save > 60 * cfg.checkpoint_minutes:
            checkpoint()
            last_save = time.monotonic()
        if cfg.max_steps and state["step"] >= cfg.max_steps:
            break
    state.pop("batch_in_epoch", None)


def _end_epoch(net, opt, data, val_idx, alphabet, state, cfg, out: Path) -> dict:
    """Validate, export the best weights so far, drop the rate when the loss stalls."""
    figures = evaluate(net, data, val_idx, alphabet)
    state["epoch"] += 1
    if figures["val_loss"] < state["best_loss"]:
        state["best_loss"], state["stale"] = figures["val_loss"], 0
    else:
        state["stale"] += 1
        if state["stale"] >= cfg.patience:
            state["lr"], state["stale"] = state["lr"] * 0.3, 0
            for g in opt.param_groups:
                g["lr"] = state["lr"]
    if figures["val_cer"] < state["best_cer"]:
        state["best_cer"] = figures["val_cer"]
        save_reader(out / "reader.safetensors", net, {**figures, "epoch": state["epoch"], "step": state["step"]})
    line = {"epoch": state["epoch"], "step": state["step"], "lr": state["lr"], **figures, "time": time.time()}
    with open(out / "log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps(line), flush=True)
    return line
