"""Looking inside the model: attention heatmaps and predicted pen-offset densities.

Two figures, both after Graves (arXiv 1308.0850):

- `attention_figure`: the soft window's weights phi(t, u) of every pen step t over the
  characters u of each line: a diagonal band shows the network reading the text as it
  writes.
- `density_figure`: the network re-reads a written line point by point (teacher forcing)
  and predicts, at each point, a mixture of bivariate Gaussians for where the pen goes
  next.  The densities of all steps, summed on a grid in page coordinates, are drawn as
  a heatmap under the strokes.

Figures are plain matplotlib `Figure`s on the Agg canvas (no pyplot, no GUI backend);
matplotlib and torch load only when a figure is made.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fileio import write_file
from .layout import UNIT
from .outputs import FIGURE_FORMATS, format_for

SPACE_MARK = "\u2423"           # an open box: a visible space on the character axis
PATCH_SIGMAS = 4.0              # a component's density is evaluated within this many sigmas
MAX_PATCH = 200.0               # page units: no step's prediction is drawn farther than this


# ---- figures in general -----------------------------------------------------------------
def new_figure(figsize, dpi: float):
    """A matplotlib Figure on the Agg canvas, independent of pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, *, dpi: float | None = None) -> Path:
    """Write a figure as PNG, SVG or PDF, chosen by the extension, at its own size."""
    ext = format_for(path, FIGURE_FORMATS, what="figure").name
    buf = io.BytesIO()
    # no bbox_inches="tight": the file keeps the figure's size (inches x dpi)
    fig.savefig(buf, format=ext, dpi=dpi or fig.dpi)
    return write_file(path, buf.getvalue())


# ---- attention ------------------------------------------------------------------------------
def attention_figure(hw, *, figsize=None, dpi: float = 100.0, cmap: str = "viridis"):
    """One heatmap per written line: steps across, the line's characters down."""
    lines = [ln for ln in hw.lines if ln.text]
    if not lines:
        raise ValueError("nothing to plot: the handwriting has no written lines")
    for n, ln in enumerate(lines, 1):
        if ln.phi is None:
            raise ValueError(f"line {n} ({ln.text!r}) has no attention weights (phi): only handwriting "
                             "just written by a Writer records them, not handwriting loaded from JSON")
        phi = np.asarray(ln.phi)
        if phi.ndim != 2 or phi.shape[1] != len(ln.text):
            raise ValueError(f"line {n} ({ln.text!r}): phi has shape {phi.shape}, expected (steps, {len(ln.text)})")
    heights = [max(1.2, 0.16 * len(ln.text) + 0.8) for ln in lines]
    if figsize is None:
        figsize = (10.0, min(sum(heights), 40.0))
    fig = new_figure(figsize, dpi)
    axes = fig.subplots(len(lines), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, ln in zip(axes, lines):
        phi = np.asarray(ln.phi, dtype=np.float32)
        image = ax.imshow(phi.T, aspect="auto", origin="upper", interpolation="nearest", cmap=cmap,
                          extent=(-0.5, phi.shape[0] - 0.5, len(ln.text) - 0.5, -0.5))
        ax.set_yticks(range(len(ln.text)))
        ax.set_yticklabels([SPACE_MARK if c == " " else c for c in ln.text],
                           fontsize=max(4.0, min(9.0, 200.0 / len(ln.text))))
        ax.set_ylabel("character")
        ax.set_title(ln.text, fontsize=9, loc="left")
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01, label="phi")
    axes[-1].set_xlabel("pen step")
    return fig


# ---- predicted offset densities ---------------------------------------------------------
@dataclass
class LineMixtures:
    """The network's prediction of the next pen point at each point of a line (page units).

    Step t predicts point t + 1 from points 0..t.
    """
    points: np.ndarray       # (T, 3) the line's page points
    weights: np.ndarray      # (T - 1, M) mixture weights pi
    means: np.ndarray        # (T - 1, M, 2) absolute page positions of the component means
    sigmas: np.ndarray       # (T - 1, M, 2) standard deviations in page units
    rhos: np.ndarray         # (T - 1, M) correlations
    eos: np.ndarray          # (T - 1,) probability that the pen lifts after the next point


def predict_line(writer, line, *, bias: float = 0.0) -> LineMixtures:
    """Teacher-force the writer's model over one written line and return its predictions.

    The line is read as it lies on the page: its offsets are the page points' steps scaled
    back to model units (page units / layout.UNIT) and normalised.  Lines written with a
    primer are read without it.  bias sharpens the mixture as in sampling (0: as trained).
    """
    import torch

    from .mixture import biased_sigmas, biased_weights
    from .model import split_params

    points = np.asarray(line.points, dtype=np.float32)
    if len(points) < 2:
        raise ValueError(f"line {line.text!r} has fewer than two points: nothing to predict")
    offsets = np.zeros_like(points)
    offsets[1:, :2] = np.diff(points[:, :2], axis=0) / UNIT
    offsets[:, 2] = points[:, 2]
    x = writer.normalizer.normalize(offsets)
    codes = writer.alphabet.encode(line.text) + [0]     # + the empty position past the end, as in sampling
    model = writer.model
    param = next(model.parameters())
    with torch.inference_mode():
        y = model(torch.from_numpy(x).to(param)[None], torch.tensor([codes], device=param.device))
    eos_logit, pi, mx, my, lsx, lsy, rho_hat = (t[0, :-1].float().cpu()
                                                 for t in split_params(y, model.config.output_mixtures))
    std, mean = writer.normalizer.std, writer.normalizer.mean
    weights = biased_weights(pi, bias).numpy()                        # as sampling draws them
    steps = torch.stack([mx, my], -1).numpy() * std + mean            # model units
    means = points[:-1, None, :2] + steps * UNIT
    sigmas = biased_sigmas(torch.stack([lsx, lsy], -1), bias).numpy() * std * UNIT
    return LineMixtures(points, weights, means, sigmas, torch.tanh(rho_hat).numpy(),
                        torch.sigmoid(eos_logit).numpy())


