"""The Python API: `train`, `load_run`, and a `Run` that encodes, decodes and evaluates.

`train` takes a registered model's name, or your own module (any nn.Module honouring
models.base.AutoencoderProtocol) with your own data: tensors, numpy arrays or a torch Dataset.
A run folder of your own module records its class as "package.module:Class" and, when you pass
`model_args`, the JSON-able keyword arguments that rebuild it; `load_run(path)` then rebuilds it,
and `load_run(path, model=MyModule(...))` always works (docs/own-model.md). The command line
only parses arguments and calls these functions.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .config import DataConfig, ModelConfig, RunConfig, TrainConfig, is_import_path
from .data import EVAL_BATCH, Batch, load_run_data, load_split
from .errors import ConfigError, unknown
from .evaluation.metrics import code_stats, psnr, reconstruction_metrics, ssim
from .models.base import AutoencoderProtocol
from .registry import create_model, model_defaults
from .training import fit, fit_module
from .training.callbacks import read_history
from .training.checkpoint import WEIGHTS, load_weights, read_config, saved_trainer_state
from .training.trainer import evaluate_loss, fast_layout, resolve_device

IN_MEMORY = "array"  # DataConfig.name of a run trained on the caller's own tensors / Dataset

_DATA_KEYS = {f.name for f in dataclasses.fields(DataConfig)} - {"name"}
_TRAIN_KEYS = {f.name for f in dataclasses.fields(TrainConfig)}


@dataclass
class Run:
    """A trained model with the config that made it; methods take and return CPU tensors."""

    model: torch.nn.Module
    config: RunConfig
    path: Path | None = None
    history: list = field(default_factory=list)
    _splits: dict = field(default_factory=dict, repr=False, compare=False)  # split name -> Batch

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def encode(self, x) -> torch.Tensor:
        """x : (N, *input_shape) array or tensor in [0, 1] -> codes (N, ...)."""
        return self._batched(self.model.encode, x)

    def decode(self, z) -> torch.Tensor:
        return self._batched(self.model.decode, z)

    def reconstruct(self, x) -> torch.Tensor:
        return self._batched(lambda b: self.model(b).recon, x)

    @torch.no_grad()
    def _batched(self, fn, x, batch_size: int = EVAL_BATCH) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32)
        self.model.eval()
        parts = [fn(x[i : i + batch_size].to(self.device)).cpu() for i in range(0, len(x), batch_size)]
        return torch.cat(parts) if parts else x[:0]

    def split(self, split: str = "test") -> Batch:
        """(input, target, label) of a split, prepared as validation data (noise, binarization).

        Loaded once per Run and kept on it. A run trained on your own in-memory data has no split
        to reload: pass that data to `evaluate(x)` instead.
        """
        if split not in self._splits:
            if self.config.data.name == IN_MEMORY:
                raise ConfigError("this run trained on in-memory data, which a run folder does not keep: "
                                  "pass samples to run.evaluate(x)")
            self._splits[split] = load_split(self.config.data, split, self.device, self.config.train.seed)
        return self._splits[split]

    def evaluate(self, data="test") -> dict:
        """Loss terms, per-pixel BCE/MSE, PSNR, SSIM and code statistics on a whole split.

        data : a split name, or your own samples (N, *input_shape) in [0, 1] (scored as they are).
        """
        if isinstance(data, str):
            split, (inputs, targets, _) = data, self.split(data)
        else:
            x = torch.as_tensor(np.asarray(data) if not torch.is_tensor(data) else data, dtype=torch.float32)
            split, inputs, targets = "data", x.to(self.device), x.to(self.device)
        result = {"split": split, "n": len(inputs), "model": self.config.model.name}
        result.update({f"loss_{k}": v for k, v in evaluate_loss(self.model, inputs, targets).items()})
        recon = self.reconstruct(inputs)
        result.update(reconstruction_metrics(recon, targets.cpu()))
        result.update(code_stats(self.encode(inputs)))
        if self.config.data.noise and isinstance(data, str):
            result["input_psnr"] = psnr(inputs.cpu().clamp(0, 1), targets.cpu())
            result["input_ssim"] = ssim(inputs.cpu().clamp(0, 1), targets.cpu())
        return result


def split_options(options: dict) -> tuple[dict, dict, dict]:
    """Route flat keyword options to (data, train, model) config sections by field name."""
    data, train, model = {}, {}, {}
    for key, value in options.items():
        target = data if key in _DATA_KEYS else train if key in _TRAIN_KEYS else model
        target[key] = value
    return data, train, model


def make_config(model: str = "dense", data: str = "digits", **options) -> RunConfig:
    """A validated RunConfig from flat options, e.g. `make_config("dense", "mnist", epochs=50)`."""
    data_kw, train_kw, model_kw = split_options(options)
    valid = set(model_defaults(model)) | _DATA_KEYS | _TRAIN_KEYS
    for key in model_kw:
        if key not in valid:
            raise ConfigError(f"model '{model}': " + unknown("option", key, valid))
    config = RunConfig(DataConfig(name=data, **data_kw), ModelConfig(model, model_kw), TrainConfig(**train_kw))
    return config.validate()


def train(model="dense", data="digits", *, out=None, quiet: bool = False, val=None, model_args: dict | None = None,
          resume: bool = False, **options) -> Run:
    """Train a model; `out` is the run directory (checkpoints, logs), or None for none.

    model : a registered name (`list_models()`), or your own nn.Module honouring AutoencoderProtocol.
    data : a dataset name or path; for your own module also tensors / arrays (N, *sample_shape) in
        [0, 1] or a torch Dataset (then `val`, the same kinds, is the validation data, optional).
    model_args : your module's JSON-able constructor keyword arguments, recorded so that
        `load_run(out)` can rebuild it. resume : continue your module's run in `out`.
    options : flat data / train / model options (`make_config`), e.g. epochs=10, noise="gaussian:0.5".
    """
    if isinstance(model, torch.nn.Module):
        return _train_module(model, data, val, out, quiet, model_args, resume, options)
    config = make_config(model, data, **options)
    return train_config(config, out, quiet=quiet, resume=resume)


def _train_module(module, data, val, out, quiet, model_args, resume, options) -> Run:
    """Your own module on a dataset name or your own data: the same Trainer and run folder."""
    check_contract(module)
    data_kw, train_kw, model_kw = split_options(options)
    if model_kw:
        valid = sorted(_DATA_KEYS | _TRAIN_KEYS)
        raise ConfigError(f"{type(module).__name__}: " + unknown("option", next(iter(model_kw)), valid)
                          + " (constructor arguments go in model_args)")
    _check_json("model_args", model_args or {})
    name = data if isinstance(data, str) else IN_MEMORY
    config = RunConfig(DataConfig(name=name, **data_kw), ModelConfig(class_path(type(module)), dict(model_args or {})),
                       TrainConfig(**train_kw)).validate()
    if isinstance(data, str):
        loaded = load_run_data(config.data, resolve_device(config.train.device), config.train.seed)
        data, val = loaded.train, loaded.val
    history = fit_module(module, config, data, val, out=out, quiet=quiet, resume=resume)
    path = Path(out) if out is not None else None
    return Run(module, config, path, read_history(path) if path else history)


def check_contract(module) -> None:
    """ConfigError naming what `module` lacks of AutoencoderProtocol (models/base.py)."""
    if not isinstance(module, AutoencoderProtocol):
        missing = [m for m in ("input_shape", "loss_kind", "encode", "decode", "decode_logits") if not hasattr(module, m)]
        raise ConfigError(f"{type(module).__name__} does not honour the model contract "
                          f"(models.base.AutoencoderProtocol): missing {', '.join(missing)}")


def class_path(cls) -> str:
    """"package.module:Class", what a run folder records to rebuild a user's module."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _check_json(what: str, value) -> None:
    try:
        json.dumps(value)
    except TypeError as e:
        raise ConfigError(f"{what} must be JSON-able (numbers, strings, lists, dicts): {e}") from None


