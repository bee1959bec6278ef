"""Users' own modules: how a run folder names a class, and rebuilding it (the contract check is
training/contract.py).

A run of a module that is not in the registry records it as "package.module:Class" plus the
JSON-able keyword arguments its constructor takes (`model_args`); `load_run` rebuilds it from
those when the class can be imported, or fills the module the caller passes.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import torch

from .config import ModelConfig, is_import_path
from .errors import ConfigError, TrainingError
from .registry import create_model
from .training.checkpoint import WEIGHTS
from .training.integrity import check_weights


def class_path(cls) -> str:
    """"package.module:Class", what a run folder records to rebuild a user's module."""
    return f"{cls.__module__}:{cls.__qualname__}"


def check_json(what: str, value) -> None:
    try:
        json.dumps(value)
    except TypeError as e:
        raise ConfigError(f"{what} must be JSON-able (numbers, strings, lists, dicts): {e}") from None


def build_model(mc: ModelConfig, shape: tuple, path=None) -> torch.nn.Module:
    """A registered model by name, or a user's class from its import path and recorded arguments."""
    if not is_import_path(mc.name):
        return create_model(mc.name, shape, **mc.options)
    module_name, _, qualname = mc.name.partition(":")
    hint = f"pass the module itself: load_run({str(path)!r}, model={qualname}(...))"
    try:
        cls = importlib.import_module(module_name)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{path}: cannot import {mc.name} ({e}); {hint}") from None
    try:
        return cls(**mc.options)
    except TypeError as e:
        raise ConfigError(f"{path}: {mc.name}(**{mc.options}) failed ({e}): the run records no "
                          f"constructor arguments (ae.train(..., model_args={{...}}) records them); {hint}") from None


def check_fits(weights: dict, net, path: Path) -> None:
    """The weights against a user's module: a mismatch says to pass the module the run trained."""
    try:
        check_weights(weights, net, path / WEIGHTS)
    except TrainingError as e:
        raise ConfigError(f"{e}; pass the module the run trained: "
                          f"load_run({str(path)!r}, model={type(net).__name__}(...))") from None
