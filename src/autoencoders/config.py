"""Typed, inert, strict configuration: three frozen dataclasses and their JSON round trip.

Unknown keys are errors that suggest the nearest valid name. A config is checked once, when it is
made (`__post_init__` runs `validate()`), so every RunConfig that exists is valid; constructors
have no other effect (minGPT, scikit-learn).
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import types
import typing
from dataclasses import dataclass, field, fields

import numpy as np

from .errors import ConfigError, unknown

OPTIMIZERS = ("adam", "rmsprop", "adadelta")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "auto")  # auto: bf16 where the device computes it natively (training/setup.py)
SCHEDULES = ("constant", "linear", "cosine", "onecycle")  # training/schedule.py draws them
BINARIZE = ("dynamic",)
# Keras 1 (the article's) defaults; modern Keras uses lr=1e-3 for Adadelta, with which the
# article's models barely move.
DEFAULT_LR = {"adam": 1e-3, "rmsprop": 1e-3, "adadelta": 1.0}
MAX_SEED = 2**32 - 1


# One line of help per field: `ae train --help` shows them (a test checks every field has one;
# model options carry theirs in their spec, specs.py).
FIELD_HELP = {
    "validation": "'test' (the article: validate on the test split) or a held-out fraction of train, e.g. 0.1",
    "noise": "corrupt the input, keep the clean target (denoising), e.g. gaussian:0.5",
    "noise_fixed": "one corrupted copy for the whole run (the article) instead of fresh noise per batch",
    "binarize": "'dynamic': each pixel ~ Bernoulli(grey level), drawn anew each epoch",
    "as_sequence": "read images (N,1,H,W) as sequences (N,H,W): H steps of W features",
    "limit": "train on the first N training samples only",
    "resize": "resize images of a folder to N x N pixels",
    "channels": "1 (grey) or 3 (RGB) for images of a folder",
    "window": "cut a CSV series into windows of N steps",
    "stride": "steps between the starts of consecutive windows (default: the window)",
    "data_dir": "dataset cache folder (default: $AUTOENCODERS_DATA or the XDG cache)",
    "offline": "never touch the network",
    "stream": "true: read batches from disk (.npy, image folder); false: hold the data in memory "
              "(default: stream when it would exceed --memory-budget)",
    "memory_budget": "GB the training data may take in memory before it streams (default: half of what this "
                     "process may still allocate)",
    "epochs": "passes over the training set",
    "batch_size": "samples per step (default: the model's, the article's: 256 dense, 128 conv, 100 VAE)",
    "optimizer": "adam, rmsprop or adadelta (the article's, at lr 1.0)",
    "lr": "learning rate (default: 1e-3; 1.0 for adadelta)",
    "seed": "seed of weights, batch order and noise: the same seed gives the same run",
    "device": "auto, cpu or cuda",
    "precision": "fp32, bf16 autocast, or auto: bf16 where the hardware computes it natively, else fp32 "
                 "(config.json records which ran)",
    "patience": "stop after N epochs without a better validation loss (default: off)",
    "schedule": "learning rate over the steps: constant, linear, cosine or onecycle",
    "warmup": "fraction of all steps spent ramping the lr up from 0, e.g. 0.1",
    "clip_grad": "clip the gradients' global L2 norm to this (default: off)",
    "ema": "evaluate and save an exponential moving average of the weights with this decay, e.g. 0.999 "
           "(default: off, the last weights)",
    "compile": "compile each training step (forward, backward, Adam's update) into one graph with torch.compile: "
               "faster steps for the dense nets after a first step that compiles for seconds (Adam only, one process)",
}


@dataclass(frozen=True)
class DataConfig:
    """Where the samples come from and how they are presented to the model."""

    name: str = "digits"
    validation: str = "test"  # "test" (the article) or a held-out fraction of train, e.g. "0.1"
    noise: str | None = None  # e.g. "gaussian:0.5" (denoising: corrupted input, clean target)
    noise_fixed: bool = False  # one corrupted copy for the whole run (the article) vs fresh per batch
    binarize: str | None = None  # "dynamic": each pixel ~ Bernoulli(grey level), anew each epoch
    as_sequence: bool = False  # images (N,1,H,W) read as sequences (N,H,W): H steps of W features
    limit: int | None = None  # keep only the first N training samples (quick profiles)
    resize: int | None = None
    channels: int | None = None
    window: int | None = None
    stride: int | None = None
    data_dir: str | None = None
    offline: bool = False
    stream: bool | None = None  # stream batches from disk; None: when the resident copy exceeds the budget
    memory_budget: float | None = None  # GB a resident training split may take; None: half of what may be allocated

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        check_types(self, "data")
        if self.validation != "test":
            frac = _as_float("validation", self.validation)
            if not 0.0 < frac < 1.0:
                raise ConfigError(f"validation must be 'test' or a fraction in (0, 1), got {self.validation!r}")
        if self.binarize is not None and self.binarize not in BINARIZE:
            raise ConfigError(unknown("binarize mode", self.binarize, BINARIZE))
        for name in ("limit", "resize", "channels", "window", "stride"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value}")
        if self.memory_budget is not None and not 0 < float(self.memory_budget) < math.inf:
            raise ConfigError(f"memory_budget must be a finite number of GB > 0, got {self.memory_budget}")
        if self.noise is not None:
            from .data import parse_noise

            parse_noise(self.noise)


@dataclass(frozen=True)
class ModelConfig:
    """A registered model's name (or a user's class as "package.module:Class") and its options.

    input_shape : one sample's shape; recorded in a run's config.json (None before the data is seen).
    """

    name: str = "dense"
    options: dict = field(default_factory=dict)
    input_shape: list | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        from .registry import model_spec

        check_types(self, "model")
        if not is_import_path(self.name):
            model_spec(self.name).check(self.options)


def is_import_path(name: str) -> bool:
    """"package.module:Class" names a user's module class, anything else a registered model."""
    return ":" in name


