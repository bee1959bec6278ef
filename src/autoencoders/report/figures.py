"""The report's figures: what the article draws for each experiment, saved as PNG files.

Each function returns [(path relative to the report folder, caption)], captions saying what to
look for.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..api import Run
from ..presets import Experiment, Profile
from ..viz import plots
from ..viz.latent import latent_scatter, reconstruction_figure


def _save(fig, folder: Path, name: str, caption: str) -> tuple[str, str]:
    plots.save_figure(fig, folder / name)
    return f"{folder.name}/{name}", caption


def pixel_tsne_figure(points, labels, folder: Path) -> tuple[str, str]:
    """The t-SNE of raw test pixels (`points`, (n, 2): the first n test images', data_baselines.py):
    the reference picture for the codes' t-SNE."""
    n = len(points)
    fig = latent_scatter(points, labels[:n], method="tsne", projected=True, title="t-SNE of raw pixels")
    return _save(fig, folder, "tsne-pixels.png", f"t-SNE of {n} raw test images, coloured by class: the "
                 "reference for the t-SNE of the shallow dense net's codes, in its section.")


def experiment_figures(run: Run, exp: Experiment, recipe: str, folder: Path, prof: Profile,
                       seed: int) -> list[tuple[str, str]]:
    """Reconstructions, training curves, and each experiment's own pictures."""
    tag = f"{recipe}-{exp.key}"
    inputs, targets, labels = run.split("test")
    figs = [_reconstruction_figure(run, inputs, targets, folder, tag)]
    figs.append(_save(_curves(run), folder, f"{tag}-curves.png",
                      "Training and validation loss per epoch: a widening gap would mean overfitting."))
    if exp.tsne_codes and labels is not None:
        n = min(prof.tsne_samples, len(inputs))
        fig = latent_scatter(run.encode(inputs[:n]), labels[:n], method="tsne", seed=seed, title="t-SNE of codes")
        figs.append(_save(fig, folder, f"{tag}-tsne-codes.png",
                          f"t-SNE of the {n} test codes: classes should separate about as well as raw pixels do."))
    figs += _model_figures(run, exp, tag, folder, inputs, labels)
    return figs


def _curves(run: Run):
    """Loss curves per pixel, as every table: a VAE's loss is per image (the negative ELBO), so it
    is divided by the values per sample; the sparse net's includes its L1 penalty."""
    from ..evaluation.likelihood import is_variational

    if is_variational(run.model):
        values = math.prod(run.model.input_shape)
        return plots.training_curves(run.history, scale=1 / values,
                                     ylabel=f"negative ELBO / {values} (nats per pixel)")
    penalty = " + L1 penalty" if any("l1" in r["train"] for r in run.history) else ""
    return plots.training_curves(run.history, ylabel=f"BCE{penalty} (nats per pixel)")


def summary_figure(runs: list[tuple[str, Run]], originals, folder: Path) -> tuple[str, str]:
    """The same ten test digits through every model, one row each under the originals."""
    rows, titles = [originals[:10]], ["original"]
    for label, run in runs:
        inputs, _, _ = run.split("test")
        recon = run.reconstruct(inputs[:10])
        rows.append(recon.reshape(len(recon), *originals.shape[1:]))  # sequences of rows back to images
        titles.append(label + (" (from the noisy input)" if run.denoises else ""))
    return _save(plots.image_rows(rows, titles=titles), folder, "summary.png",
                 "The same ten test digits (top row) reconstructed by each model, one row per experiment.")


def _reconstruction_figure(run: Run, inputs, targets, folder: Path, tag: str):
    n, noisy = 10, run.denoises
    clean = targets[:n].cpu() if noisy else None  # a denoiser's input is the noisy image
    fig = reconstruction_figure(inputs[:n].cpu(), run.reconstruct(inputs[:n]), clean, n=n)
    if noisy:
        return _save(fig, folder, f"{tag}-denoised.png",
                     "Noisy test digits (top), the model's output (middle), the clean originals (bottom).")
    return _save(fig, folder, f"{tag}-reconstructions.png",
                 "Ten test images (top) and their reconstructions (bottom): look for lost strokes and blur.")


def _model_figures(run: Run, exp: Experiment, tag: str, folder: Path, inputs, labels):
    """Pictures only some models have: conv codes, the VAE's latent space and digit manifold."""
    from ..evaluation.likelihood import is_variational
    from ..viz import latent

    figs = []
    z = run.encode(inputs[:10])
    if z.ndim == 4:
        figs.append(_save(latent.code_pictures(z), folder, f"{tag}-codes.png",
                          "The codes of ten test digits, each (C, H, W) code reshaped to H x (W*C) and "
                          "transposed as in the article: mostly unreadable, which is the point."))
    if is_variational(run.model) and labels is not None:
        z_all = run.encode(inputs)
        figs.append(_save(latent.latent_scatter(z_all, labels, method="pca"), folder, f"{tag}-latent.png",
                          "Test-set posterior means coloured by digit: classes form neighbouring clusters."))
        if z_all.shape[1] == 2:
            fig = latent.manifold(lambda c: run.decode(c), n=15)
            figs.append(_save(fig, folder, f"{tag}-manifold.png",
                              "Digits decoded from a 15x15 grid through the prior's inverse CDF: "
                              "look for smooth morphing between classes."))
    return figs
