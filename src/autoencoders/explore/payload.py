"""What the explorer page knows about each run: its ONNX parts, test images, codes and threshold.

Everything here is plain JSON (numbers rounded where only drawn) plus the run's encoder and
decoder as base64 ONNX, written by the toolkit's own exporter (`autoencoders.export`), and, for a
run holding an anomaly calibration (anomaly.json, `ae score --fpr`), that detector: its score's
definition and fitted tensors (for the page to score drawings the way `ae score` does), its
threshold, alpha and calibration scores (p-values), and `ae score`'s own numbers for the test
images the page offers.
"""

from __future__ import annotations

import base64
import gzip
import math
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..data.splits import missing_split
from ..evaluation.anomaly import reconstruction_errors, threshold_from_scores
from ..evaluation.detection import DETECTOR_JSON, LOF_K, PARTS, anomaly_metadata, has_detector
from ..export import export_model
from ..viz.latent import prior_grid

PERCENTILE = 99.0
THRESHOLD_SAMPLES = 2000  # training samples scored for the threshold (a seeded subset)
SCATTER_POINTS = 2000  # test codes drawn in the latent scatter
STRIP = 12  # test images offered under the pad
DIRECTIONS = 4  # principal directions of the codes offered as sliders
GRID = 15  # the manifold's n x n grid
IN_PAGE = ("bce", "mse", "knn", "lof", "maha")  # score parts the page computes from its encoder and decoder
STATE_BYTES = 4_000_000  # the most fitted-state bytes (training codes, float32) a run's detector ships


def unsupported(run) -> str | None:
    """Why the page cannot show `run` (None when it can): it draws one grey H x W picture, and
    the run's test images."""
    shape = tuple(run.model.input_shape)
    if not ((len(shape) == 3 and shape[0] == 1) or len(shape) == 2):
        return f"takes samples of shape {shape}; the page draws single-channel pictures (1, H, W) or (H, W) sequences"
    missing = missing_split(run.config.data, "test")
    if missing:
        return (f"has no test images to show ({missing}); the page shows a run's test split: train on "
                "data with one (an .npz with x_train and x_test arrays)")
    return None


def picture_size(run) -> tuple[int, int]:
    """(H, W) of the picture a run's sample is drawn as: (1, H, W) images, (H, W) = rows as steps."""
    return tuple(run.model.input_shape[-2:])


def strip(run, n: int = STRIP) -> dict:
    """The first `n` clean test images of the run's data, flattened: {'images': [[H*W]], 'labels'}.

    Each value is written as the shortest decimal that reads back as its float32, so the pad's
    Float32Array holds exactly the samples `ae score` scores (what the anomaly numbers need)."""
    inputs, labels = run.clean_split("test")
    images = inputs[:n].reshape(min(n, len(inputs)), -1).cpu().numpy().astype(np.float32)
    return {"images": [[float(str(v)) for v in row] for row in images],
            "labels": None if labels is None else [int(v) for v in labels[:n]]}


def strip_samples(strip_payload: dict, run) -> torch.Tensor:
    """The strip's images as `run`'s samples (n, *input_shape), float32: exactly what the page holds."""
    x = torch.tensor(strip_payload["images"], dtype=torch.float32)
    return x.reshape(len(x), *run.model.input_shape)


def run_payload(run, name: str, *, seed: int = 0) -> dict:
    """One run's entry in the page: ONNX parts, shapes, threshold, latent views, noise."""
    test, labels = run.clean_split("test")
    z = run.encode(test[:SCATTER_POINTS])
    metric = getattr(run.model, "loss_kind", "bce")
    return {
        "name": name, "model": run.config.model.name, "input_shape": list(run.model.input_shape),
        "code_shape": list(z.shape[1:]), "metric": metric,
        "sequence": len(run.model.input_shape) == 2,
        "variational": hasattr(run.model, "posterior"),
        "noise": noise_payload(run.config.data.noise),
        "threshold": threshold_payload(run, metric, seed),
        "latent": latent_payload(run, z, None if labels is None else labels[:SCATTER_POINTS]),
        **onnx_parts(run),
    }


def onnx_parts(run) -> dict:
    """{'encoder': x -> z, 'decoder': z -> probabilities}, each an ONNX file gzip-compressed
    (10-25% smaller; the page already gunzips its runtime) and base64-encoded; with the run's
    anomaly calibration in their metadata, as `ae export` writes it."""
    parts = {}
    metadata = anomaly_metadata(run.path)
    with tempfile.TemporaryDirectory(prefix="ae-explore-") as tmp:
        for part in ("encoder", "decoder"):
            path = export_model(run, Path(tmp) / f"{part}.onnx", part=part, metadata=metadata)
            parts[part] = base64.b64encode(gzip.compress(path.read_bytes(), 9, mtime=0)).decode("ascii")
    return parts


