"""Checks on the data a run is about to train on, where a bad choice would otherwise fail silently.

(Split sizes are checked where the splits are made: data/splits.py `check_split_sizes`.)

Without them a run on 0 training samples printed "done" with an empty history, and a raw time
series (values like 1500.0) trained against sigmoid outputs with BCE, reaching a loss of -1.8e30
with no warning: every model here reconstructs values in [0, 1].
"""

from __future__ import annotations

import torch

from ..errors import DataError


def check_targets(model: torch.nn.Module, x_train: torch.Tensor, x_val: torch.Tensor, source: str) -> None:
    """Targets must be finite (`check_finite`) and lie in [0, 1] unless the model declares real-valued
    outputs (`output_space == "real"`).

    The contract's reconstruction is a sigmoid, in [0, 1]; BCE on targets outside that range has
    no minimum (the loss runs to -1e30) and MSE cannot reach them.
    """
    for x, what in ((x_train, "training"), (x_val, "validation")):
        if x.numel() == 0:
            continue
        check_finite(x, what, source)
        if model.output_space == "real":
            continue
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise DataError(
                f"{source}: the {what} values range [{lo:g}, {hi:g}], but this model reconstructs values in "
                "[0, 1] (a sigmoid output) and its loss needs targets there: scale the data to [0, 1] "
                "first, e.g. x = (x - min) / (max - min) per feature; for lstm/gru, --output-activation "
                "linear --loss mse fits real values as they are")


def check_finite(x: torch.Tensor, what: str, source: str) -> None:
    """No NaN or inf in a split: NaN passes every range check, and its loss would be recorded as a
    NaN validation loss or blamed on the learning rate."""
    finite = torch.isfinite(x).flatten(1).all(1)
    if not bool(finite.all()):
        i = int((~finite).nonzero()[0, 0])
        value = x[i][~torch.isfinite(x[i])][0].item()
        raise DataError(f"{source}: the {what} data holds non-finite values ({value} in sample {i}, the first); "
                        "replace or drop those samples before training")
