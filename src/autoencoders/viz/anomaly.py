"""Figures of anomaly scores: their histograms with the calibrated threshold, ROC curves, and the
samples a score ranks first and last beside their per-pixel error maps (docs/anomaly.md).

Every function returns a matplotlib Figure built without pyplot (see plots.py). Scores are higher =
more anomalous; `is_normal` (N,) bools say which samples are normal, the rest are the anomalies
(the positives of a ROC curve). Nothing here knows a model: the caller passes scores and error maps.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from ..errors import ConfigError
from .plots import _fig_ax, as_images

NORMAL, ANOMALOUS = "tab:blue", "tab:red"


def _vector(x, what: str) -> np.ndarray:
    x = x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)
    if x.ndim != 1:
        raise ConfigError(f"{what} must be one value per sample, (N,); got shape {x.shape}")
    return x


def _scores(scores, is_normal) -> tuple[dict, np.ndarray]:
    """name -> (N,) float64 scores and the (N,) normal mask, checked: same N, finite, both kinds present."""
    if not isinstance(scores, dict) or not scores:
        raise ConfigError("scores must be a non-empty mapping of name -> (N,) scores")
    mask = _vector(is_normal, "is_normal")
    if mask.dtype != bool:
        raise ConfigError(f"is_normal must hold booleans (True = normal), got {mask.dtype}")
    if mask.all() or not mask.any():
        raise ConfigError(f"is_normal must mark some samples normal and some anomalous; got {int(mask.sum())} "
                          f"normal of {len(mask)}")
    out = {}
    for name, s in scores.items():
        s = _vector(s, f"scores[{name!r}]").astype(np.float64)
        if len(s) != len(mask):
            raise ConfigError(f"scores[{name!r}] has {len(s)} values, is_normal {len(mask)}")
        if not np.isfinite(s).all():
            raise ConfigError(f"scores[{name!r}] must be finite")
        out[str(name)] = s
    return out, mask


def score_histograms(scores: dict, is_normal, thresholds: dict | None = None, *, bins: int = 50,
                     clip: float = 0.995, title: str = "") -> Figure:
    """One panel per score: the normal and the anomalous samples' scores (densities, so classes of
    different sizes compare) and each calibrated threshold as a vertical line, its legend saying the
    share of normal samples above it (the realised false-positive rate) and of anomalies (detected).

    scores : name -> (N,) scores, a panel each in order. is_normal : (N,) bools.
    thresholds : name -> {label: threshold}, e.g. {"mse": {"alpha 0.05": 0.031}}; scores it does not
        name get no line. clip : the axis ends at this quantile of the panel's scores, larger ones
        are counted in the last bin (a few far anomalies would squeeze the rest into one bar).
    """
    scores, mask = _scores(scores, is_normal)
    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(scores))
    if unknown:
        raise ConfigError(f"thresholds for scores not drawn: {', '.join(unknown)}")
    if int(bins) < 1 or not 0 < clip <= 1:
        raise ConfigError(f"bins must be positive and clip in (0, 1]; got bins={bins}, clip={clip}")
    fig = Figure(figsize=(4.6 * len(scores), 3.5), layout="constrained")
    axes = fig.subplots(1, len(scores), squeeze=False)[0]
    for ax, (name, s) in zip(axes, scores.items()):
        lines = {str(k): float(v) for k, v in thresholds.get(name, {}).items()}
        lo, hi = float(s.min()), float(np.quantile(s, clip))
        hi = max([hi, *lines.values()]) if lines else hi
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, int(bins) + 1)
        for part, color, label in ((mask, NORMAL, "normal"), (~mask, ANOMALOUS, "anomalous")):
            ax.hist(np.clip(s[part], lo, edges[-1]), bins=edges, density=True, alpha=0.55, color=color,
                    label=f"{label} ({int(part.sum()):,})")
        for (label, t), style in zip(lines.items(), ("-", "--", ":", "-.") * len(lines)):
            ax.axvline(t, color="black", ls=style, lw=1.2,
                       label=f"{label}: {np.mean(s[mask] > t):.1%} of normal, {np.mean(s[~mask] > t):.0%} of anomalous")
        ax.set_xlabel(f"{name} score")
        ax.set_ylabel("density")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def roc_curves(scores: dict, is_normal, *, highlight=(), dashed=(), title: str = "", ax=None) -> Figure:
    """ROC curves (anomalies positive): the share of anomalies found against the share of normal
    samples flagged, one curve per score in order, each labelled with its area (AUROC).

    highlight : names drawn thick (e.g. the default score). dashed : names drawn dashed (e.g. the
    baselines). The chance diagonal is drawn grey, without a label.
    """
    from sklearn.metrics import roc_auc_score, roc_curve  # imported here: sklearn is slow to import

    scores, mask = _scores(scores, is_normal)
    named = {str(n) for n in (*highlight, *dashed)}
    if named - set(scores):
        raise ConfigError(f"highlight/dashed name scores not drawn: {', '.join(sorted(named - set(scores)))}")
    fig, ax = _fig_ax(ax, (5, 4.6))
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8)
    positive = ~mask
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(positive, s)
        ax.plot(fpr, tpr, lw=2.4 if name in highlight else 1.2, ls="--" if name in dashed else "-",
                label=f"{name} ({roc_auc_score(positive, s):.3f})", zorder=3 if name in highlight else 2)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false-positive rate (normal samples flagged)")
    ax.set_ylabel("true-positive rate (anomalies flagged)")
    ax.legend(title="score (AUROC)", fontsize=8, title_fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _maps(errors) -> np.ndarray:
    """(N, C, H, W) or (N, H, W) per-value errors -> (N, H, W): the mean over channels."""
    e = errors.detach().cpu().numpy() if torch.is_tensor(errors) else np.asarray(errors)
    if e.ndim == 4:
        e = e.mean(1)
    if e.ndim != 3:
        raise ConfigError(f"error maps must be (N, C, H, W) or (N, H, W), got shape {e.shape}")
    return e.astype(np.float64)


def _bare(ax) -> None:
    """No ticks and no frame, but the y label kept (set_axis_off would hide it)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def anomaly_gallery(images, errors, scores, *, n: int = 8, labels=None, error_label: str = "squared error",
                    title: str = "") -> Figure:
    """The n highest-scoring samples over their per-pixel error maps, and the n lowest-scoring over
    theirs: what a score finds most and least unlike the training data, and where the
    reconstruction misses. Each image is captioned with its score (and its label, given `labels`);
    the maps share one colour scale, its bar on the right.

    images : (N, C, H, W) or (N, H, W) in [0, 1]. errors : per-pixel errors of the same images, e.g.
    models.base.model_errors(model, x, kind="mse", per_value=True). scores : (N,). labels : (N,) or None.
    """
    pictures = as_images(images)
    maps = _maps(errors)
    s = _vector(scores, "scores").astype(np.float64)
    if pictures.ndim not in (3, 4):
        raise ConfigError(f"images must be (N, C, H, W) or (N, H, W), got shape {np.shape(images)}")
    if not (len(pictures) == len(maps) == len(s)) or pictures.shape[1:3] != maps.shape[1:3]:
        raise ConfigError(f"images {pictures.shape[:3]}, error maps {maps.shape} and scores ({len(s)},) must "
                          "describe the same samples")
    if not np.isfinite(s).all():
        raise ConfigError("scores must be finite")
    lab = None if labels is None else _vector(labels, "labels")
    if lab is not None and len(lab) != len(s):
        raise ConfigError(f"labels has {len(lab)} values, scores {len(s)}")
    n = int(n)
    if n < 1 or 2 * n > len(s):
        raise ConfigError(f"n must be between 1 and half the samples ({len(s) // 2}), got {n}")
    order = np.argsort(-s, kind="stable")
    groups = (("most\nanomalous", order[:n]), ("most\nnormal", order[::-1][:n]))
    vmax = float(max(maps[np.r_[groups[0][1], groups[1][1]]].max(), 1e-12))
    fig = Figure(figsize=(1.2 * n + 1.6, 6.2))
    axes = fig.subplots(4, n, squeeze=False)
    im = None
    for g, (heading, picks) in enumerate(groups):
        for j, i in enumerate(picks):
            top, bottom = axes[2 * g, j], axes[2 * g + 1, j]
            top.imshow(pictures[i], cmap="gray", vmin=0, vmax=1)
            im = bottom.imshow(maps[i], cmap="inferno", vmin=0, vmax=vmax)
            top.set_title(f"{lab[i]}: {s[i]:.3g}" if lab is not None else f"{s[i]:.3g}", fontsize=7)
            _bare(top)
            _bare(bottom)
        axes[2 * g, 0].set_ylabel(heading, fontsize=8)
        axes[2 * g + 1, 0].set_ylabel(error_label.replace(" ", "\n", 1), fontsize=8)
    bar = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02)
    bar.set_label(error_label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
