"""Anomaly scores from reconstruction error: per-sample errors, a threshold, ROC AUC.

An autoencoder trained on normal data reconstructs samples like them well and unusual ones
badly, so the per-sample reconstruction error is an anomaly score: higher = more anomalous.
(scikit-learn's `score_samples` has the opposite sign, higher = more normal; see
`autoencoders.sklearn.AutoencoderTransformer.anomaly_score`.)

Units: the error of one sample is the mean over its values of the model's own reconstruction
loss (per-pixel BCE from logits, or MSE of `decode`'s output), so for the models whose `recon`
term is a per-value mean (dense, conv, sequence) the mean of the scores over a set equals that
term; the VAEs sum theirs over pixels (the ELBO), so there it is `recon / input_size`.
Per-sample BCE against grey-level targets has a floor that depends on the sample (its own pixel
entropy); `metric="mse"` has none.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data import EVAL_BATCH
from ..errors import ConfigError, unknown
from ..models.base import batched, model_errors

METRICS = ("bce", "mse")


@torch.no_grad()
def reconstruction_errors(model, x, *, metric: str | None = None, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Per-sample reconstruction error of `model` (any module honouring AutoencoderProtocol).

    x : (N, *model.input_shape) array or tensor in [0, 1]  ->  (N,) float64 numpy array.
    metric : "bce" or "mse"; None uses the model's training loss (`model.loss_kind`).
    The reconstruction is deterministic: decode(encode(x)), the model in eval mode.
    """
    metric = metric or model.loss_kind
    if metric not in METRICS:
        raise ConfigError(unknown("metric", metric, METRICS))
    x = torch.as_tensor(x, dtype=torch.float32)
    return batched(model, lambda b: model_errors(model, b, kind=metric), x, batch_size).double().numpy()


def threshold_from_scores(train_scores, percentile: float = 99) -> float:
    """The `percentile`-th percentile of the scores of normal (training) data.

    A sample scoring above it is flagged: about (100 - percentile)% of data like the training
    set is flagged by construction (the false-positive rate you choose).
    """
    scores = np.asarray(train_scores, dtype=np.float64).ravel()
    if not 0 <= float(percentile) <= 100:
        raise ConfigError(f"percentile must be within [0, 100], got {percentile}")
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ConfigError("threshold_from_scores needs a non-empty array of finite scores")
    return float(np.percentile(scores, percentile))


def roc_auc(normal_scores, anomalous_scores) -> float:
    """ROC AUC of separating anomalies (label 1) from normal samples (label 0) by score.

    0.5 is chance; 1.0 means every anomaly scores above every normal sample.
    """
    from sklearn.metrics import roc_auc_score  # imported here: sklearn is slow to import

    normal = np.asarray(normal_scores, dtype=np.float64).ravel()
    anomalous = np.asarray(anomalous_scores, dtype=np.float64).ravel()
    if normal.size == 0 or anomalous.size == 0:
        raise ConfigError("roc_auc needs at least one normal and one anomalous score")
    labels = np.r_[np.zeros(normal.size), np.ones(anomalous.size)]
    return float(roc_auc_score(labels, np.r_[normal, anomalous]))


def dataset_errors(run, name: str | None = None, split: str = "test", *, metric: str | None = None):
    """(errors (N,), labels (N,) or None) of a run's model on a dataset, in dataset order.

    `name`: a built-in dataset or a path (default: the run's own data), loaded with the run's
    data options (resize, channels, as_sequence...) but clean: no noise, no binarization, since
    the samples themselves are what is scored. `run` is an `api.Run` (model, config, device).
    """
    inputs, labels = run.clean_split(split, name)
    return reconstruction_errors(run.model, inputs, metric=metric), labels
