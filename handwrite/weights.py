"""Saving and loading model weights without unpickling code.

Two file kinds:
- exported weights (`.safetensors`, fp16): what the package bundles and `Writer` loads.
  Metadata holds the model config, the alphabet, the offset normalisation and a
  summary of the training run.
- training checkpoints (`.pt`): model + optimiser state for resuming, read with
  `torch.load(weights_only=True)` so a tampered file cannot run code.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .alphabet import Alphabet
from .fileio import atomic_write_bytes
from .model import HandwritingModel, ModelConfig
from .preprocess import Normalizer

FORMAT = "handwrite-weights"
FORMAT_VERSION = "1"
BUNDLED_DIR = Path(__file__).parent / "weights"
BUNDLED_WEIGHTS = BUNDLED_DIR / "model.safetensors"
BUNDLED_CHECKSUM = BUNDLED_DIR / "model.sha256"


class WeightsError(ValueError):
    """A weights or checkpoint file is missing, damaged, or does not fit this model."""


@dataclass
class LoadedModel:
    model: HandwritingModel
    alphabet: Alphabet
    normalizer: Normalizer
    info: dict          # training summary (epochs, validation NLL, ...)
    path: Path


def export_weights(path, model: HandwritingModel, alphabet: Alphabet, normalizer: Normalizer,
                   info: dict | None = None) -> str:
    """Write fp16 safetensors; returns the file's sha256."""
    from safetensors.torch import save

    tensors = {k: v.detach().to(torch.float16).contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "config": json.dumps(model.config.to_dict()),
        "alphabet": json.dumps(alphabet.chars),
        "normalizer": json.dumps(normalizer.to_dict()),
        "info": json.dumps(info or {}),
    }
    data = save(tensors, metadata=meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def load_weights(path=None, device="cpu") -> LoadedModel:
    """Load exported weights (default: the bundled model, checksum verified)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    bundled = path is None
    path = Path(path) if path is not None else BUNDLED_WEIGHTS
    if not path.is_file():
        if bundled:
            raise WeightsError(f"{path}: the bundled model is missing from this installation")
        raise WeightsError(f"{path}: no such weights file")
    data = path.read_bytes()
    if bundled and BUNDLED_CHECKSUM.is_file():
        expected = BUNDLED_CHECKSUM.read_text().split()[0]
        if hashlib.sha256(data).hexdigest() != expected:
            raise WeightsError(f"{path}: checksum mismatch, the bundled weights are damaged; reinstall the package")
    try:
        tensors = load(data)
        meta = _read_safetensors_metadata(data)
    except (SafetensorError, ValueError, KeyError) as e:
        raise WeightsError(f"{path}: not a readable safetensors weights file ({e})") from None
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a handwrite weights file (format={meta.get('format')!r})")
    try:
        config = ModelConfig.from_dict(json.loads(meta["config"]))
        alphabet = Alphabet(json.loads(meta["alphabet"]))
        norm = json.loads(meta["normalizer"])
        normalizer = Normalizer(norm["mean"], norm["std"])
        info = json.loads(meta.get("info", "{}"))
        if not isinstance(info, dict):
            raise TypeError("info is not a JSON object")
    except (KeyError, ValueError, TypeError) as e:
        raise WeightsError(f"{path}: damaged metadata ({e})") from None
    model = _build_model(config, alphabet, tensors, path)
    model.to(device).eval()
    return LoadedModel(model, alphabet, normalizer, info, path)


def _read_safetensors_metadata(data: bytes) -> dict:
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or n > len(data) - 8:
        raise ValueError("bad header length")
    header = json.loads(data[8:8 + n])
    return header.get("__metadata__", {}) or {}


def _build_model(config: ModelConfig, alphabet: Alphabet, tensors, path: Path) -> HandwritingModel:
    """The network of `config` holding `tensors`; WeightsError when they do not fit.

    Shapes are checked against a model on the 'meta' device first, which allocates
    nothing: a damaged config asking for an enormous network fails here, cheaply.
    """
    if alphabet.size != config.alphabet_size:
        raise WeightsError(f"{path}: alphabet has {len(alphabet)} characters but the model expects {config.alphabet_size - 1}")
    step = config.kappa_step
    if not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
        raise WeightsError(f"{path}: impossible model config (kappa_step={step!r})")
    try:
        with torch.device("meta"):
            own = HandwritingModel(config).state_dict()
    except (RuntimeError, ValueError, TypeError) as e:
        raise WeightsError(f"{path}: impossible model config {config.to_dict()} ({e})") from None
    if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise WeightsError(f"{path}: the weights are not a dictionary of tensors")
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    if missing or extra:
        raise WeightsError(f"{path}: weights do not fit this model (missing {missing[:3]}, unexpected {extra[:3]})")
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise WeightsError(f"{path}: tensor {k} has shape {tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
        if not torch.isfinite(v).all():
            raise WeightsError(f"{path}: tensor {k} holds NaN or infinite values")
    model = HandwritingModel(config)
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model


# ---- training checkpoints ------------------------------------------------------------------
def save_checkpoint(path, state: dict) -> None:
    """Atomically write a checkpoint: a dict of tensors, numbers, strings and nested dicts."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_checkpoint(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for damaged files
        raise WeightsError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict):
        raise WeightsError(f"{path}: not a training checkpoint (holds a {type(ckpt).__name__}, not a dict)")
    return ckpt


def checkpoint_meta(ckpt: dict, path="checkpoint") -> dict:
    """A checkpoint's metadata: config, alphabet, normalizer, progress, train_config, info."""
    try:
        meta = json.loads(ckpt["meta"])
    except (KeyError, ValueError, TypeError) as e:
        raise WeightsError(f"{path}: not a handwrite training checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{path}: not a handwrite training checkpoint (its metadata is not a JSON object)")
    return meta


def model_from_checkpoint(ckpt: dict, path="checkpoint") -> LoadedModel:
    path = Path(path)
    meta = checkpoint_meta(ckpt, path)
    try:
        config = ModelConfig.from_dict(meta["config"])
        alphabet = Alphabet(meta["alphabet"])
        n = meta["normalizer"]
        normalizer = Normalizer(n["mean"], n["std"])
        info = meta.get("info", {})
        tensors = ckpt["model"]
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise WeightsError(f"{path}: not a handwrite training checkpoint ({type(e).__name__}: {e})") from None
    model = _build_model(config, alphabet, tensors, path)
    model.eval()
    return LoadedModel(model, alphabet, normalizer, info, path)


def export_checkpoint(checkpoint, output) -> str:
    """Checkpoint (.pt) -> fp16 safetensors inference weights; returns the sha256."""
    ckpt = load_checkpoint(checkpoint)
    loaded = model_from_checkpoint(ckpt, checkpoint)
    progress = checkpoint_meta(ckpt, checkpoint).get("progress", {})
    if not isinstance(progress, dict):
        raise WeightsError(f"{checkpoint}: not a handwrite training checkpoint (progress is not a JSON object)")
    info = dict(loaded.info)
    info.setdefault("epochs", progress.get("epoch"))
    info.setdefault("steps", progress.get("step"))
    return export_weights(output, loaded.model, loaded.alphabet, loaded.normalizer, info)
