"""Figures of codes and of what decoders make of them: the article's VAE, conv and denoising pictures.

Every function returns a matplotlib Figure built without pyplot (see plots.py); those that
draw one panel take `ax=None`. Functions that need a model take a `decode` callable
(codes (M, ...) -> images (M, C, H, W) in [0, 1]), so this module knows no model classes.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from ..errors import ConfigError
from .plots import _fig_ax, as_images, image_rows, label_scatter, reconstructions

METHODS = ("pca", "tsne")


def project_2d(z, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Codes (N, ...) -> (N, 2): as they are when 2-D, else PCA or t-SNE (scikit-learn)."""
    z = _numpy(z).reshape(len(z), -1).astype(np.float64)
    if z.shape[1] <= 2:
        return np.pad(z, ((0, 0), (0, 2 - z.shape[1])))
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(z)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (len(z) - 1) / 3)))
        return TSNE(2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(z)
    raise ConfigError(f"unknown projection '{method}'; known: {', '.join(METHODS)}")


def latent_scatter(z, labels=None, *, method: str = "pca", classes=None, seed: int = 0, title: str = "",
                   ax=None, projected: bool = False) -> Figure:
    """The article's scatter of test-set codes coloured by label (VAE: posterior means).

    z : (N, ...) codes, or any samples (raw pixels too); flattened, d = 2 is drawn directly,
    higher d through `method` ("pca" or "tsne"). labels : (N,) integers or None.
    projected=True: z is already (N, 2), `method`'s projection (`project_2d`, e.g. one cached).
    """
    points = _numpy(z).astype(np.float64) if projected else project_2d(z, method, seed)
    fig, ax = _fig_ax(ax, (6, 5.5))
    colors = None if labels is None else _numpy(labels)
    size = float(np.clip(4000 / max(len(points), 1), 2, 20))  # dots shrink as the cloud grows
    label_scatter(fig, ax, points, colors, size=size, classes=classes)
    flat = _numpy(z).reshape(len(z), -1).shape[1]
    names = ("z1", "z2") if flat <= 2 and not projected else (f"{method} 1", f"{method} 2")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if title:
        ax.set_title(title)
    return fig


def prior_grid(n: int = 15, lo: float = 0.05, hi: float = 0.95) -> torch.Tensor:
    """(n * n, 2) codes on a grid of the N(0, I) prior's quantiles, row-major, top row = largest z2.

    Going through the inverse CDF spaces the grid by probability mass, not by distance (the
    article's [-15, 15] * 0.01 grid only covers [-0.15, 0.15], the prior's very centre).
    """
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(lo, hi, n))
    z2, z1 = torch.meshgrid(q.flip(0), q, indexing="ij")
    return torch.stack([z1.reshape(-1), z2.reshape(-1)], 1)


