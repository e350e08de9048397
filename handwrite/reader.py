"""The reader: an online handwriting recogniser that turns pen strokes back into text.

It checks what the writer wrote (a word is right or wrong), and reads lines people
record.  A line's strokes become a sequence of pen moves of equal length along the
ink (so the speed and point density of the pen do not matter), measured in the line's
own height (so its size does not matter); a small convolution + bidirectional LSTM
network gives per-frame character probabilities, trained with CTC (Graves et al.,
2006) over the synthesis model's alphabet, code 0 being CTC's blank.

    from handwrite import Reader
    reader = Reader()                       # the bundled reader, loaded on first use
    reader.read(hw)                         # -> "Hello world"
    reader.score(hw, "Hello world")         # -> log-probability of that text

Weights load from safetensors with their settings in its metadata: no pickle.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .alphabet import Alphabet
from .fileio import atomic_write_bytes
from .preprocess import align_baseline, points_to_strokes, resample_strokes

FORMAT = "handwrite-reader"
FORMAT_VERSION = "1"
BUNDLED_READER = Path(__file__).parent / "weights" / "reader.safetensors"
MAX_POINTS = 100_000      # more pen points than any line of handwriting: refused, not read
MAX_JUMP = 4.0            # pen moves clipped to this many line heights (a t-bar's jump back)


class ReaderError(ValueError):
    """Strokes the reader cannot read, or a reader weights file it cannot load."""


@dataclass
class ReaderConfig:
    alphabet: str = ""
    spacing: float = 0.15     # one frame per this much ink, in line heights
    channels: int = 128       # convolution channels
    hidden: int = 128         # LSTM cells per direction
    layers: int = 2
    dropout: float = 0.2

    @property
    def classes(self) -> int:
        return len(self.alphabet) + 1     # + CTC blank (code 0)


# ---- strokes -> frames ---------------------------------------------------------------

FEATURES = 5     # dx, dy, height above the line's middle, pen was lifted before, pen lifts after
FRAMES_VERSION = 2   # bumped whenever ink_frames changes: cached training frames are then rebuilt


def as_strokes(ink) -> list[np.ndarray]:
    """Strokes from a Handwriting, an (N, 3) x, y, end-of-stroke array, or a list of (n, 2) arrays."""
    points = getattr(ink, "points", ink)
    if isinstance(points, np.ndarray) or torch.is_tensor(points):
        arr = np.asarray(points, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ReaderError(f"points must have shape (N, 3) (x, y, end of stroke), not {arr.shape}")
        strokes = points_to_strokes(arr)
    else:
        strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in points]
    strokes = [s for s in strokes if len(s)]
    n = sum(len(s) for s in strokes)
    if n == 0:
        raise ReaderError("no pen points to read")
    if n > MAX_POINTS:
        raise ReaderError(f"{n} pen points is more than one line of handwriting ({MAX_POINTS} at most)")
    if not all(np.isfinite(s).all() for s in strokes):
        raise ReaderError("the strokes hold non-finite coordinates (NaN or infinity)")
    return strokes


def _resample(strokes: list[np.ndarray], spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """(points, points per stroke): each stroke's points every `spacing` along its ink,
    its first and last point kept (a stroke shorter than `spacing`: those two, or one
    for a dot)."""
    return resample_strokes(strokes, lambda total: np.where(
        total < spacing, np.where(total > 0, 2, 1), np.rint(total / spacing).astype(np.int64) + 1))


def line_height(strokes: list[np.ndarray]) -> float:
    """The line's height without its outliers: the middle 90% of its ink's y.

    Measured along the ink at even steps, so that a slow pen (many points in one
    place) does not weigh more than a fast one.
    """
    y = np.concatenate([s[:, 1] for s in strokes])
    x = np.concatenate([s[:, 0] for s in strokes])
    extent = max(float(np.ptp(y)), float(np.ptp(x)) / 4)
    if extent <= 0:
        return 1.0
    even, _ = _resample(strokes, extent / 200)
    lo, hi = np.percentile(even[:, 1], [5, 95])
    span = float(hi - lo)
    if span <= extent / 20:     # a flat line of ink (a dash): measure its length instead
        span = float(np.ptp(even[:, 0])) / 4
    return span if span > 0 else 1.0


def ink_frames(ink, spacing: float) -> np.ndarray:
    """(T, FEATURES) float32: the pen's path in steps of equal ink length, in line heights."""
    strokes = [np.asarray(s, np.float64) for s in align_baseline([s.astype(np.float32) for s in as_strokes(ink)])]
    scale = line_height(strokes)
    pts, counts = _resample([s / scale for s in strokes], spacing)
    first = np.zeros(len(pts), np.float32)
    last = np.zeros(len(pts), np.float32)
    ends = np.cumsum(counts)
    first[np.r_[0, ends[:-1]]] = 1.0
    last[ends - 1] = 1.0
    first[0] = 0.0
    out = np.zeros((len(pts), FEATURES), np.float32)
    out[1:, :2] = np.clip(np.diff(pts, axis=0), -MAX_JUMP, MAX_JUMP)       # moves and heights in line heights
    out[:, 2] = pts[:, 1] - np.median(pts[:, 1])
    out[:, 3] = first
    out[:, 4] = last
    return out


