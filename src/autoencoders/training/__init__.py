"""Fitting models: the Trainer (one epoch loop), its callbacks, checkpoints and run logging."""

from .callbacks import Callback, Checkpoint, EarlyStopping, EpochHook, RunLogger
from .checkpoint import load_weights, save_weights, unwrap
from .trainer import Trainer, TrainerState, evaluate, evaluate_loss, resolve_device

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "EpochHook", "RunLogger", "Trainer", "TrainerState",
           "evaluate", "evaluate_loss", "load_weights", "resolve_device", "save_weights", "unwrap"]
