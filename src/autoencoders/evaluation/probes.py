"""How useful codes are: a linear probe and a k-NN classifier trained on codes, scored on test codes.

Both are scikit-learn estimators; the same probes on raw pixels give the baseline a code must beat
(or come close to with far fewer numbers).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _flat(x) -> np.ndarray:
    x = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    return x.reshape(len(x), -1).astype(np.float32)


def linear_probe(train_codes, train_labels, test_codes, test_labels, *, max_iter: int = 300) -> float:
    """Test accuracy of a standardized logistic regression fit on the training codes."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    clf.fit(_flat(train_codes), np.asarray(train_labels))
    return float(clf.score(_flat(test_codes), np.asarray(test_labels)))


def knn_probe(train_codes, train_labels, test_codes, test_labels, *, k: int = 5) -> float:
    """Test accuracy of a k-nearest-neighbour classifier (Euclidean) on the codes."""
    clf = KNeighborsClassifier(n_neighbors=k)
    clf.fit(_flat(train_codes), np.asarray(train_labels))
    return float(clf.score(_flat(test_codes), np.asarray(test_labels)))


def probes(train_codes, train_labels, test_codes, test_labels) -> dict:
    """Both probes; `train_*` may be a subset (the probes cost more than the metrics).

    A logistic regression that stops at `max_iter` before converging is still a usable probe, but
    its warning would land in the middle of a progress bar: it is caught and returned as
    `linear_probe_converged` for the report to note instead.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        linear = linear_probe(train_codes, train_labels, test_codes, test_labels)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:  # anything else is not ours to hide
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return {
        "linear_probe": linear, "linear_probe_converged": converged,
        "knn_probe": knn_probe(train_codes, train_labels, test_codes, test_labels),
    }