def read_ink_file(path, line: int | None = None) -> list[list[np.ndarray]]:
    """The lines of handwriting in a stroke file (handwrite JSON, InkML, IAM-OnDB XML)."""
    from .stroke_files import read_stroke_file
    inks = [strokes for strokes, _ in read_stroke_file(path)[0]]
    if line is None:
        return inks
    if not 0 <= line < len(inks):
        raise ReaderError(f"{path}: line {line} does not exist; the file has {len(inks)} lines of handwriting")
    return [inks[line]]


# ---- the network ---------------------------------------------------------------------

class ReaderNet(nn.Module):
    """Frames -> per-frame log-probabilities of each character and the blank."""

    STRIDE = 2

    def __init__(self, cfg: ReaderConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.conv = nn.Sequential(
            nn.Conv1d(FEATURES, c, 5, padding=2), nn.GELU(),
            nn.Conv1d(c, c, 5, padding=2, stride=self.STRIDE), nn.GELU(),
            nn.Conv1d(c, c, 3, padding=1), nn.GELU(),
        )
        self.lstm = nn.LSTM(c, cfg.hidden, num_layers=cfg.layers, bidirectional=True,
                            batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(2 * cfg.hidden, cfg.classes)

    def frames_out(self, lengths: torch.Tensor) -> torch.Tensor:
        return (lengths - 1) // self.STRIDE + 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x: (B, T, FEATURES) padded with zeros; lengths: (B,)
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)            # (B, T', C)
        out_len = self.frames_out(lengths)
        packed = nn.utils.rnn.pack_padded_sequence(h, out_len.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True)
        return self.out(self.drop(h)).log_softmax(-1), out_len      # (B, T', classes), (B,)


def pad_frames(frames: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(f) for f in frames], dtype=torch.long)
    x = torch.zeros(len(frames), int(lengths.max()), FEATURES)
    for i, f in enumerate(frames):
        x[i, :len(f)] = torch.from_numpy(f)
    return x, lengths


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """Best path: the likeliest class per frame, repeats merged, blanks dropped."""
    best = log_probs.argmax(-1)
    out = []
    for b in range(len(best)):
        seq = best[b, :int(lengths[b])].tolist()
        out.append([c for i, c in enumerate(seq) if c != 0 and (i == 0 or c != seq[i - 1])])
    return out


# ---- loading and saving ----------------------------------------------------------------

def save_reader(path, net: ReaderNet, info: dict | None = None) -> str:
    """fp16 safetensors with the settings in its metadata; returns the file's sha256."""
    from safetensors.torch import save
    tensors = {k: v.detach().to(torch.float16).contiguous().cpu() for k, v in net.state_dict().items()}
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "config": json.dumps(asdict(net.cfg)), "info": json.dumps(info or {})}
    data = save(tensors, metadata=meta)
    atomic_write_bytes(Path(path), data)
    return hashlib.sha256(data).hexdigest()


