"""Reconstruction error as an anomaly score: digits 0-4 are normal, 5-9 anomalies."""

import numpy as np
import pytest
import torch

from autoencoders.data import load_dataset
from autoencoders.errors import ConfigError
from autoencoders.evaluation.anomaly import reconstruction_errors, roc_auc, threshold_from_scores
from autoencoders.sklearn import AutoencoderTransformer
from autoencoders.training.trainer import evaluate_loss


@pytest.fixture(scope="module")
def detector():
    """Trained on digits 0-4 only (30 epochs, code 8: about 1 s)."""
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    x_train, y_train = train.images.flatten(1).numpy(), train.labels.numpy()
    est = AutoencoderTransformer(code_size=8, epochs=30, batch_size=32, random_state=0)
    est.fit(x_train[y_train < 5])
    return est, x_train[y_train < 5], test.images.flatten(1).numpy(), test.labels.numpy()


def test_unseen_classes_score_higher(detector):
    est, _, x_test, y_test = detector
    scores = est.anomaly_score(x_test)
    auc = roc_auc(scores[y_test < 5], scores[y_test >= 5])
    assert auc > 0.75, auc  # measured: 0.88 (chance is 0.5)


def test_threshold_flags_the_chosen_fraction_of_training_data(detector):
    est, x_normal, x_test, y_test = detector
    train_scores = est.anomaly_score(x_normal)
    threshold = threshold_from_scores(train_scores, percentile=95)
    assert threshold == pytest.approx(np.percentile(train_scores, 95))
    assert abs((train_scores > threshold).mean() - 0.05) < 0.01
    test_scores = est.anomaly_score(x_test)
    flagged_unseen = (test_scores[y_test >= 5] > threshold).mean()
    flagged_seen = (test_scores[y_test < 5] > threshold).mean()
    assert flagged_unseen > 2 * flagged_seen, (flagged_unseen, flagged_seen)


def test_errors_average_to_the_models_recon_loss(detector):
    est, x_normal, _, _ = detector
    x = torch.tensor(x_normal)
    errors = reconstruction_errors(est.module_, x)
    assert errors.shape == (len(x),) and errors.dtype == np.float64
    assert errors.mean() == pytest.approx(evaluate_loss(est.module_, x, x)["recon"], rel=1e-5)
    mse = reconstruction_errors(est.module_, x, metric="mse")
    recon = est.module_.decode(est.module_.encode(x)).detach()
    np.testing.assert_allclose(mse, (recon - x).pow(2).mean(1).numpy(), rtol=1e-5)


def test_roc_auc_and_threshold_edges():
    assert roc_auc([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert roc_auc([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert threshold_from_scores([1.0, 2.0, 3.0], percentile=100) == 3.0
    with pytest.raises(ConfigError, match="percentile"):
        threshold_from_scores([1.0], percentile=101)
    with pytest.raises(ConfigError, match="one normal and one anomalous"):
        roc_auc([], [1.0])
    with pytest.raises(ConfigError, match="did you mean 'mse'"):
        reconstruction_errors(torch.nn.Linear(1, 1), torch.zeros(1, 1), metric="mae")
