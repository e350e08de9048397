"""A sample's look and its picture: what each line draws from its own seed (size, slant,
pen width, ink, image augmentation), the strokes of its words, and its PNG.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np

from ..handwriting import Handwriting, WrittenLine
from ..layout import baseline_of
from ..letters import stroke_spans, word_parts
from ..style_features import body_height_or_span

MM = 96 / 25.4                 # page units (1/96 inch) a millimetre
MARGIN_BODIES = 1.0            # blank margin around the ink, in body heights
# Augmentation limits: small enough that the label stays readable to a person.
MAX_ROTATION = 2.0             # degrees either way
MAX_BLUR = 1.0                 # Gaussian blur radius, pixels
MAX_NOISE = 12.0               # std of the grain added, grey levels
SMALL_STROKE = 0.5             # a stroke narrower and lower than this (body heights) is a dot or a comma


@dataclass(frozen=True)
class Look:
    """How one sample is drawn (the dataset's columns of the same names)."""
    size: float                # body height (the height of an x), mm
    slant: float               # degrees added to the hand's lean (> 0 leans right)
    pen_width: float           # page units
    ink: str
    rotation: float = 0.0      # degrees, counter-clockwise
    blur: float = 0.0
    noise: float = 0.0
    paper: int = -1            # the paper texture's seed; -1: plain white

    def to_dict(self) -> dict:
        return asdict(self)


def draw_look(settings, rng: np.random.Generator) -> Look:
    """A line's look, drawn from the settings' ranges."""
    size = float(rng.uniform(*settings.size))
    slant = float(rng.uniform(*settings.slant))
    pen = float(rng.uniform(*settings.pen_width))
    ink = settings.inks[int(rng.integers(len(settings.inks)))]
    extras = {}
    if settings.augment:
        # each effect on about half the samples: a recogniser also sees clean ones
        on = rng.random(4) < 0.5
        extras = {"rotation": float(rng.uniform(-MAX_ROTATION, MAX_ROTATION)) if on[0] else 0.0,
                  "blur": float(rng.uniform(0.3, MAX_BLUR)) if on[1] else 0.0,
                  "noise": float(rng.uniform(2.0, MAX_NOISE)) if on[2] else 0.0,
                  "paper": int(rng.integers(2**31)) if on[3] else -1}
    return Look(size, slant, pen, ink, **extras)


def slanted(points: np.ndarray, degrees: float) -> np.ndarray:
    """The line sheared about its baseline: `degrees` more lean to the right (y is down)."""
    out = np.array(points, dtype=np.float32, copy=True)
    if len(out) and degrees:
        out[:, 0] += np.tan(np.radians(degrees)) * (baseline_of(out) - out[:, 1])
    return out


def word_masks(points: np.ndarray, phi, text: str) -> list[np.ndarray]:
    """A mask over the points for each word of `text`, in order; [] when the words cannot
    be told apart.  The attention says which word each stroke was drawn for; without it
    (or when it finds another number of words) the widest gaps between strokes cut them."""
    words = text.split()
    masks = word_parts(points, phi, text) if phi is not None else []
    if len(masks) == len(words):
        return tidy_words(points, masks)
    spans = stroke_spans(points)
    if len(spans) < len(words):
        return []
    order = sorted(range(len(spans)), key=lambda k: points[spans[k][0]:spans[k][1] + 1, 0].min())
    lefts = [float(points[spans[k][0]:spans[k][1] + 1, 0].min()) for k in order]
    rights = np.maximum.accumulate([float(points[spans[k][0]:spans[k][1] + 1, 0].max()) for k in order])
    gaps = np.array([lefts[i + 1] - rights[i] for i in range(len(order) - 1)])
    cuts = sorted(np.argsort(-gaps)[:len(words) - 1]) if len(words) > 1 else []
    if any(gaps[c] <= 0 for c in cuts):
        return []
    out, start = [], 0
    for end in [*[c + 1 for c in cuts], len(order)]:
        mask = np.zeros(len(points), bool)
        for k in order[start:end]:
            mask[spans[k][0]:spans[k][1] + 1] = True
        out.append(mask)
        start = end
    return out


def tidy_words(points: np.ndarray, masks: list[np.ndarray]) -> list[np.ndarray]:
    """The words' masks with each small stroke (a dot, a comma, a blip) given to the word
    it lies over, or dropped when it lies between words: the attention can give a stroke
    drawn late (an i's dot) to a neighbouring word, and a stray dot beside a cut-out word
    reads as a letter."""
    body = body_height_or_span(points)
    spans = stroke_spans(points)
    small = [np.ptp(points[a:b + 1, 0]) < SMALL_STROKE * body and np.ptp(points[a:b + 1, 1]) < SMALL_STROKE * body
             for a, b in spans]
    ranges = []
    for mask in masks:
        big = np.zeros(len(points), bool)
        for (a, b), tiny in zip(spans, small):
            big[a:b + 1] |= mask[a:b + 1] & (not tiny)
        xs = points[big if big.any() else mask, 0]
        ranges.append((float(xs.min()), float(xs.max())))
    out = [m.copy() for m in masks]
    for (a, b), tiny in zip(spans, small):
        if not tiny:
            continue
        centre = float(points[a:b + 1, 0].mean())
        for m in out:
            m[a:b + 1] = False
        over = [k for k, (lo, hi) in enumerate(ranges) if lo - 0.2 * body <= centre <= hi + 0.2 * body]
        if over:
            out[over[0]][a:b + 1] = True
    return out


def picture(points: np.ndarray, text: str, look: Look, dpi: float) -> bytes:
    """The PNG of one line's (or word's) points at the look's size, pen and ink."""
    hw = Handwriting(text, [WrittenLine(text, points)]).resized(look.size)
    margin = MARGIN_BODIES * look.size * MM
    png = hw.to_png(dpi=dpi, color=look.ink, stroke_width=look.pen_width, background="white", margin=margin)
    if look.rotation or look.blur or look.noise or look.paper >= 0:
        png = augmented(png, look)
    return png


def augmented(png: bytes, look: Look) -> bytes:
    """The picture rotated, laid on paper, blurred and grained as the look says."""
    from PIL import Image, ImageFilter
    img = Image.open(io.BytesIO(png)).convert("RGB")
    if look.rotation:
        img = img.rotate(look.rotation, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    if look.paper >= 0:
        paper = paper_texture(img.size, np.random.default_rng(look.paper))
        img = Image.fromarray((np.asarray(img, np.float32) * paper / 255.0).astype(np.uint8))  # ink multiplies
    if look.blur:
        img = img.filter(ImageFilter.GaussianBlur(look.blur))
    if look.noise:
        grain = np.random.default_rng(int(look.noise * 1000)).normal(0, look.noise, (img.size[1], img.size[0], 1))
        img = Image.fromarray(np.clip(np.asarray(img, np.float32) + grain, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def paper_texture(size, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) float: a tinted sheet with soft blotches and fine fibres."""
    from PIL import Image
    w, h = size
    tint = np.array([255, 255, 255]) - rng.uniform(0, 22, 3) * np.array([0.6, 0.8, 1.0])   # white to cream
    coarse = rng.normal(0, 1, (max(2, h // 24), max(2, w // 24))).astype(np.float32)
    blotch = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), np.float32)
    fibre = rng.normal(0, 1, (h, w)).astype(np.float32)
    shade = rng.uniform(3, 8) * blotch + rng.uniform(1, 3) * fibre
    return np.clip(tint[None, None, :] + shade[:, :, None], 0, 255)