def train_config(config: RunConfig, out=None, *, quiet: bool = False, resume: bool = False) -> Run:
    net, _, history = fit(config, out, resume=resume, quiet=quiet)
    path = Path(out) if out is not None else None
    return Run(net, config, path, read_history(path) if path else history)


def resume(path, *, epochs: int | None = None, quiet: bool = False) -> Run:
    """Continue the run in `path` from its last checkpoint (optionally to a new epoch budget)."""
    config = RunConfig.from_dict(read_config(path))
    if is_import_path(config.model.name):
        raise ConfigError(f"{path} holds your own module ({config.model.name}): resume it with "
                          f"ae.train(module, data=..., out={str(path)!r}, resume=True, epochs=...)")
    if epochs is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
    return train_config(config, path, quiet=quiet, resume=True)


def ensure_trained(config: RunConfig, out, *, quiet: bool = False) -> Run:
    """Train `config` into `out`, reusing a finished run there and resuming an interrupted one."""
    out = Path(out)
    if not (out / "config.json").exists():
        return train_config(config, out, quiet=quiet)
    if is_finished(config, out):
        return load_run(out, device=config.train.device)
    return train_config(config, out, quiet=quiet, resume=saved_trainer_state(out) is not None)


def is_finished(config: RunConfig, out) -> bool:
    """Whether `out` holds a run of exactly `config` trained to its full budget."""
    out = Path(out)
    if not (out / "config.json").exists():
        return False
    if not _same_run(config, RunConfig.from_dict(read_config(out))):
        raise ConfigError(f"{out} holds a run with a different configuration; remove it or pick another folder")
    state = saved_trainer_state(out)
    return state is not None and state["epoch"] >= config.train.epochs


