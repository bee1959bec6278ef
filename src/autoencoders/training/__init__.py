"""Fitting models: the Trainer (one epoch loop), its callbacks, checkpoints and run logging."""

from .callbacks import Callback, Checkpoint, EarlyStopping, EpochHook, RunLogger
from .checkpoint import load_weights, save_weights, unwrap
from .fit import fit, fit_module
from .trainer import Trainer, TrainerState, evaluate, evaluate_loss, resolve_device

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "EpochHook", "RunLogger", "Trainer", "TrainerState",
           "evaluate", "evaluate_loss", "fit", "fit_module", "load_weights", "resolve_device", "save_weights", "unwrap"]
