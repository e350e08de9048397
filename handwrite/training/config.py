"""What a training run is asked to do (`TrainConfig`) and what it carries from step to
step (`Run`): its log, data, model, optimiser, progress, and the checkpoints of them."""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from .. import cpu
from ..alphabet import Alphabet
from ..model import HandwritingModel, ModelConfig
from ..preprocess import Normalizer
from ..weights import save_checkpoint
from .dataset import VAL_FRACTION, LineSet
from .processes import Processes

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
    teach: str = ""                   # letters the model writes badly: their lines are listed more often (letter_balance)
    teach_lines: int = 300            # ... so that each of them is in about this many lines per epoch
    teach_weight: float = 1.0         # points drawn while the attention is on one of them count this many times
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


def mixed_precision_here(cfg: TrainConfig, device: torch.device) -> TrainConfig:
    """cfg, in fp32 where bf16 would only be emulated: on a CPU without AVX-512 BF16 (AVX2
    only) PyTorch's bf16 products ran ~100x slower than fp32, and training ~8x slower."""
    if cfg.bf16 and device.type == "cpu" and not cpu.has_bf16():
        warnings.warn("this CPU has no bf16 instructions (AVX-512 BF16): training in fp32, "
                      "which is several times faster here", stacklevel=3)
        return replace(cfg, bf16=False)
    return cfg