def density_grid(mixtures: list[LineMixtures], extent, cell: float) -> np.ndarray:
    """Sum of every step's mixture density on a grid of `cell`-sized squares.

    extent: (x0, y0, x1, y1) in page units.  Row i, column j holds the density at the
    centre of the cell (x0 + (j + .5) cell, y0 + (i + .5) cell).  Each step is evaluated
    only near its components (PATCH_SIGMAS sigmas), which keeps this linear in the steps.
    """
    x0, y0, x1, y1 = extent
    nx, ny = max(1, int(np.ceil((x1 - x0) / cell))), max(1, int(np.ceil((y1 - y0) / cell)))
    grid = np.zeros((ny, nx), dtype=np.float64)
    for mix in mixtures:
        for t in range(len(mix.weights)):
            w, mu, sd, rho = mix.weights[t], mix.means[t], mix.sigmas[t], mix.rhos[t]
            keep = w > 1e-4
            w, mu, sd, rho = w[keep], mu[keep], sd[keep], rho[keep]
            reach = np.minimum(PATCH_SIGMAS * sd, MAX_PATCH)
            lo = np.maximum(((mu - reach).min(0) - (x0, y0)) // cell, 0).astype(int)
            hi = np.minimum(((mu + reach).max(0) - (x0, y0)) // cell + 1, (nx, ny)).astype(int)
            if np.any(hi <= lo):
                continue                                   # the prediction lies off the grid
            xs = x0 + (np.arange(lo[0], hi[0]) + 0.5) * cell
            ys = y0 + (np.arange(lo[1], hi[1]) + 0.5) * cell
            zx = (xs[None, None, :] - mu[:, 0, None, None]) / sd[:, 0, None, None]   # (K, 1, X)
            zy = (ys[None, :, None] - mu[:, 1, None, None]) / sd[:, 1, None, None]   # (K, Y, 1)
            r = rho[:, None, None]
            one_m_r2 = np.maximum(1 - r * r, 1e-6)
            z = (zx * zx + zy * zy - 2 * r * zx * zy) / one_m_r2
            norm = w / (2 * np.pi * sd[:, 0] * sd[:, 1] * np.sqrt(one_m_r2[:, 0, 0]))
            grid[lo[1]:hi[1], lo[0]:hi[0]] += np.einsum("k,kyx->yx", norm, np.exp(-0.5 * z))
    return grid


def density_figure(hw, writer=None, *, bias: float = 0.0, figsize=None, dpi: float = 100.0,
                   cell: float = 0.5, margin: float = 10.0, cmap: str = "magma_r", show_strokes: bool = True):
    """The summed predicted offset densities of every line, drawn over the page.

    writer: the Writer whose model reads the strokes (default: the one that wrote them,
    `hw.source`).  cell: grid resolution in page units.
    """
    from matplotlib.colors import PowerNorm

    writer = writer if writer is not None else hw.source
    if writer is None:
        raise ValueError("this handwriting has no model to read it (source is None, e.g. it was loaded "
                         "from JSON): pass writer=Writer(...)")
    if cell <= 0:
        raise ValueError(f"cell must be positive, got {cell}")
    lines = [ln for ln in hw.lines if ln.text and len(ln.points) >= 2]
    if not lines:
        raise ValueError("nothing to plot: the handwriting has no written lines")
    mixtures = [predict_line(writer, ln, bias=bias) for ln in lines]
    pts = np.concatenate([ln.points[:, :2] for ln in lines])
    extent = (float(pts[:, 0].min()) - margin, float(pts[:, 1].min()) - margin,
              float(pts[:, 0].max()) + margin, float(pts[:, 1].max()) + margin)
    grid = density_grid(mixtures, extent, cell)
    x0, y0 = extent[:2]
    x1, y1 = x0 + grid.shape[1] * cell, y0 + grid.shape[0] * cell
    if figsize is None:
        aspect = (y1 - y0) / (x1 - x0)
        figsize = (12.0, float(np.clip(12.0 * aspect, 1.5, 20.0)))
    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot()
    # a power norm lifts the faint spread of uncertain steps next to the sharp certain ones
    ax.imshow(grid, extent=(x0, x1, y1, y0), origin="upper", cmap=cmap, interpolation="bilinear",
              norm=PowerNorm(0.4, vmin=0.0, vmax=max(float(grid.max()), 1e-12)))
    if show_strokes:
        for ln in lines:
            for s in ln.strokes:
                ax.plot(s[:, 0], s[:, 1], color="#1f5fbf", linewidth=0.6, alpha=0.8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig
