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
"""
from __future__ import annotations

import copy
import datetime
import io
import json
import math
import os
import signal
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .. import cpu
from ..alphabet import Alphabet
from ..choices import DEVICES
from ..model import HandwritingModel, ModelConfig, count_parameters, mdn_nll
from ..preprocess import Normalizer
from ..weights import (WeightsError, checkpoint_meta, export_weights, load_weights, model_from_checkpoint,
                       save_checkpoint)
from .dataset import SPLIT_SEED, VAL_FRACTION, LineSet, bucket_batches, load_lines, make_batch, writer_split

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
    batch_size: int = 64              # lines per optimiser step, all ranks together
    lr: float = 1e-3
    lr_decay: float = 0.97            # multiplied into the learning rate after every epoch
    min_lr: float = 5e-5              # where the decay stops (a smaller lr than this stays as given)
    clip: float = 3.0                 # gradient-norm clipping
    seed: int = 0
    downsample: int = 2               # keep every 2nd pen point (halves the cost, keeps the shapes)
    val_fraction: float = VAL_FRACTION
    checkpoint_minutes: float = 5.0
    bf16: bool = True                 # mixed precision: bf16 autocast (fp16 on GPUs without bf16), loss scaling on GPUs;
                                      # fp32 on CPUs without bf16 instructions (mixed_precision_here)
    threads: int | None = None
    device: str = "auto"              # auto (CUDA when present), cpu, cuda
    samples: bool = True
    keep_epochs: bool = False         # also export every epoch's weights to RUN/epochs/ (for averaging)
    augment: float = 0.0              # > 0: reshape training lines at random by up to this much (dataset.augment)
    capital_repeats: int = 1          # lines holding capital letters appear this many times per epoch (capitals are rare)
    balance_capitals: int = 0         # > 0: list lines with rare capitals more often, so each capital is in ~this many lines
    capital_weight: float = 1.0       # points drawn while the attention is on a capital count this many times in the loss
    joined_repeats: int = 1           # joined-up lines (JOINED_LIFTS) appear this many times per epoch
    resume: bool = False
    init_weights: str | None = None   # exported .safetensors to start from (when not resuming); "bundled": the bundled model
    model: ModelConfig | None = None  # None: the full 3x400 network
    sample_texts: tuple = field(default=SAMPLE_TEXTS)


class RunLog:
    """Appends JSON events to log.jsonl; a no-op on every rank but rank 0."""

    def __init__(self, path: Path, enabled: bool = True):
        self.path = path
        self.enabled = enabled

    def write(self, **event) -> None:
        if not self.enabled:
            return
        event.setdefault("time", time.time())
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' | 'cpu' | 'cuda' -> the device of this process (cuda:LOCAL_RANK on CUDA)."""
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but PyTorch sees no CUDA device")
    if local_rank >= torch.cuda.device_count():
        raise ValueError(f"local rank {local_rank} has no GPU: this machine has {torch.cuda.device_count()}")
    return torch.device("cuda", local_rank)


def autocast_dtype(device: torch.device) -> torch.dtype:
    """bf16 for mixed precision, except on GPUs without native bf16 (before Ampere): fp16."""
    if device.type != "cuda":
        return torch.bfloat16
    try:
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:   # older PyTorch: no emulation to exclude
        native = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if native else torch.float16


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


def read_checkpoint_everywhere(path: Path, wanted: bool, master: bool, distributed: bool,
                               device: torch.device) -> dict | None:
    """Rank 0 reads `path` (when wanted and present) and sends the bytes to every rank,
    so resuming needs no shared file system.  None: start fresh."""
    data = path.read_bytes() if master and wanted and path.is_file() else b""
    if distributed:
        size = torch.tensor([len(data)], dtype=torch.int64, device=device)
        dist.broadcast(size, src=0)
        buf = torch.empty(int(size.item()), dtype=torch.uint8, device=device)
        if len(buf):
            if master:
                buf.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
            dist.broadcast(buf, src=0)
        data = buf.cpu().numpy().tobytes()
    if not data:
        return None
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for damaged files
        raise WeightsError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from None


# pen lifts per letter at or below which a line counts as joined-up (as style_features
# counts them: ~1.2 in print; 1,867 of IAM-OnDB's 11,031 lines are at or below 0.7)
JOINED_LIFTS = 0.7


def repeat_lines(idx: np.ndarray, chosen: np.ndarray, repeats: int) -> np.ndarray:
    """`idx` with the lines where `chosen` (bool, one per entry of idx) is set listed
    `repeats` times in all."""
    return np.concatenate([idx] + [idx[chosen]] * (repeats - 1))


