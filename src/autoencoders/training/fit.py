"""Builders over the Trainer: a registered model from a RunConfig, or a user's own module.

Both write the same run folder (config.json resolved, model.safetensors, state/, history.jsonl,
tb/) through the same callbacks, so everything that reads a run works on either.
"""

from __future__ import annotations

import torch

from ..config import RunConfig
from ..data import Presentation, Resident, Streamed, as_source, load_run_data
from ..errors import TrainingError
from . import distributed as dist
from .callbacks import Checkpoint, EarlyStopping, EpochHook, RunLogger
from .checkpoint import write_config
from .contract import check_module
from .datachecks import check_targets
from .setup import fast_layout, resolve_device
from .trainer import Trainer


def fit(config: RunConfig, out=None, *, resume: bool = False, quiet: bool = False, on_epoch_end=None,
        progress=None):
    """Train a registered model per `config`, checkpointing into `out`. Returns (model, data, history).

    `data` is the run's data.RunData. `on_epoch_end(record, model, data)`, if given, is called after
    every epoch's checkpoint; it returning True ends training there (e.g. a quality target reached).
    `progress(epoch, epochs, batch, batches)`, if given, is called after every batch (RunLogger).
    Under torchrun every rank runs this; only rank 0 writes files (see distributed.py).
    """
    from ..registry import create_model  # models register on first use

    config.validate()
    device = dist.setup(resolve_device(config.train.device))
    data = load_run_data(config.data, device, config.train.seed)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(config.train.seed)  # the same seed, the same initial weights
        model = create_model(config.model.name, data.sample_shape, **config.model.options)
    model = fast_layout(model.to(device), data.sample_shape)
    _check_targets(model, data.train, data.val, data.meta.get("source", config.data.name))
    history = _train(model, config, out, device, data.train, data.val, data, resume=resume, quiet=quiet,
                     on_epoch_end=on_epoch_end, progress=progress)
    return model, data, history


def fit_module(model: torch.nn.Module, config: RunConfig, train, val=None, *, out=None, resume: bool = False,
               quiet: bool = False, on_epoch_end=None, progress=None) -> list[dict]:
    """Train a user's module (honouring models.base.AutoencoderProtocol) on their own data.

    train, val : tensors or arrays (N, *sample_shape) in [0, 1], torch Datasets, or BatchSources;
    `config.data`'s noise / binarize options apply to them. `config.model.name` records how to
    rebuild the module ("package.module:Class", api.load_run). Returns the history.
    """
    config.validate()
    device = dist.setup(resolve_device(config.train.device))
    presentation = Presentation.from_config(config.data)
    seed = config.train.seed
    train = as_source(train, presentation, device=device, seed=seed, name="training data")
    val = None if val is None else as_source(val, presentation, device=device, seed=seed, name="validation data")
    model = fast_layout(model.to(device), train.sample_shape)
    _check_targets(model, train, val, config.data.name)
    check_module(model, train, val, precision=config.train.precision)  # before the run folder is written
    return _train(model, config, out, device, train, val, None, resume=resume, quiet=quiet,
                  on_epoch_end=on_epoch_end, progress=progress)


def _train(model, config: RunConfig, out, device, train, val, data, *, resume, quiet, on_epoch_end,
           progress) -> list[dict]:
    """Write config.json (resolved), assemble the callbacks, run the Trainer."""
    if resume and out is None:
        raise TrainingError("resume needs the run directory (out=...) to continue from")
    shape = list(train.sample_shape)
    callbacks = [RunLogger(out, quiet=quiet, on_batch=progress)]
    if out is not None:
        if dist.is_main():
            write_config(out, config.resolved(device.type, shape, stream=isinstance(train, Streamed)))
        callbacks.append(Checkpoint(out, {"model": config.model.name, "input_shape": shape}))
    if on_epoch_end is not None:
        callbacks.append(EpochHook(on_epoch_end, data))
    if config.train.patience is not None:
        callbacks.append(EarlyStopping(config.train.patience, quiet=quiet))
    trainer = Trainer(model, config.train, device=device, callbacks=callbacks)
    return trainer.fit(train, val, resume_from=out if resume else None)


def _check_targets(model, train, val, source: str) -> None:
    """Resident float data is range-checked (datachecks.check_targets); uint8 lies in [0, 1] by
    construction, and streamed data is not scanned (that would read it all before training)."""
    if isinstance(train, Resident) and train.x.dtype != torch.uint8:
        x_val = val.x if isinstance(val, Resident) and val.x.dtype != torch.uint8 else train.x[:0]
        check_targets(model, train.x, x_val, source)