def _same_run(config: RunConfig, stored: RunConfig) -> bool:
    """Whether `config` is what `stored` (a resolved config.json) ran, "auto" device included."""
    device = stored.train.device if config.train.device == "auto" else config.train.device
    stream = stored.data.stream if config.data.stream is None else config.data.stream
    shape = stored.model.input_shape
    return (config.resolved(device, shape, stream).to_dict()
            == stored.resolved(stored.train.device, shape, stored.data.stream).to_dict())


def load_run(path, device: str = "cpu", *, model: torch.nn.Module | None = None) -> Run:
    """Load a run directory's config and latest weights (no pickles: JSON + safetensors).

    model : the module to load the weights into; needed for your own module when the run did not
    record `model_args` (or its class cannot be imported here). Registered models need nothing.
    """
    path = Path(path)
    config = RunConfig.from_dict(read_config(path))
    weights, meta = load_weights(path / WEIGHTS)
    shape = tuple(config.model.input_shape or _sample_shape(meta, path))
    net = model if model is not None else build_model(config.model, shape, path)
    try:
        net.load_state_dict(weights)
    except RuntimeError as e:
        detail = str(e).strip().splitlines()[-1].strip()
        raise ConfigError(f"{path}: the weights do not fit the {type(net).__name__} built to load them ({detail}); "
                          f"pass the module the run trained: load_run(path, model={type(net).__name__}(...))") from None
    net = fast_layout(net.to(resolve_device(device)), shape)
    return Run(net.eval(), config, path, read_history(path))


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


def _sample_shape(meta: dict, path: Path) -> tuple:
    """The per-sample input shape recorded in the weights' metadata at training time."""
    if "input_shape" not in meta:
        raise ConfigError(f"{path / WEIGHTS}: metadata has no input_shape (not written by `ae train`?)")
    return tuple(json.loads(meta["input_shape"]))
