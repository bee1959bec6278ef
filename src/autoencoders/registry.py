"""Models by name: a decorator registers a factory, `create_model` validates options and builds it.

Presets are two-line registered functions (timm's `register_model`), so the trainer, the CLI and
the contract tests never branch on a model's kind.
"""

from __future__ import annotations

import ast
import inspect
import math
import numbers
from pathlib import Path
from typing import Callable

from .errors import ConfigError, unknown

_FACTORIES: dict[str, Callable] = {}
_EXAMPLE_SHAPES: dict[str, tuple] = {}
_TRAIN_DEFAULTS: dict[str, dict] = {}


def register_model(fn: Callable | None = None, *, name: str | None = None, example_shape=(1, 28, 28),
                   train_defaults: dict | None = None):
    """Register `fn(input_shape, **options) -> Autoencoder` under `name` (default: fn's name, _ -> -).

    `example_shape` is a per-sample shape the model accepts (the contract tests build it so).
    `train_defaults` are TrainConfig fields this model trains with unless told otherwise (the
    article's batch size for its nets), so `ae train conv` and `ae reproduce` agree.
    """

    def wrap(f: Callable) -> Callable:
        key = name or f.__name__.replace("_", "-")
        if key in _FACTORIES and _FACTORIES[key] is not f:  # the same function again is harmless
            raise ValueError(f"model '{key}' is registered twice, by two different functions")
        _FACTORIES[key] = f
        _EXAMPLE_SHAPES[key] = tuple(example_shape)
        _TRAIN_DEFAULTS[key] = dict(train_defaults or {})
        return f

    return wrap(fn) if fn is not None else wrap


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    _load_builtin_models()
    return sorted(_FACTORIES)


def model_factory(name: str) -> Callable:
    _load_builtin_models()
    if name not in _FACTORIES:
        raise ConfigError(unknown("model", name, _FACTORIES))
    return _FACTORIES[name]


def example_shape(name: str) -> tuple:
    model_factory(name)
    return _EXAMPLE_SHAPES[name]


def train_defaults(name: str) -> dict:
    """TrainConfig fields model `name` was registered with (e.g. {"batch_size": 128})."""
    model_factory(name)
    return dict(_TRAIN_DEFAULTS[name])


def model_defaults(name: str) -> dict:
    """The options a model accepts, with their defaults (what `ae models` prints)."""
    params = list(inspect.signature(model_factory(name)).parameters.values())[1:]
    return {p.name: p.default for p in params}


def check_options(name: str, options: dict) -> None:
    """Raise ConfigError for an option the model does not take, suggesting the nearest one."""
    valid = model_defaults(name)
    for key, value in options.items():
        if key not in valid:
            raise ConfigError(f"model '{name}': " + unknown("option", key, valid))
        if not _like(value, valid[key]):
            raise ConfigError(f"model '{name}': option '{key}' must be like its default "
                              f"{valid[key]!r}, got {value!r}")


def _like(value, default) -> bool:
    """Whether `value` has the type of the option's default (options are plain JSON data).

    A config.json edited by hand (code_size: "abc") must fail here, not inside a layer.
    """
    number = numbers.Real
    if default is None:
        return value is None or isinstance(value, (str, int, float, bool))
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, int):
        return isinstance(value, numbers.Integral) and value >= 1
    if isinstance(default, float):
        return isinstance(value, number) and math.isfinite(value)
    if isinstance(default, (tuple, list)):
        return isinstance(value, (tuple, list)) and all(_like(v, d) for v, d in zip(value, _repeat(default, value)))
    return isinstance(value, type(default))


def _repeat(default, value) -> list:
    """Elements to compare a sequence option with: the default's first element for each one."""
    return [default[0]] * len(value) if default else [None] * len(value)


def create_model(name: str, input_shape, **options):
    """Build model `name` for samples of shape `input_shape` (e.g. (1, 28, 28) or (T, F))."""
    check_options(name, options)
    return model_factory(name)(tuple(int(s) for s in input_shape), **options)


def model_doc(name: str) -> str:
    """First line of the factory's docstring."""
    doc = inspect.getdoc(model_factory(name)) or ""
    return doc.splitlines()[0] if doc else ""


def _load_builtin_models() -> None:
    """Import the built-in model modules so their decorators run (lazily: nothing at import time)."""
    from . import models  # noqa: F401


def declared_models() -> dict[str, dict]:
    """{name: {"options": {...}, "train_defaults": {...}}} of the built-in models, read from the
    source of `models/` without importing it: importing it imports torch (about a second), which
    `ae --help` and `ae train --help` should not wait for. A test checks it equals the registry."""
    found = {}
    for path in sorted((Path(__file__).parent / "models").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            for dec in getattr(node, "decorator_list", []):
                if _named(dec):
                    found.update(_declaration(node, dec if isinstance(dec, ast.Call) else None))
    return found


def _named(node) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Name) and target.id == "register_model"


def _declaration(fn: ast.FunctionDef, call: ast.Call | None) -> dict:
    kw = {k.arg: ast.literal_eval(k.value) for k in (call.keywords if call else [])}
    defaults = [ast.literal_eval(d) for d in fn.args.defaults]  # the last len(defaults) arguments
    named = fn.args.args[len(fn.args.args) - len(defaults):]
    options = {a.arg: d for a, d in zip(named, defaults) if a.arg != "input_shape"}
    key = kw.get("name") or fn.name.replace("_", "-")
    return {key: {"options": options, "train_defaults": kw.get("train_defaults") or {}}}
