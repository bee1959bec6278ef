"""The Python API: `train`, `load_run`, and a `Run` that encodes, decodes and evaluates.

The command line only parses arguments and calls these functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .config import DEVICES, DataConfig, ModelConfig, RunConfig, TrainConfig
from .errors import ConfigError, TrainingError, unknown
from .evaluation.metrics import code_stats, psnr, reconstruction_metrics, ssim
from .registry import create_model, model_defaults, train_defaults
from .training.callbacks import read_history
from .training import distributed
from .training.checkpoint import WEIGHTS, load_config, load_weights, read_trainer_json
from .training.integrity import check_weights
from .training.rundir import claim
from .training.inputs import load_split
from .training.trainer import EVAL_BATCH, evaluate_loss, fast_layout, fit, resolve_device

_DATA_KEYS = {f.name for f in dataclasses.fields(DataConfig)} - {"name"}
_TRAIN_KEYS = {f.name for f in dataclasses.fields(TrainConfig)}


@dataclass
class Run:
    """A trained model with the config that made it; methods take and return CPU tensors."""

    model: torch.nn.Module
    config: RunConfig
    path: Path | None = None
    history: list = field(default_factory=list)

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

    def split(self, split: str = "test"):
        """(inputs, targets, labels) of a split, prepared as validation data (noise, binarization)."""
        return load_split(self.config.data, split, self.device, self.config.train.seed)

    def evaluate(self, split: str = "test") -> dict:
        """Loss terms, per-pixel BCE/MSE, PSNR, SSIM and code statistics on a whole split."""
        inputs, targets, _ = self.split(split)
        result = {"split": split, "n": len(inputs), "model": self.config.model.name}
        terms = evaluate_loss(self.model, inputs, targets)  # the total "loss" and its named terms
        result.update({k if k == "loss" else f"loss_{k}": v for k, v in terms.items()})
        recon = self.reconstruct(inputs)
        result.update(reconstruction_metrics(recon, targets.cpu()))
        result.update(code_stats(self.encode(inputs)))
        if self.config.data.noise:
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
    train_kw = {**train_defaults(model), **train_kw}  # the model's registered (the article's) batch size
    config = RunConfig(DataConfig(name=data, **data_kw), ModelConfig(model, model_kw), TrainConfig(**train_kw))
    return config.validate()


def train(model: str = "dense", data: str = "digits", *, out=None, quiet: bool = False,
          overwrite: bool = False, **options) -> Run:
    """Train a registered model; `out` is the run directory (checkpoints, logs), or None for none.

    A folder that already holds a run is refused unless `overwrite=True` replaces it.
    """
    config = make_config(model, data, **options)
    return train_config(config, out, quiet=quiet, overwrite=overwrite)


def train_config(config: RunConfig, out=None, *, quiet: bool = False, resume: bool = False,
                 overwrite: bool = False, progress=None) -> Run:
    """Train into `out` while holding it (rundir.claim): one writer per run folder.
    `progress(epoch, epochs, batch, batches)` hears of every batch."""
    owned = out is not None and distributed.is_main()
    with claim(out, resume=resume, overwrite=overwrite) if owned else contextlib.nullcontext():
        if resume:
            _check_budget(config, out)
        net, _, history = fit(config, out, resume=resume, quiet=quiet, progress=progress)
    path = Path(out) if out is not None else None
    return Run(net, config, path, read_history(path) if path else history)


def resume(path, *, epochs: int | None = None, quiet: bool = False) -> Run:
    """Continue the run in `path` from its last checkpoint (optionally to a new epoch budget)."""
    config = load_config(path)
    if epochs is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
    return train_config(config, path, quiet=quiet, resume=True)


def _check_budget(config: RunConfig, path) -> None:
    """A resumed run must have epochs left: else nothing trains, yet config.json would be rewritten."""
    done = read_trainer_json(path)["counters"]["epoch"]
    if config.train.epochs <= done:
        raise ConfigError(f"{path} has already trained {done} epochs of its budget of "
                          f"{config.train.epochs}; --epochs is the total: pass --epochs N with N > {done} "
                          "to train more")


def ensure_trained(config: RunConfig, out, *, quiet: bool = False, progress=None) -> Run:
    """Train `config` into `out`, reusing a finished run there and resuming an interrupted one."""
    out = Path(out)
    if not (out / "config.json").exists():
        return train_config(config, out, quiet=quiet, progress=progress)
    if is_finished(config, out):
        return load_run(out, device=config.train.device)
    started = (out / "state" / "trainer.json").exists()  # else nothing was checkpointed: start again
    return train_config(config, out, quiet=quiet, resume=started, overwrite=not started, progress=progress)


def is_finished(config: RunConfig, out) -> bool:
    """Whether `out` holds a run of exactly `config` trained to its full budget."""
    out = Path(out)
    if not (out / "config.json").exists():
        return False
    if load_config(out) != config:
        raise ConfigError(f"{out} holds a run with a different configuration; remove it or pick another folder")
    state = out / "state" / "trainer.json"
    return state.exists() and read_trainer_json(out)["counters"]["epoch"] >= config.train.epochs


def load_run(path, device: str = "cpu") -> Run:
    """Load a run directory's config and latest weights (no pickles: JSON + safetensors)."""
    path = Path(path)
    if device not in DEVICES:
        raise ConfigError(unknown("device", device, DEVICES))
    config = load_config(path)
    weights, meta = load_weights(path / WEIGHTS)
    shape = _sample_shape(meta, path)
    with torch.device("meta"):  # check the file against the model before allocating anything
        check_weights(weights, _build(config, shape, path), path / WEIGHTS)
    net = create_model(config.model.name, shape, **config.model.options)
    net.load_state_dict(weights)
    net = fast_layout(net.to(resolve_device(device)), shape)
    return Run(net.eval(), config, path, read_history(path))


def _build(config: RunConfig, shape: tuple, path: Path):
    try:
        return create_model(config.model.name, shape, **config.model.options)
    except Exception as e:  # noqa: BLE001 - any model may reject a shape in its own way
        raise TrainingError(f"{path / WEIGHTS}: the model in config.json cannot take input_shape "
                            f"{list(shape)} from the weights' metadata ({e})") from None


def _sample_shape(meta: dict, path: Path) -> tuple:
    """The per-sample input shape recorded in the weights' metadata: 2 or 3 positive integers."""
    if "input_shape" not in meta:
        raise ConfigError(f"{path / WEIGHTS}: metadata has no input_shape (not written by `ae train`?)")
    try:
        shape = json.loads(meta["input_shape"])
    except (ValueError, RecursionError):
        shape = meta["input_shape"]
    if not (isinstance(shape, list) and len(shape) in (2, 3)
            and all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= 2**20 for s in shape)):
        raise TrainingError(f"{path / WEIGHTS}: metadata input_shape is {meta['input_shape']!r}; expected "
                            "2 or 3 positive integers, e.g. [1, 28, 28]")
    return tuple(shape)