def has_capitals(data: LineSet, idx: np.ndarray) -> np.ndarray:
    """Per line of idx: it holds a capital letter.  Capitals are a few per cent of
    IAM-OnDB's letters and most lines have one at most, so the model writes them worse
    than lower case; repeating their lines balances that."""
    return np.array([any(c.isupper() for c in data.texts[i]) for i in idx], dtype=bool)


def capital_balance(data: LineSet, idx: np.ndarray, target: int, most: int = 10) -> np.ndarray:
    """Per line of idx: how many times to list it so that each capital letter is in about
    `target` lines per epoch: target / (lines of idx holding the line's rarest capital),
    rounded up, between 1 and `most` (1 for a line without capitals).  Unlike
    capital_repeats, which repeats every line with a capital (half of IAM-OnDB's lines,
    the common T and I among them), this evens out the capitals themselves: E is in 191
    lines, K in 71, Q in 16, against T's 1,128."""
    capitals = [{c for c in data.texts[i] if c.isupper()} for i in idx]
    lines_with = Counter(c for caps in capitals for c in caps)
    return np.array([min(most, max(1, math.ceil(target / min(lines_with[c] for c in caps)))) if caps else 1
                     for caps in capitals], dtype=np.int64)


def capital_point_weights(phi: torch.Tensor, chars: torch.Tensor, alphabet, weight: float) -> torch.Tensor:
    """(B, T) loss weights: `weight` for a point drawn while the attention's strongest
    character is a capital, 1 elsewhere.  phi (B, T, U) the window's weights, chars (B, U)
    the line's codes.  Capitals are a few per cent of the points even in the lines that
    hold them, so repeating lines (capital_repeats, balance_capitals) mostly repeats lower
    case; this puts the extra weight on the capitals' own strokes."""
    upper = torch.tensor([False] + [c.isupper() for c in alphabet.chars], device=chars.device)  # code 0: padding
    on_capital = upper[chars].gather(1, phi.argmax(-1))       # (B, T)
    return 1.0 + (weight - 1.0) * on_capital.to(phi.dtype)


def is_joined_up(data: LineSet, idx: np.ndarray) -> np.ndarray:
    """Per line of idx: written joined-up (pen lifts per letter <= JOINED_LIFTS).  About
    one line in six is, so the model drifts to print; repeating them balances that."""
    def lifts(i):
        letters = sum(1 for c in data.texts[i] if not c.isspace())
        return float((data.line(i)[:, 2] > 0.5).sum()) / max(letters, 1)
    return np.array([lifts(i) <= JOINED_LIFTS for i in idx], dtype=bool)


# ---- processes: one, or one per rank under torchrun (RANK, WORLD_SIZE, LOCAL_RANK) ----
@dataclass
class Processes:
    """This process's place among the ranks, and the collective calls training needs."""
    rank: int
    world: int
    local_rank: int
    device: torch.device
    own_group: bool = False      # set up here (and so torn down here), not by the caller
    stop_asked: bool = False     # set by SIGINT/SIGTERM

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def master(self) -> bool:
        return self.rank == 0

    def on_signal(self, signum, frame) -> None:
        self.stop_asked = True

    def barrier(self) -> None:
        if self.distributed and self.device.type == "cuda":
            dist.barrier(device_ids=[self.device.index])
        elif self.distributed:
            dist.barrier()

    def agreed_stop(self) -> bool:
        """Every rank must leave the loop at the same step: one rank's signal stops them all."""
        if not self.distributed:
            return self.stop_asked
        flag = torch.tensor([float(self.stop_asked)], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def summed(self, value: float) -> float:
        """`value` summed over the ranks."""
        if not self.distributed:
            return value
        total = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return total.item()

    def close(self) -> None:
        if not self.own_group:
            return
        # every rank waits here until rank 0 has written its checkpoint: a rank that
        # tears its connections down while another still uses them can abort the other
        try:
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=120)) if self.device.type == "cpu" else dist.barrier()
        except RuntimeError:
            pass    # a rank already gone: nothing left to wait for
        dist.destroy_process_group()


def start_processes(device_name: str) -> Processes:
    """Join (or set up) the process group that torchrun's environment describes."""
    if dist.is_available() and dist.is_initialized():   # the caller set up the process group
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    procs = Processes(rank, world, local_rank, pick_device(device_name, local_rank if world > 1 else 0))
    if procs.distributed and not dist.is_initialized():
        if procs.device.type == "cuda":
            torch.cuda.set_device(procs.device)
        dist.init_process_group("nccl" if procs.device.type == "cuda" else "gloo")
        procs.own_group = True
    return procs