@dataclass(frozen=True)
class TrainConfig:
    """How to fit: optimizer, budget, seed, device."""

    epochs: int = 50
    batch_size: int = 256
    optimizer: str = "adam"
    lr: float | None = None  # None: the optimizer's default in DEFAULT_LR
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    patience: int | None = None  # early stopping on validation loss; None: off
    schedule: str = "constant"  # learning rate per batch: constant, linear, cosine, onecycle
    warmup: float = 0.0  # fraction of all steps spent ramping the lr up linearly from 0
    clip_grad: float | None = None  # clip the gradients' global L2 norm to this; None: off
    ema: float | None = None  # decay of the weights' moving average that is evaluated and saved; None: off
    compile: bool = False  # one compiled graph per step (training/compiled_step.py); Adam only

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        check_types(self, "train")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(unknown("optimizer", self.optimizer, OPTIMIZERS))
        if self.device not in DEVICES:
            raise ConfigError(unknown("device", self.device, DEVICES))
        if self.precision not in PRECISIONS:
            raise ConfigError(unknown("precision", self.precision, PRECISIONS))
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a finite number > 0, got {self.lr}")
        if not 0 <= self.seed <= MAX_SEED:  # the trainer derives per-epoch seeds that must fit 64 bits
            raise ConfigError(f"seed must be an integer in 0..{MAX_SEED}, got {self.seed}")
        if self.patience is not None and int(self.patience) < 1:
            raise ConfigError(f"patience must be >= 1, got {self.patience}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(unknown("schedule", self.schedule, SCHEDULES))
        if not 0.0 <= float(self.warmup) < 1.0:
            raise ConfigError(f"warmup must be a fraction of the steps in [0, 1), got {self.warmup}")
        if self.clip_grad is not None and not float(self.clip_grad) > 0:
            raise ConfigError(f"clip_grad must be > 0, got {self.clip_grad}")
        if self.ema is not None and not 0.0 < float(self.ema) < 1.0:
            raise ConfigError(f"ema must be a decay in (0, 1), e.g. 0.999, got {self.ema}")
        if self.compile and self.optimizer != "adam":
            raise ConfigError(f"compile: the compiled step implements Adam's update only, not {self.optimizer}; "
                              "use --optimizer adam or train without --compile")

    @property
    def learning_rate(self) -> float:
        return float(self.lr) if self.lr is not None else DEFAULT_LR[self.optimizer]


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; `config.json` in a run directory is `to_dict()`."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def resolved(self, device: str, input_shape=None, stream: bool | None = None,
                 precision: str | None = None) -> "RunConfig":
        """What actually runs: the lr, the device, the precision ("auto" decided: training/setup.py),
        every model option (defaults filled in), the input shape and whether data streamed, as
        config.json records them (tuples become lists)."""
        options = dict(self.model.options)
        if not is_import_path(self.model.name):
            from .registry import model_defaults

            options = {**model_defaults(self.model.name), **options}
        shape = list(input_shape) if input_shape is not None else self.model.input_shape
        model = dataclasses.replace(self.model, options=json.loads(json.dumps(options)), input_shape=shape)
        train = dataclasses.replace(self.train, lr=self.train.learning_rate, device=str(device),
                                    precision=precision or self.train.precision)
        data = self.data if stream is None else dataclasses.replace(self.data, stream=bool(stream))
        return dataclasses.replace(self, data=data, model=model, train=train)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        if not isinstance(d, dict):
            raise ConfigError(f"a run config must be a JSON object with data/model/train, got {_kind(d)}")
        _check_keys("run config", d, ("data", "model", "train"))
        return cls(
            data=_from_dict(DataConfig, d.get("data", {}), "data"),
            model=_from_dict(ModelConfig, d.get("model", {}), "model"),
            train=_from_dict(TrainConfig, d.get("train", {}), "train"),
        )