def threshold_payload(run, metric: str, seed: int) -> dict:
    """The anomaly threshold as `ae score --threshold auto` sets it: a percentile of training errors
    (here over a seeded subset of THRESHOLD_SAMPLES training samples)."""
    train, _ = run.clean_split("train")
    rows = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:THRESHOLD_SAMPLES]
    scores = reconstruction_errors(run.model, train[rows], metric=metric)
    return {"value": threshold_from_scores(scores, PERCENTILE), "percentile": PERCENTILE,
            "n": len(rows), "metric": metric}


def anomaly_payload(run, samples: torch.Tensor) -> dict | None:
    """The run's stored anomaly detector for the page, or None when its folder holds none.

    samples : the strip's images as the run's samples; `ae score`'s numbers for them go in 'strip'.
    The page computes the score itself ('in_page') when every part is one of IN_PAGE and the fitted
    tensors fit in STATE_BYTES; else 'why_not' says why and it shows only the strip's numbers.
    """
    path = getattr(run, "path", None)
    if path is None or not has_detector(path):
        return None
    detector = run.detector()
    scorer, cal = detector.scorer, detector.calibration
    tensors = scorer.tensors()
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    outside = [p for p in scorer.parts if p not in IN_PAGE]
    why = None
    if any(PARTS[p].variational for p in outside):
        why = (f"its part {', '.join(outside)} draws from the posterior with torch's seeded generator, "
               "which the page does not have (nor the posterior's variance)")
    elif outside:
        why = f"the page does not compute its part {', '.join(outside)}"
    elif size > STATE_BYTES:
        why = (f"its fitted tensors (the training codes) take {size / 1e6:.1f} MB, more than the "
               f"{STATE_BYTES / 1e6:g} MB a page carries per run")
    result = detector.evaluate(run.model, samples)
    return {
        "score": scorer.name, "parts": list(scorer.parts), "alpha": cal.alpha, "threshold": cal.threshold,
        "n": cal.n, "file": DETECTOR_JSON, "calibration": list(cal.scores), "knn_k": scorer.k, "lof_k": LOF_K,
        "standardisation": scorer.to_json()["standardisation"], "in_page": why is None, "why_not": why,
        "state": None if why else {name: tensor_payload(t) for name, t in tensors.items()},
        "strip": {"score": result["score"].tolist(), "p_value": result["p_value"].tolist(),
                  "anomaly": [bool(v) for v in result["anomaly"]]},
    }


def tensor_payload(t: torch.Tensor) -> dict:
    """{'dtype', 'shape', 'data'}: the tensor's little-endian bytes in base64, exact (float32 or float64)."""
    kind = {torch.float32: "<f4", torch.float64: "<f8"}[t.dtype]
    data = t.detach().cpu().contiguous().numpy().astype(kind).tobytes()
    return {"dtype": "float64" if kind == "<f8" else "float32", "shape": list(t.shape),
            "data": base64.b64encode(data).decode("ascii")}


def latent_payload(run, z: torch.Tensor, labels) -> dict:
    """A 2-D latent: the scatter of test codes and a decoding grid. Larger codes: principal
    directions of the test codes (mean, unit components, standard deviations) for sliders.

    z : (N, *code_shape) test codes (VAE: posterior means).
    """
    flat = z.reshape(len(z), -1).double().numpy()
    if flat.shape[1] == 2:
        return {"kind": "2d", "points": np.round(flat, 4).tolist(),
                "labels": None if labels is None else [int(v) for v in labels],
                "grid": grid_codes(flat, variational=hasattr(run.model, "posterior")).tolist(), "grid_n": GRID}
    mean = flat.mean(0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(DIRECTIONS, len(s))
    return {"kind": "pca", "mean": np.round(mean, 5).tolist(), "components": np.round(vt[:k], 5).tolist(),
            "std": np.round(s[:k] / math.sqrt(max(len(flat) - 1, 1)), 5).tolist()}


def grid_codes(flat: np.ndarray, *, variational: bool) -> np.ndarray:
    """(GRID * GRID, 2) codes, row-major, top row = largest z2: the prior's quantiles for a VAE
    (as the report's manifold), else the 5th..95th percentiles of the test codes."""
    if variational:
        return prior_grid(GRID).numpy().astype(np.float64)
    lo, hi = np.percentile(flat, 5, axis=0), np.percentile(flat, 95, axis=0)
    z1 = np.linspace(lo[0], hi[0], GRID)
    z2 = np.linspace(hi[1], lo[1], GRID)
    g2, g1 = np.meshgrid(z2, z1, indexing="ij")
    return np.stack([g1.ravel(), g2.ravel()], 1)


def noise_payload(spec) -> dict | None:
    """{'kind', 'level'} of a denoising run's training corruption, or None."""
    from ..data import parse_noise

    noise = parse_noise(spec)
    return None if noise is None else {"kind": noise.kind, "level": noise.level}
