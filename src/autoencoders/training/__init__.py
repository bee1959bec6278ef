"""Fitting models: the generic trainer, checkpoints and run logging."""

from .checkpoint import load_weights, save_weights, unwrap
from .trainer import evaluate_loss, fit, resolve_device

__all__ = ["evaluate_loss", "fit", "load_weights", "resolve_device", "save_weights", "unwrap"]
