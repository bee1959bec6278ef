"""Users' own modules: how a run folder names a class, and rebuilding it (the contract check is
training/contract.py).

A run of a module that is not in the registry records it as "package.module:Class" plus the
JSON-able keyword arguments its constructor takes (`model_args`). `load_run` fills the module the
caller passes, builds the class the caller passes from those arguments, or imports the recorded
class only when the caller names it as trusted: never code that a run folder alone names.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import torch

from .config import ModelConfig
from .errors import ConfigError, TrainingError
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


def own_module(mc: ModelConfig, path, *, model=None, trust_module=None) -> torch.nn.Module:
    """The module a run of your own class loads its weights into; never one a run folder names by itself.

    A config.json is data anyone can edit: importing its "module:Class" and calling it would run
    whatever it names (`subprocess:Popen`, a file beside the run). So the class comes from the
    caller: `model` is the module itself or its class (built with the recorded `model_args`), or
    `trust_module` (one "package.module:Class" or several) names the recorded class, which alone
    may then be imported.
    """
    if isinstance(model, torch.nn.Module):
        return model
    if isinstance(model, type):
        return _construct(model, mc, path)
    if model is not None:
        raise ConfigError(f"model must be an nn.Module or its class, not {type(model).__name__}")
    trusted = {trust_module} if isinstance(trust_module, str) else set(trust_module or ())
    if not trusted:
        qualname = mc.name.partition(":")[2]
        raise ConfigError(
            f"{path} holds your own module {mc.name}, and a run folder never makes the toolkit import code: "
            f"pass it, load_run({str(path)!r}, model={qualname}(...)) or model={qualname}, or name the class "
            f"you trust: load_run(..., trust_module={mc.name!r}) (ae: --trust-module {mc.name})")
    if mc.name not in trusted:
        raise ConfigError(f"{path} records the module {mc.name}, which is not among the trusted "
                          f"{', '.join(sorted(trusted))}: nothing was imported; trust {mc.name} only if you know "
                          "that code")
    return _construct(_import_class(mc.name, path), mc, path)


def _import_class(name: str, path):
    module_name, _, qualname = name.partition(":")
    hint = f"pass the module itself: load_run({str(path)!r}, model={qualname}(...))"
    try:
        cls = importlib.import_module(module_name)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{path}: cannot import {name} ({e}); {hint}") from None
    if not isinstance(cls, type) or not issubclass(cls, torch.nn.Module):
        raise ConfigError(f"{path}: {name} is not an nn.Module class; {hint}")
    return cls


def _construct(cls: type, mc: ModelConfig, path) -> torch.nn.Module:
    try:
        return cls(**mc.options)
    except TypeError as e:
        raise ConfigError(f"{path}: {cls.__name__}(**{mc.options}) failed ({e}): the run records no "
                          "constructor arguments (ae.train(..., model_args={...}) records them); pass the "
                          f"module itself: load_run({str(path)!r}, model={cls.__name__}(...))") from None


def check_fits(weights: dict, net, path: Path) -> None:
    """The weights against a user's module: a mismatch says to pass the module the run trained."""
    try:
        check_weights(weights, net, path / WEIGHTS)
    except TrainingError as e:
        raise ConfigError(f"{e}; pass the module the run trained: "
                          f"load_run({str(path)!r}, model={type(net).__name__}(...))") from None
