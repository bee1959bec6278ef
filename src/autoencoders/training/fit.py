"""api.train's way down to the Trainer: checks, the run folder's config.json and the callbacks.

Registered models and your own modules take the same path and write the same run folder
(config.json resolved, model.safetensors, state/, history.jsonl, tb/), so everything that reads a
run works on either. Not an entry point: call `ae.train` (or build a `Trainer` yourself).
"""

from __future__ import annotations

import torch

from ..config import RunConfig
from ..data import Presentation, Resident, Streamed, as_source
from ..errors import TrainingError
from . import distributed as dist
from .callbacks import Checkpoint, EarlyStopping, EpochHook, RunLogger
from .checkpoint import write_config
from .contract import check_module
from .datachecks import check_targets
from .setup import fast_layout
from .trainer import Trainer


def fit_run(model: torch.nn.Module, config: RunConfig, train, val, device: torch.device, *, out=None,
            resume: bool = False, quiet: bool = False, on_epoch_end=None, progress=None, data=None) -> list[dict]:
    """Train `model` per `config` on `train` (validating on `val`), checkpointing into `out`.

    train, val : BatchSources, tensors / arrays (N, *sample_shape) in [0, 1] or torch Datasets;
    `config.data`'s noise / binarize options apply to those that are not sources yet.
    device : this rank's device (distributed.setup has run). data : what `on_epoch_end(record,
    model, data)` is handed (the run's RunData). Under torchrun every rank runs this; only rank 0
    writes files (see distributed.py). Returns this call's history.
    """
    presentation = Presentation.from_config(config.data)
    seed = config.train.seed
    train = as_source(train, presentation, device=device, seed=seed, name="training data")
    val = None if val is None else as_source(val, presentation, device=device, seed=seed, name="validation data")
    model = fast_layout(model.to(device), train.sample_shape)
    _check_targets(model, train, val, config.data.name)
    check_module(model, train, val, precision=config.train.precision)  # before the run folder is written
    return _train(model, config, out, device, train, val, data, resume=resume, quiet=quiet,
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