# ---- the run: data, model, optimiser -------------------------------------------------------
@dataclass
class LogWindow:
    """The training steps since the last "train" log event (every 100 steps, across epochs):
    the NLL and points of those that updated the weights, and how many did not."""
    nll: float = 0.0
    points: int = 0              # of the steps that updated the weights
    processed: int = 0           # of all the steps (for points per second)
    skipped: int = 0
    seconds: float = 0.0         # in the steps themselves (not validation or checkpoints)


@dataclass
class Run:
    """Everything one training run carries from step to step."""
    cfg: TrainConfig
    procs: Processes
    out: Path
    log: RunLog
    train_set: LineSet
    val_set: LineSet
    alphabet: Alphabet
    normalizer: Normalizer
    model: HandwritingModel
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    state: dict
    window: LogWindow = field(default_factory=LogWindow)

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def meta(self, extra_info=None) -> str:
        """The checkpoint metadata that `weights.checkpoint_meta` reads back."""
        return json.dumps({"config": self.model.config.to_dict(), "alphabet": self.alphabet.chars,
                           "normalizer": self.normalizer.to_dict(), "progress": self.state,
                           "train_config": {k: v for k, v in asdict(self.cfg).items() if k != "model"},
                           "info": extra_info or {}})

    def write_checkpoint(self) -> None:
        if not self.procs.master:
            return
        ckpt = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "meta": self.meta()}
        if self.scaler.is_enabled():
            ckpt["scaler"] = self.scaler.state_dict()
        save_checkpoint(self.checkpoint_path, ckpt)


def split_data(cfg: TrainConfig, procs: Processes, progress: bool):
    """(all lines, train set, val set, val writers): cached preprocessing, writer-disjoint split."""
    if procs.local_rank != 0:
        procs.barrier()   # let local rank 0 build the preprocessing cache once per machine
    data = load_lines(cfg.data, downsample=cfg.downsample, progress=progress and procs.master)
    if procs.local_rank == 0:
        procs.barrier()
    train_idx, val_idx, val_writers = writer_split(data.writers, cfg.val_fraction, seed=SPLIT_SEED)
    if not val_writers:
        warnings.warn("all lines come from one writer: the validation lines share the training writer")
    if len(train_idx) == 0:
        raise ValueError("no training lines left after the validation split (need at least 2 usable lines)")
    extra = []                       # chosen from the training lines as split, so the two stack
    if cfg.capital_repeats > 1:
        extra.append((has_capitals(data, train_idx), cfg.capital_repeats))
    if cfg.joined_repeats > 1:
        extra.append((is_joined_up(data, train_idx), cfg.joined_repeats))
    base = train_idx
    for chosen, repeats in extra:
        train_idx = np.concatenate([train_idx, repeat_lines(base, chosen, repeats)[len(base):]])
    if cfg.balance_capitals > 0:
        train_idx = np.concatenate([train_idx, np.repeat(base, capital_balance(data, base, cfg.balance_capitals) - 1)])
    return data, data.subset(train_idx), data.subset(val_idx), val_writers


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
    weigh_capitals = cfg.capital_weight != 1.0
    chars = b.chars.to(device)
    with torch.autocast(device.type, dtype=amp_dtype, enabled=cfg.bf16):
        y = ddp_model(b.inputs.to(device), chars, return_attention=weigh_capitals)
    if weigh_capitals:
        y, phi = y
    point_nll = mdn_nll(y, b.targets.to(device), b.mask.to(device), run.model.config.output_mixtures)
    nll = point_nll.sum()                      # logged as it is: the weights only steer the gradient
    if weigh_capitals:
        point_nll = point_nll * capital_point_weights(phi, chars, run.alphabet, cfg.capital_weight)
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


def mixed_precision_here(cfg: TrainConfig, device: torch.device) -> TrainConfig:
    """cfg, in fp32 where bf16 would only be emulated: on a CPU without AVX-512 BF16 (AVX2
    only) PyTorch's bf16 products ran ~100x slower than fp32, and training ~8x slower."""
    if cfg.bf16 and device.type == "cpu" and not cpu.has_bf16():
        warnings.warn("this CPU has no bf16 instructions (AVX-512 BF16): training in fp32, "
                      "which is several times faster here", stacklevel=3)
        return replace(cfg, bf16=False)
    return cfg


def train(cfg: TrainConfig, progress: bool = True) -> dict:
    """Train as `cfg` says; returns the progress (epoch, step, ...) with this process's rank."""
    for name in ("capital_repeats", "joined_repeats"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if not 1.0 <= cfg.capital_weight <= 100.0:
        raise ValueError(f"capital_weight must be between 1 (off) and 100, got {cfg.capital_weight}")
    if cfg.balance_capitals < 0:
        raise ValueError(f"balance_capitals must be 0 (off) or a number of lines, got {cfg.balance_capitals}")
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