def manifold(decode, n: int = 15, *, lo: float = 0.05, hi: float = 0.95, ax=None) -> Figure:
    """The article's 2-D manifold: decode(z) tiled over an n x n quantile grid of the prior."""
    images = as_images(decode(prior_grid(n, lo, hi)))
    fig, ax = _fig_ax(ax, (8, 8))
    ax.imshow(tile(images, n), cmap="gray", vmin=0, vmax=1)
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(lo, hi, n)).tolist()
    h, w = images.shape[1:3]
    picks = sorted({0, n // 2, n - 1})
    ax.set_xticks([(i + 0.5) * w for i in picks], [f"{q[i]:.2f}" for i in picks])
    ax.set_yticks([(i + 0.5) * h for i in picks], [f"{q[n - 1 - i]:.2f}" for i in picks])  # top row: largest z2
    ax.set_xlabel(f"z1 (latent axis 1: the prior's quantiles {lo:g} to {hi:g})")
    ax.set_ylabel(f"z2 (latent axis 2: quantiles {lo:g} to {hi:g})")
    ax.set_title("images decoded from a grid over the 2-D latent", fontsize=9)
    return fig


def image_grid(images, *, ncols: int | None = None, title: str | None = None, ax=None) -> Figure:
    """Images (N, C, H, W) or (N, H, W) tiled into one picture (e.g. samples from the prior)."""
    images = as_images(images)
    ncols = ncols or int(np.ceil(np.sqrt(len(images))))
    fig, ax = _fig_ax(ax, (6, 6 * np.ceil(len(images) / ncols) / ncols))
    ax.imshow(tile(images, ncols), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def interpolate_codes(z0: torch.Tensor, z1: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """(steps, *z0.shape): straight-line codes from z0 to z1, both ends included."""
    t = torch.linspace(0.0, 1.0, steps).view(-1, *([1] * z0.dim()))
    return (1 - t) * z0.unsqueeze(0) + t * z1.unsqueeze(0)


def interpolation_strip(decode, z0, z1, *, steps: int = 10, ends=None) -> Figure:
    """Decoded codes along the line z0 -> z1, optionally between the two original images `ends`."""
    row = list(as_images(decode(interpolate_codes(torch.as_tensor(z0), torch.as_tensor(z1), steps))))
    title = "interpolation"
    if ends is not None:
        first, last = as_images(ends)
        row, title = [first, *row, last], "interpolation (originals at the ends)"
    return image_rows([np.stack(row)], titles=[title])


def code_pictures(codes, *, n: int = 10) -> Figure:
    """The article's picture of codes: each (8, 4, 4) code reshaped to 4 x 32 and shown transposed.

    It is `encoded_imgs[i].reshape(4, 4 * 8).T` on the channel-first code, a raw reshape; other
    code shapes become (h, rest).T likewise, and flat codes (d,) a one-pixel-wide column. Codes
    of more than 8 channels (the denoiser's 32 x 7 x 7) would be hairline strips that way: their
    channel maps are tiled 8 to a row instead.
    """
    codes = _numpy(codes)[:n]
    if codes.ndim == 4 and codes.shape[1] > 8:
        return _tiled_codes(codes)
    rows = codes.shape[2] if codes.ndim == 4 else 1
    pictures = codes.reshape(len(codes), rows, -1).transpose(0, 2, 1)
    fig = Figure(figsize=(1.2 * len(pictures), 4))
    axes = fig.subplots(1, len(pictures), squeeze=False)[0]
    for ax, picture in zip(axes, pictures):
        ax.imshow(picture, cmap="gray", aspect="auto" if rows == 1 else "equal")
        ax.set_axis_off()
    return fig


def _tiled_codes(codes: np.ndarray, ncols: int = 8) -> Figure:
    """(N, C, H, W) codes: each one's C maps tiled ncols to a row, scaled to its own maximum."""
    per_row = min(len(codes), 5)
    rows = int(np.ceil(len(codes) / per_row))
    fig = Figure(figsize=(2.6 * per_row, rows * 2.6 * codes.shape[1] / ncols ** 2 + 0.3))
    axes = fig.subplots(rows, per_row, squeeze=False).ravel()
    for ax in axes[len(codes):]:
        ax.set_axis_off()
    for ax, code in zip(axes, codes):
        code = code / max(float(np.abs(code).max()), 1e-12)
        ax.imshow(tile(np.pad(code, ((0, 0), (0, 1), (0, 1))), ncols), cmap="gray")  # a 1-pixel gap
        ax.set_axis_off()
    return fig


def denoising_rows(noisy, denoised, clean=None, *, n: int = 10) -> Figure:
    """The article's figure: noisy inputs over their denoised reconstructions (and the clean images)."""
    rows, titles = [noisy[:n], denoised[:n]], ["noisy input", "denoised"]
    if clean is not None:
        rows.append(clean[:n])
        titles.append("clean")
    return image_rows(rows, titles=titles)


def reconstruction_figure(inputs, recons, clean=None, *, n: int = 10) -> Figure:
    """The figure that fits a model's reconstructions: `ae reconstruct` and the report both draw this one.

    inputs, recons : (N, C, H, W) images or (N, T, F) sequences; clean : the targets of a
    denoiser (then noisy inputs over their denoised outputs over the clean images), else None.
    Images: originals over reconstructions; sequences: see `sequence_reconstructions`.
    """
    if clean is not None:
        return denoising_rows(inputs, recons, clean, n=n)
    if _numpy(inputs).ndim == 3:
        return sequence_reconstructions(inputs, recons, n=n)
    return reconstructions(inputs, recons, n=n)


def sequence_reconstructions(originals, recons, *, n: int = 6, pictures: bool | None = None) -> Figure:
    """Sequences (N, T, F): images (rows = steps) for MNIST read as rows, else line plots per sample.

    `pictures=None` picks images when F >= 8 (an image row per step), lines otherwise.
    """
    originals, recons = _numpy(originals)[:n], _numpy(recons)[:n]
    if pictures if pictures is not None else originals.shape[-1] >= 8:
        return image_rows([originals, recons], titles=["original", "reconstruction"])
    fig = Figure(figsize=(2.6 * len(originals), 2.4))
    axes = fig.subplots(1, len(originals), squeeze=False)[0]
    for i, ax in enumerate(axes):
        for f in range(originals.shape[-1]):
            line = ax.plot(originals[i, :, f], lw=1.2, label="original" if f == 0 else None)[0]
            ax.plot(recons[i, :, f], "--", lw=1.2, color=line.get_color(),
                    label="reconstruction" if f == 0 else None)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    return fig


def tile(images: np.ndarray, ncols: int) -> np.ndarray:
    """(N, H, W[, 3]) -> one (rows * H, ncols * W[, 3]) picture, blank where N runs out."""
    n, h, w = images.shape[:3]
    rows = int(np.ceil(n / ncols))
    canvas = np.zeros((rows * h, ncols * w, *images.shape[3:]), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = image
    return canvas


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)
