"""Each registered model's options as data: a typed dataclass (defaults, help, limits) per model.

A `ModelSpec` names the model, its options dataclass, the TrainConfig fields it trains with
unless told otherwise (the article's batch sizes) and a sample shape it accepts. The registry
pairs each spec with its factory (`registry.register_model(spec)`); everything that needs to know
a model's options asks its spec: `ae train --help` builds its flags from them, `make_config`
routes keyword options by them, `create_model` checks them. This module imports no torch, so
`ae --help` never waits for it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from dataclasses import dataclass, field
from typing import Literal

from .errors import ConfigError, unknown

LOSS = Literal["bce", "mse"]


def option(default, help: str, *, minimum: float | None = None, min_items: int = 0):
    """A model option: its default, one line of help, and the least value (or list length) it takes."""
    return field(default=default, metadata={"help": help, "minimum": minimum, "min_items": min_items})


def _code_size(default: int):
    return option(default, "numbers in the code (units of the code layer)", minimum=1)


def _hidden(default: tuple, min_items: int = 0):
    return option(default, "hidden layer widths, comma-separated, e.g. 128,64", minimum=1, min_items=min_items)


def _filters(default: tuple):
    return option(default, "conv channels per level, comma-separated, e.g. 16,8,8", minimum=1, min_items=1)


def _latent_size(default: int):
    return option(default, "dimensions of the Gaussian latent (VAEs)", minimum=1)


_LOSS_HELP = "bce or mse: the reconstruction error minimised (lstm/gru: bce for a sigmoid output, mse for linear)"
_BETA = option(1.0, "weight of the KL term (1: the ELBO; >1: a beta-VAE)", minimum=0.0)


@dataclass(frozen=True)
class DenseOptions:
    code_size: int = _code_size(32)
    loss: LOSS = option("bce", _LOSS_HELP)


@dataclass(frozen=True)
class SparseOptions:
    code_size: int = _code_size(32)
    activity_l1: float = option(1e-4, "weight of the L1 penalty on the code (sparse)", minimum=0.0)
    loss: LOSS = option("bce", _LOSS_HELP)


@dataclass(frozen=True)
class DeepOptions:
    hidden: tuple[int, ...] = _hidden((128, 64), min_items=1)  # none would be `dense`
    code_size: int = _code_size(32)
    loss: LOSS = option("bce", _LOSS_HELP)


@dataclass(frozen=True)
class ConvOptions:
    filters: tuple[int, ...] = _filters((16, 8, 8))
    loss: LOSS = option("bce", _LOSS_HELP)


@dataclass(frozen=True)
class ConvDenoiseOptions:
    filters: tuple[int, ...] = _filters((32, 32))
    loss: LOSS = option("bce", _LOSS_HELP)


@dataclass(frozen=True)
class RecurrentOptions:
    code_size: int = _code_size(64)
    output_activation: Literal["sigmoid", "linear"] = option(
        "sigmoid", "sigmoid (data in [0, 1]) or linear (real-valued series, MSE)")
    loss: LOSS | None = option(None, _LOSS_HELP)


@dataclass(frozen=True)
class VAEOptions:
    hidden: tuple[int, ...] = _hidden((256,))
    latent_size: int = _latent_size(2)
    beta: float = _BETA


@dataclass(frozen=True)
class ConvVAEOptions:
    filters: tuple[int, ...] = _filters((32, 64))
    hidden: tuple[int, ...] = _hidden((128,))
    latent_size: int = _latent_size(2)
    beta: float = _BETA


@dataclass(frozen=True)
class BurdaVAEOptions:
    hidden: tuple[int, ...] = _hidden((200, 200))
    latent_size: int = _latent_size(50)
    activation: Literal["relu", "tanh", "softplus"] = option("tanh", "hidden-layer activation: relu, tanh or softplus")
    beta: float = _BETA


@dataclass(frozen=True)
class ModelSpec:
    """name : what `ae train NAME` takes; options : the options dataclass; summary : one line for
    `ae models`; train_defaults : TrainConfig fields it trains with unless told (e.g. batch_size);
    example_shape : a sample shape it accepts (the contract tests build it so)."""

    name: str
    options: type
    summary: str
    train_defaults: dict = field(default_factory=dict)
    example_shape: tuple = (1, 28, 28)

    def fields(self) -> tuple[dataclasses.Field, ...]:
        return dataclasses.fields(self.options)

    def defaults(self) -> dict:
        """{option: default}, what `ae models` prints and config.json records when none is given."""
        return {f.name: f.default for f in self.fields()}

    def check(self, options: dict):
        """The typed options of `options` (a JSON-able dict); ConfigError naming the bad one."""
        valid = self.defaults()
        for key in options:
            if key not in valid:
                raise ConfigError(f"model '{self.name}': " + unknown("option", key, valid))
        hints = typing.get_type_hints(self.options)
        for f in self.fields():
            if f.name in options:
                check_value(f, hints[f.name], options[f.name], f"model '{self.name}': option '{f.name}'")
        return self.options(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})


def check_value(f: dataclasses.Field, hint, value, where: str) -> None:
    """One option's value against its annotation and limits: the rule `create_model`, config.json
    files and `ae train`'s flags all apply."""
    from .config import describe_type, matches_type

    if not matches_type(value, hint):
        choices = [a for h in (hint, *typing.get_args(hint)) if typing.get_origin(h) is Literal
                   for a in typing.get_args(h)]
        if choices and isinstance(value, str):
            raise ConfigError(f"{where}: " + unknown("value", value, choices))
        raise ConfigError(f"{where} must be {describe_type(hint)}, got {value!r}")
    minimum, min_items = f.metadata.get("minimum"), f.metadata.get("min_items", 0)
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(items) < min_items:
        raise ConfigError(f"{where} needs at least {min_items} value(s), got {list(value)}")
    for v in items:
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            if not math.isfinite(v) or (minimum is not None and v < minimum):
                limit = f">= {minimum:g}" if minimum is not None else "finite"
                raise ConfigError(f"{where} must be {limit}, got {v!r}")


