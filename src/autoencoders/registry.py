"""Models by name: a spec (specs.py) paired with its factory; `create_model` checks options and builds.

`register_model(spec)` decorates `factory(input_shape, options) -> Autoencoder`, where `options`
is an instance of `spec.options`, so the trainer, the CLI and the contract tests never branch on
a model's kind (timm's `register_model`). The built-in specs are known without importing torch;
their factories register when `autoencoders.models` is first imported.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Callable

from .errors import ConfigError, unknown
from .specs import BUILTIN, ModelSpec

_SPECS: dict[str, ModelSpec] = {spec.name: spec for spec in BUILTIN}
_FACTORIES: dict[str, Callable] = {}
# Keyword options outside any model: `ae.train`'s own arguments and the CLI's own flags. Model
# options share one flat namespace with the data and train fields (`ae.train(..., code_size=8,
# epochs=5)`), so a model option of the same name would be read as the other.
RESERVED = {"model", "data", "out", "resume", "overwrite", "quiet", "val", "model_args", "nproc", "progress"}


def register_model(spec: ModelSpec):
    """Pair `spec` with the decorated factory `f(input_shape, options)`; refuse a clashing option name.

    A model from outside the package registers the same way, and `ae train --help` then lists its
    options (build the CLI's parser after registering).
    """

    def wrap(factory: Callable) -> Callable:
        known = _SPECS.get(spec.name)
        if spec.name in _FACTORIES and _FACTORIES[spec.name] is not factory:
            raise ConfigError(f"model '{spec.name}' is registered twice, by two different factories")
        if known is not None and known != spec:
            raise ConfigError(f"model '{spec.name}' is registered with another spec than the one it has")
        check_spec(spec)
        _SPECS[spec.name], _FACTORIES[spec.name] = spec, factory
        return factory

    return wrap


def check_spec(spec: ModelSpec) -> None:
    """A spec's options are dataclass fields with help, named apart from every data/train field,
    typed and described as any other model's option of the same name (they share one `ae train` flag)."""
    from .config import DataConfig, TrainConfig

    if not dataclasses.is_dataclass(spec.options):
        raise ConfigError(f"model '{spec.name}': options must be a dataclass, got {spec.options!r}")
    taken = {f.name for f in dataclasses.fields(DataConfig) + dataclasses.fields(TrainConfig)} | RESERVED
    hints = typing.get_type_hints(spec.options)
    for f in spec.fields():
        if f.name in taken:
            raise ConfigError(f"model '{spec.name}': option '{f.name}' has the name of a data or training "
                              "setting (or an argument of ae.train); rename it")
        if not f.metadata.get("help"):
            raise ConfigError(f"model '{spec.name}': option '{f.name}' has no help (declare it with specs.option)")
        for other in _SPECS.values():
            theirs = typing.get_type_hints(other.options)
            if other.name == spec.name or f.name not in theirs:
                continue
            if _flag_type(theirs[f.name]) != _flag_type(hints[f.name]):
                raise ConfigError(f"model '{spec.name}': option '{f.name}' is typed {hints[f.name]}, but "
                                  f"model '{other.name}' types it {theirs[f.name]}")
            if {g.name: g for g in other.fields()}[f.name].metadata["help"] != f.metadata["help"]:
                raise ConfigError(f"model '{spec.name}': option '{f.name}' has another help than model "
                                  f"'{other.name}' gives it (they share one flag)")


def _flag_type(hint):
    """What a flag parses for an option typed `hint` (None is its absence, not a value to type)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = tuple(_flag_type(h) for h in typing.get_args(hint) if h is not type(None))
        return rest[0] if len(rest) == 1 else rest
    return hint


def list_models() -> list[str]:
    """Names of every registered model, sorted (torch-free)."""
    return sorted(_SPECS)


def model_spec(name: str) -> ModelSpec:
    if name not in _SPECS:
        raise ConfigError(unknown("model", name, _SPECS))
    return _SPECS[name]


def specs() -> list[ModelSpec]:
    """Every registered spec, by name."""
    return [_SPECS[name] for name in list_models()]


def model_factory(name: str) -> Callable:
    model_spec(name)
    if name not in _FACTORIES:
        from . import models  # noqa: F401  (the built-in factories register on import)
    if name not in _FACTORIES:
        raise ConfigError(f"model '{name}' has a spec but no factory: register one with @register_model(spec)")
    return _FACTORIES[name]


def create_model(name: str, input_shape, **options):
    """Build model `name` for samples of shape `input_shape` (e.g. (1, 28, 28) or (T, F))."""
    typed = model_spec(name).check(options)
    return model_factory(name)(tuple(int(s) for s in input_shape), typed)


def model_defaults(name: str) -> dict:
    """The options model `name` takes, with their defaults (what `ae models` prints)."""
    return model_spec(name).defaults()


def train_defaults(name: str) -> dict:
    """TrainConfig fields model `name` trains with unless told (e.g. {"batch_size": 128})."""
    return dict(model_spec(name).train_defaults)


def example_shape(name: str) -> tuple:
    return tuple(model_spec(name).example_shape)
