"""`handwrite eval --htr`: is the generated data any use?  The reader (handwrite/reader.py)
trained on generated lines only, on the real training lines, and on both, each reading
the REAL lines of the held-out writers; the figure is their character error rate (the
"HTG_HTR" protocol of handwriting generation papers).

The generated lines say the texts of the training writers' lines (so no validation text
is ever written), labels checked by the bundled reader, in many hands: `handwrite.dataset`'s
defaults (presets and free), or (hands="writers") primed by one line of each training
writer, as generation papers do when they measure their data.  Readers start from the
same seed and train for the same number of epochs (or steps); each is judged by reading
the validation lines at the end (a curve along the way, `curve_every`, is only logged).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..alphabet import Alphabet
from ..fileio import atomic_write_bytes
from ..reader import ReaderConfig, ReaderNet, ink_frames
from ..weights import load_checkpoint, save_checkpoint
from .dataset import bucket_batches, writer_split
from .train_reader import FrameSet, _usable, evaluate, load_frames, train_step

SETS = ("generated", "real", "real+generated")
HANDS = ("dataset", "writers")
WRITER_GROUP_LINES = 16       # lines a writer's group: small, so that a few thousand lines meet most writers
CHECKPOINT_EVERY = 200        # batches between a reader's checkpoints: a run cut off loses at most these
# the settings that make a reader's training what it is: a checkpoint of other settings is not resumed
RUN_KEYS = ("bias", "hands", "epochs", "max_steps", "batch_size", "lr", "seed", "augment", "real_lines", "check_words",
            "precision")


@dataclass
class HTRConfig:
    data: str                       # IAM-OnDB folder
    work: str = "runs/htr"          # the generated dataset and the log
    lines: int = 1000               # generated lines
    bias: tuple | None = None       # the generated lines' range of sampling bias (None: handwrite.dataset's)
    hands: str = "dataset"          # "dataset": its default hands; "writers": primed by the training writers
    epochs: int = 5
    max_steps: int | None = None    # per reader, at most this many batches
    curve_every: int | None = None  # also log the validation CER every this many batches (a curve; never a stopping rule)
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    augment: float = 0.15
    real_lines: int | None = None   # use at most this many real training lines (None: all)
    check_words: bool = True
    workers: int | None = None
    precision: str = "fastest"
    threads: int = 1                # torch threads while training (more only helps on an idle machine)
    sets: tuple = SETS              # which readers to train (a run cut short can finish the others)
    model: ReaderConfig = field(default_factory=ReaderConfig)


def writer_primers(data: str, train_writers: set, folder: Path, seed: int) -> list[Path]:
    """One line of each training writer as a style file in `folder` (written once; its
    files are then reused, so a resumed run primes with the same lines)."""
    from ..styles import MAX_CHARS, MIN_CHARS, Style
    from .iam import read_iam
    done = folder / "writers.txt"
    if done.is_file():
        return [folder / name for name in done.read_text(encoding="utf-8").split()]
    lines, _ = read_iam(data, warn=False)
    by_writer: dict = {}
    for ln in lines:
        if ln.writer_id in train_writers and MIN_CHARS <= len(" ".join(ln.text.split())) <= MAX_CHARS:
            by_writer.setdefault(ln.writer_id, []).append(ln)
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for writer in sorted(by_writer):
        ln = by_writer[writer][int(rng.integers(len(by_writer[writer])))]
        path = folder / f"writer-{writer}.json"
        Style(ln.strokes, ln.text, name=f"writer-{writer}").to_json(path)
        paths.append(path)
    if not paths:
        raise ValueError(f"{data}: no training writer has a line that can prime")
    atomic_write_bytes(done, "".join(p.name + "\n" for p in paths).encode("utf-8"))
    return paths


def claim_work(cfg: HTRConfig) -> None:
    """A work folder's texts, primers and generated lines follow from the seed and the real
    training lines: one folder serves one such pair (readers with other settings may share it)."""
    work = Path(cfg.work)
    work.mkdir(parents=True, exist_ok=True)
    mine = {"seed": cfg.seed, "real_lines": cfg.real_lines}
    path = work / "work.json"
    if path.is_file():
        theirs = json.loads(path.read_text(encoding="utf-8"))
        if theirs != mine:
            raise ValueError(f"{work} holds the generated lines of seed {theirs['seed']} and real_lines "
                             f"{theirs['real_lines']}, not seed {cfg.seed} and real_lines {cfg.real_lines}: "
                             "give another work folder (--htr-work)")
    else:
        atomic_write_bytes(path, json.dumps(mine).encode("utf-8"))


def generated_frames(cfg: HTRConfig, texts: list[str], spacing: float, progress: bool,
                     train_writers: set = frozenset()) -> FrameSet:
    """`cfg.lines` lines written with handwrite.dataset (resumable, in WORK/generated-...) as
    reader frames."""
    from ..dataset import DatasetSettings, make_dataset
    from ..dataset.table import read_rows
    work = Path(cfg.work)
    source = work / "train-texts.txt"
    if not source.is_file():      # shuffled: the first N lines then span the training writers
        order = np.random.default_rng(cfg.seed).permutation(len(texts))
        source.write_text("".join(texts[i] + "\n" for i in order), encoding="utf-8")
    name, extra = f"generated-{cfg.lines}", {}
    if cfg.bias is not None:
        name += f"-bias{cfg.bias[0]:g}-{cfg.bias[1]:g}"
        extra["bias"] = tuple(cfg.bias)
    if cfg.hands == "writers":
        name += "-writers"
        extra.update(hands=(), group_lines=WRITER_GROUP_LINES,
                     style_files=tuple(str(p) for p in writer_primers(cfg.data, train_writers, work / "primers",
                                                                      cfg.seed)))
    out = work / name
    make_dataset(DatasetSettings(texts=str(source), out=str(out), lines=cfg.lines, seed=cfg.seed, **extra,
                                 formats=("parquet",), check_words=cfg.check_words, workers=cfg.workers,
                                 precision=cfg.precision, progress=progress))
    frames, labels = [], []
    for path in sorted((out / "data").glob("*.parquet")):
        for row in read_rows(path):
            frames.append(ink_frames(row["strokes"], spacing))
            labels.append(row["text"])
    return FrameSet(frames, labels, ["generated"] * len(labels))


def fit(train: FrameSet, val: FrameSet, alphabet: Alphabet, cfg: HTRConfig, name: str, log) -> dict:
    """Train a fresh reader on `train` for the epochs (or steps) of `cfg`; its CER on `val`
    at the end.  The validation lines are the test, not a stopping rule: with
    `cfg.curve_every` they are also read along the way, but only logged.

    Resumable: the reader, its optimiser and where it stood are checkpointed in cfg.work
    every CHECKPOINT_EVERY batches, at each epoch's end and on Ctrl-C; a run cut off goes
    on from there with the same batches and draws (a reader's training outlasts a session
    at one thread), and a finished reader's figures are kept, not trained again."""
    path = Path(cfg.work) / f"reader-{name.replace('+', '-')}.checkpoint.pt"
    run = json.dumps({"set": name, "lines": len(train.texts), "alphabet": alphabet.chars,
                      **{k: v for k, v in cfg.__dict__.items() if k in RUN_KEYS}, "model": cfg.model.__dict__},
                     sort_keys=True, default=list)
    torch.manual_seed(cfg.seed)
    net = ReaderNet(ReaderConfig(**{**cfg.model.__dict__, "alphabet": alphabet.chars}))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    at = _resumed(path, run, net, opt)
    if at["result"] is not None:
        return at["result"]

    def checkpoint():
        save_checkpoint(path, {"run": run, "at": json.dumps(at), "net": net.state_dict(), "opt": opt.state_dict(),
                               "rng": torch.get_rng_state()})
    idx, val_idx = _usable(train, alphabet), _usable(val, alphabet).tolist()
    lengths = np.array([len(train.frames[i]) for i in idx])
    start = time.monotonic() - at["seconds"]
    try:
        while at["epoch"] < cfg.epochs and not (cfg.max_steps and at["step"] >= cfg.max_steps):
            net.train()
            batches = bucket_batches(lengths, cfg.batch_size, cfg.seed, at["epoch"])
            for b in batches[at["batch"]:]:
                at["losses"].append(train_step(net, opt, train, idx[b], alphabet, cfg.seed, at["epoch"], cfg.augment))
                at["step"] += 1
                at["batch"] += 1
                at["seconds"] = time.monotonic() - start
                if cfg.max_steps and at["step"] >= cfg.max_steps:
                    break
                if cfg.curve_every and at["step"] % cfg.curve_every == 0:
                    log({"set": name, "step": at["step"], "curve": evaluate(net, val, val_idx, alphabet),
                         "seconds": time.monotonic() - start})
                if at["step"] % CHECKPOINT_EVERY == 0:
                    checkpoint()
            log({"set": name, "epoch": at["epoch"] + 1, "step": at["step"], "train_loss": float(np.mean(at["losses"])),
                 "seconds": time.monotonic() - start})
            at.update(epoch=at["epoch"] + 1, batch=0, losses=[])
            checkpoint()
    except KeyboardInterrupt:
        checkpoint()                             # goes on from the batch after the last one done
        raise
    figures = evaluate(net, val, val_idx, alphabet)
    at["result"] = {"set": name, "epochs": at["epoch"], "steps": at["step"], **figures, "train_lines": int(len(idx)),
                    "seconds": time.monotonic() - start}
    checkpoint()
    log(at["result"])
    return at["result"]


