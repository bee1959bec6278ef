"""Figures. Every function takes `ax=None` (or a figure size) and returns a matplotlib Figure.

Figures are built with `matplotlib.figure.Figure` directly, not pyplot: no global state, no
GUI backend, nothing shown; the caller saves (`save_figure`) or embeds them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..fileio import atomic_path


def as_images(x) -> np.ndarray:
    """(N, C, H, W) or (N, H, W) tensor/array -> (N, H, W) or (N, H, W, 3) array for imshow."""
    x = x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)
    if x.ndim == 4:
        x = x[:, 0] if x.shape[1] == 1 else np.moveaxis(x, 1, -1)
    return np.clip(x, 0.0, 1.0)


def image_rows(rows, *, titles=None, cell: float = 1.2) -> Figure:
    """A grid with one row per image set (e.g. originals above reconstructions), axes off."""
    rows = [as_images(r) for r in rows]
    n = max(len(r) for r in rows)
    fig = Figure(figsize=(cell * n, cell * len(rows) + 0.3))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, images in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            ax.set_axis_off()
            if j < len(images):
                ax.imshow(images[j], cmap="gray", vmin=0, vmax=1)
        if titles:
            axes[i, 0].set_title(titles[i], loc="left", fontsize=9)
    return fig


def reconstructions(originals, recons, *, n: int = 10) -> Figure:
    """The article's figure: n test images on top, their reconstructions below."""
    return image_rows([originals[:n], recons[:n]], titles=["original", "reconstruction"])


def training_curves(history: list[dict], *, key: str = "loss", scale: float = 1.0, ylabel: str | None = None,
                    ax=None) -> Figure:
    """Train and validation `key` per epoch, times `scale` (e.g. 1 / pixels: a per-image loss per
    pixel, so every model's curve is on the same axis as the per-pixel BCE); `ylabel` says the unit."""
    fig, ax = _fig_ax(ax, (5, 3.2))
    epochs = [r["epoch"] for r in history]
    for split in ("train", "val"):
        ax.plot(epochs, [scale * r[split].get(key, np.nan) for r in history], label=split)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or key)
    ax.legend()
    return fig


def save_figure(fig: Figure, path, dpi: int = 100) -> None:
    """Write a figure atomically; the format follows the file's extension."""
    fmt = Path(path).suffix.lower().lstrip(".")
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ConfigError(f"{path}: cannot write a figure as '.{fmt}'; use one of "
                          f"{', '.join('.' + k for k in sorted(supported))}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")


def _fig_ax(ax, size):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size)
    return fig, fig.add_subplot()


def label_scatter(fig, ax, points: np.ndarray, labels, *, size: float, classes=None):
    """Points coloured by integer label, with a colour bar of one block per label, its tick centred
    on the block (a continuous bar put the ticks 0..9 on the blocks' edges)."""
    if labels is None:
        return ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.8, linewidths=0)
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm

    values = np.unique(labels)
    bounds = np.arange(values.min() - 0.5, values.max() + 1.0)
    cmap = colormaps["tab10" if len(bounds) <= 11 else "tab20"].resampled(len(bounds) - 1)
    sc = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap=cmap, norm=BoundaryNorm(bounds, cmap.N),
                    s=size, alpha=0.8, linewidths=0)
    bar = fig.colorbar(sc, ax=ax, ticks=values)
    if classes:
        bar.ax.set_yticklabels([classes[int(i)] for i in values])
    bar.set_label("label")
    return sc