def load_reader(path=None) -> tuple[ReaderNet, dict]:
    from safetensors import SafetensorError, safe_open
    path = Path(path) if path is not None else BUNDLED_READER
    if not path.is_file():
        raise ReaderError(f"{path}: no such reader weights file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise ReaderError(f"{path}: not a readable safetensors file ({e})") from None
    if meta.get("format") != FORMAT:
        raise ReaderError(f"{path}: not a handwrite reader file (format {meta.get('format')!r})")
    try:
        cfg = ReaderConfig(**json.loads(meta["config"]))
        net = ReaderNet(cfg)
        net.load_state_dict({k: v.float() for k, v in tensors.items()})
    except (KeyError, TypeError, RuntimeError, json.JSONDecodeError) as e:
        raise ReaderError(f"{path}: the reader file does not fit this version ({e})") from None
    return net.eval(), json.loads(meta.get("info", "{}"))


# ---- the public reader ----------------------------------------------------------------

READER_PRECISIONS = ("fp32", "int8")
INT8_FROM = 2        # inks read together for int8 to pay: one alone read slower than in fp32 (docs/reading.md)
# On "avx2" CPUs (the AMD EPYC measured) an fp32 LSTM over 2 to 7 lines at once took longer
# than over each alone (the small products of its steps, docs/speed.md): read them one at a time.
ONE_AT_A_TIME_BELOW = 8


def quantized(net: ReaderNet) -> nn.Module:
    """A copy of the net with int8 LSTM and output weights (PyTorch's dynamic quantization:
    activations quantized per call, int32 sums); None where this torch cannot."""
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # torch marks eager-mode quantization deprecated, not its ops
            return torch.ao.quantization.quantize_dynamic(net, {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    except (AttributeError, RuntimeError):
        return None


def checking_precision(precision: str) -> str:
    """The word check's reader precision for a writer's sampling precision: int8 only
    where int8 was asked for, or throughput ("fastest"); on every CPU kind, "auto" checks
    in fp32, because the int8 reader passes misspelt words the fp32 one catches
    (docs/reading.md, session 26)."""
    return "int8" if precision in ("int8", "onnx-int8", "fastest") else "fp32"


class Reader:
    """Reads pen strokes: `read(ink) -> str`, `score(ink, text) -> log p(text | ink)`.

    ink: a Handwriting, an (N, 3) array of x, y, end-of-stroke (y down), or a list of
    (n, 2) strokes.  Load once and reuse: the network loads on the first read.
    precision: "fp32", or "int8" for calls that read INT8_FROM inks or more (the word
    check's batches; a line's CER on the validation writers moves by under 0.001: docs/reading.md).
    """

    def __init__(self, weights=None, net: ReaderNet | None = None, precision: str = "fp32"):
        if precision not in READER_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(READER_PRECISIONS)}; got {precision!r}")
        self._path = weights
        self._net = net
        self.precision = precision
        self.info: dict = {}
        self._int8 = None
        self._twins: dict[str, Reader] = {precision: self}

    @property
    def net(self) -> ReaderNet:
        if self._net is None:
            self._net, self.info = load_reader(self._path)
        return self._net

    def at_precision(self, precision: str) -> "Reader":
        """This reader at another precision: the same network, loaded once."""
        if precision not in self._twins:
            twin = Reader(self._path, self.net, precision)
            twin.info, twin._twins = self.info, self._twins
            self._twins[precision] = twin
        return self._twins[precision]

    def _net_for(self, inks: int) -> nn.Module:
        if self.precision == "int8" and inks >= INT8_FROM:
            if self._int8 is None:
                self._int8 = quantized(self.net) or self.net
            return self._int8
        return self.net

    @property
    def alphabet(self) -> Alphabet:
        return Alphabet(self.net.cfg.alphabet)

    def _forward(self, inks) -> tuple[torch.Tensor, torch.Tensor]:
        frames = [ink_frames(ink, self.net.cfg.spacing) for ink in inks]
        net = self._net_for(len(frames))
        with torch.inference_mode():
            if not self._one_at_a_time(net, len(frames)):
                return net(*pad_frames(frames))
            outs = [net(*pad_frames([f])) for f in frames]
        width = max(log_probs.shape[1] for log_probs, _ in outs)
        return (torch.cat([nn.functional.pad(log_probs, (0, 0, 0, width - log_probs.shape[1])) for log_probs, _ in outs]),
                torch.cat([lengths for _, lengths in outs]))

    def _one_at_a_time(self, net, inks: int) -> bool:
        from . import cpu
        return net is self.net and 1 < inks < ONE_AT_A_TIME_BELOW and cpu.kind() == "avx2"

    def read(self, ink) -> str:
        return self.read_many([ink])[0]

    def read_many(self, inks) -> list[str]:
        log_probs, lengths = self._forward(inks)
        return [self.alphabet.decode(codes) for codes in greedy_decode(log_probs, lengths)]

    def read_and_score(self, inks, texts) -> tuple[list[str], list[float]]:
        """(readings, log p(text | ink)) in one pass of the network; a text with characters
        the reader does not know scores -inf."""
        readings, scores = self.read_and_score_each(inks, [[t] for t in texts])
        return readings, [s for s, in scores]

    def read_and_score_each(self, inks, texts: list[list[str]]) -> tuple[list[str], list[list[float]]]:
        """(readings, log p(text | ink) for each of several texts per ink) in one pass of the
        network: texts[i] are the texts to score against inks[i]."""
        if len(inks) != len(texts):
            raise ValueError(f"{len(inks)} inks but {len(texts)} lists of texts")
        log_probs, lengths = self._forward(inks)
        readings = [self.alphabet.decode(codes) for codes in greedy_decode(log_probs, lengths)]
        rows = torch.tensor([i for i, some in enumerate(texts) for _ in some], dtype=torch.long)
        flat = _ctc_scores(log_probs[rows], lengths[rows], [t for some in texts for t in some], self.alphabet)
        ends = np.cumsum([len(some) for some in texts]).tolist()
        return readings, [flat[end - len(some):end] for some, end in zip(texts, ends)]

    def score(self, ink, text: str) -> float:
        return self.score_many([ink], [text])[0]

    def score_many(self, inks, texts) -> list[float]:
        """log p(text | ink) per pair: the CTC probability of the whole text (-inf if impossible)."""
        if len(inks) != len(texts):
            raise ValueError(f"{len(inks)} inks but {len(texts)} texts")
        for t in texts:
            self.alphabet.check(t)
            if not t:
                raise ValueError("each text to score needs at least one character")
        log_probs, lengths = self._forward(inks)
        return _ctc_scores(log_probs, lengths, texts, self.alphabet)


def _ctc_scores(log_probs, lengths, texts, alphabet: Alphabet) -> list[float]:
    """log p(text | frames) per row by CTC; -inf for an empty text or one with unknown characters."""
    ok = [bool(t) and not alphabet.unsupported(t) for t in texts]
    rows = [i for i, good in enumerate(ok) if good]
    out = [-float("inf")] * len(texts)
    if rows:
        codes = [alphabet.encode(texts[i]) for i in rows]
        targets = torch.tensor([c for cs in codes for c in cs], dtype=torch.long)
        loss = nn.functional.ctc_loss(log_probs[rows].transpose(0, 1), targets, lengths[rows],
                                      torch.tensor([len(c) for c in codes]), reduction="none", zero_infinity=False)
        for i, v in zip(rows, loss.tolist()):
            out[i] = -v
    return out


_bundled: Reader | None = None


def warn_if_misread(ink, text: str, where) -> None:
    """Warn (UserWarning) when the bundled reader finds that `ink` does not say `text`: a
    primer with the wrong text teaches the writer garbage.  Silent where no reader is installed."""
    global _bundled
    if not BUNDLED_READER.is_file():
        return
    import warnings

    from .words import text_agrees
    _bundled = _bundled or Reader()
    reading = _bundled.read(ink)
    if not text_agrees(reading, text):
        warnings.warn(f"{where}: the strokes read as {reading!r}, not {text!r}; check the text given for them",
                      UserWarning, stacklevel=3)