def _resumed(path: Path, run: str, net, opt) -> dict:
    """Where a reader's training stands: from its checkpoint when it holds this run (the net,
    the optimiser and torch's draws restored), else from the start.  Another run's
    checkpoint is not resumed, but replaced."""
    saved = load_checkpoint(path) if path.is_file() else {}
    if saved.get("run") != run:
        return {"epoch": 0, "batch": 0, "step": 0, "seconds": 0.0, "losses": [], "result": None}
    at = json.loads(saved["at"])
    if at["result"] is None:
        net.load_state_dict(saved["net"])
        opt.load_state_dict(saved["opt"])
        torch.set_rng_state(saved["rng"])
    return at


def evaluate_htr(cfg: HTRConfig, progress: bool = True) -> dict:
    """CER on the real validation writers of readers trained on each of SETS."""
    if cfg.hands not in HANDS:
        raise ValueError(f"hands {cfg.hands!r}: choose one of {', '.join(HANDS)}")
    claim_work(cfg)
    torch.set_num_threads(cfg.threads)
    real = load_frames(cfg.data, cfg.model.spacing, progress=progress)
    train_idx, val_idx, val_writers = writer_split(real.writers)
    if cfg.real_lines is not None:
        train_idx = np.random.default_rng(cfg.seed).permutation(train_idx)[:cfg.real_lines]
    pick = (lambda idx: FrameSet([real.frames[i] for i in idx], [real.texts[i] for i in idx],
                                 [real.writers[i] for i in idx]))
    real_train, val = pick(train_idx), pick(val_idx)
    generated = generated_frames(cfg, real_train.texts, cfg.model.spacing, progress, set(real_train.writers))
    alphabet = Alphabet("".join(sorted(set("".join(real.texts)))))
    both = FrameSet(real_train.frames + generated.frames, real_train.texts + generated.texts,
                    real_train.writers + generated.writers)
    log_path = Path(cfg.work) / "htr-log.jsonl"

    def log(line):
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        if progress:
            print(json.dumps(line), flush=True)
    results = {name: fit(train, val, alphabet, cfg, name, log)
               for name, train in zip(SETS, (generated, real_train, both)) if name in cfg.sets}
    return {"generated_lines": len(generated.texts), "generated_bias": cfg.bias and list(cfg.bias),
            "generated_hands": cfg.hands,
            "real_train_lines": len(real_train.texts),
            "val_lines": len(val.texts), "val_writers": len(val_writers), "epochs": cfg.epochs,
            "max_steps": cfg.max_steps, "cer": {k: v["val_cer"] for k, v in results.items()}, "runs": results}


def format_htr_report(result: dict) -> str:
    cer = result["cer"]
    out = [f"Readers read {result['val_lines']} real lines of {result['val_writers']} held-out writers "
           f"(character error rate, greedy decoding):"]
    if result.get("generated_bias"):
        out.append("(generated lines written at bias {:g}-{:g})".format(*result["generated_bias"]))
    if result.get("generated_hands") == "writers":
        out.append("(generated lines primed by one line of each training writer)")
    for name in (n for n in SETS if n in result["runs"]):
        run = result["runs"][name]
        out.append(f"  trained on {name:<15} {run['train_lines']:>6} lines, {run['steps']:>6} steps   "
                   f"CER {cer[name]:.3f}")
    if cer.get("real", 0) > 0 and len(cer) == len(SETS):
        out.append(f"generated / real: {cer['generated'] / cer['real']:.2f}x; "
                   f"real+generated / real: {cer['real+generated'] / cer['real']:.2f}x")
    return "\n".join(out)