# The built-in models, paired with their factories in models/ (registry.register_model).
BUILTIN = (
    ModelSpec("dense", DenseOptions, "The article's shallow autoencoder: input -> 32 (ReLU) -> input (sigmoid).",
              {"batch_size": 256}),
    ModelSpec("sparse", SparseOptions, "`dense` plus an L1 activity penalty on the code (the article's "
              "`activity_l1(10e-5)` = 1e-4).", {"batch_size": 256}),
    ModelSpec("deep", DeepOptions, "The article's deep autoencoder: input -> 128 -> 64 -> 32 -> 64 -> 128 -> input.",
              {"batch_size": 256}),
    ModelSpec("conv", ConvOptions, "The article's conv autoencoder: 3 conv+pool levels, a (8, 4, 4) code for "
              "28x28 digits.", {"batch_size": 128}),
    ModelSpec("conv-denoise", ConvDenoiseOptions, "The article's denoising net: 2 conv(32)+pool levels, a "
              "(32, 7, 7) code for 28x28 digits.", {"batch_size": 128}),
    ModelSpec("lstm", RecurrentOptions, "Sequence autoencoder: LSTM encoder, last state = code, repeated into an "
              "LSTM decoder.", {"batch_size": 256}, (28, 28)),
    ModelSpec("gru", RecurrentOptions, "Sequence autoencoder: GRU encoder, last state = code, repeated into a "
              "GRU decoder.", {}, (28, 28)),
    ModelSpec("vae", VAEOptions, "The article's VAE: input -> 256 (ReLU) -> 2-D Gaussian code -> 256 -> input "
              "(Bernoulli).", {"batch_size": 100}),
    ModelSpec("conv-vae", ConvVAEOptions, "Convolutional VAE: conv(32)+pool, conv(64)+pool -> 128 -> Gaussian "
              "code; the conv decoder back."),
    ModelSpec("vae-burda", BurdaVAEOptions, "Burda et al. (2015) one-stochastic-layer VAE: 784-200-200-50, tanh "
              "(their 86.76-nat model)."),
)
