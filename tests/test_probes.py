"""evaluation/probes.py: linear and kNN probes of the codes."""

import functools
import warnings

import numpy as np


def test_an_unconverged_linear_probe_is_reported_not_warned(monkeypatch):
    from autoencoders.evaluation import probes

    monkeypatch.setattr(probes, "linear_probe", functools.partial(probes.linear_probe, max_iter=1))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 20)), rng.integers(0, 5, 200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = probes.probes(x, y, x, y)
    assert result["linear_probe_converged"] is False