def _from_dict(cls, d: dict, where: str):
    if not isinstance(d, dict):
        raise ConfigError(f"config section '{where}' must be an object, got {_kind(d)}")
    _check_keys(f"'{where}' key", d, [f.name for f in fields(cls)])
    return cls(**d)


def _check_keys(kind: str, d: dict, valid) -> None:
    for key in d:
        if key not in valid:
            raise ConfigError(unknown(kind, key, valid))


def _as_float(name: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None


def check_types(config, section: str) -> None:
    """Raise ConfigError unless every field's value matches its annotation.

    Values come from JSON files and Python callers as well as the CLI's typed flags, so
    `epochs="2"` or `batch_size=[1]` must fail here, naming the key, not deep in the trainer.
    """
    hints = typing.get_type_hints(type(config))
    for f in fields(config):
        value = getattr(config, f.name)
        if not matches_type(value, hints[f.name]):
            raise ConfigError(f"'{section}.{f.name}' must be {describe_type(hints[f.name])}, got {value!r}")


def matches_type(value, hint) -> bool:
    """isinstance for config annotations: int, float, str, bool, dict, X | None, Literal, tuple[X, ...].

    A tuple or list annotation accepts either (JSON has only lists) and checks every element.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(matches_type(value, h) for h in args)
    if origin is typing.Literal:
        return value in args
    if origin in (tuple, list):
        items = [a for a in args if a is not Ellipsis] or [typing.Any]
        return isinstance(value, (tuple, list)) and all(matches_type(v, items[min(i, len(items) - 1)])
                                                         for i, v in enumerate(value))
    if hint is type(None):
        return value is None
    if hint is float:  # an int is a fine float (JSON writes 1.0 as 1 in other tools); numpy's too
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    return isinstance(value, typing.get_origin(hint) or hint)


def describe_type(hint) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(describe_type(h) for h in typing.get_args(hint))
    if typing.get_origin(hint) is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) in (tuple, list):
        return "a list"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             dict: "an object", type(None): "null"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _kind(value) -> str:
    """A JSON reader's name for a value's type (list, null, number...)."""
    if value is None:
        return "null"
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)
