"""Checkpoints are data: config JSON + safetensors weights + a training state that resumes exactly.

Layout of a run directory:
  config.json              the resolved RunConfig
  model.safetensors        the latest weights (metadata: what identifies them: model, input shape, epoch)
  state/                   optimizer tensors, RNG states, the TrainerState, a copy of the weights
                           (the raw ones) and, with `ema`, their moving average (average.safetensors)
With `ema`, model.safetensors holds the moving average: the weights the run evaluates and publishes.
The state folder is written whole under a temporary name and swapped in, so a crash at any
moment leaves one consistent state (the new one, or the previous one in `state.old/`).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from ..errors import ConfigError, TrainingError
from ..fileio import atomic_path, read_json, write_json
from .integrity import check_optimizer, check_rng, check_trainer_json, check_weights

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


AVERAGE = "average.safetensors"


def save_weights(path, model: torch.nn.Module, metadata: dict, replace: dict | None = None) -> None:
    """Atomically write the model's tensors (unwrapped: no `module.` / `_orig_mod.` prefixes);
    `replace` ({name: tensor}) stands in for the model's own tensors of those names."""
    tensors = {**unwrap(model).state_dict(), **(replace or {})}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: json.dumps(v) for k, v in metadata.items()})


def load_weights(path) -> tuple[dict, dict]:
    """(state_dict, metadata) of a safetensors file; metadata values are JSON strings."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: no weights file (is this a run directory written by `ae train`?)")
    tensors = read_tensors(path)
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata() or {})
    return tensors, metadata


def read_tensors(path) -> dict:
    """A safetensors file's tensors; a damaged file (truncated, empty, garbage) is a TrainingError."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: missing (the run folder is incomplete)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError, MemoryError) as e:
        raise TrainingError(f"{path}: not a readable safetensors file ({e}); the file is damaged "
                            "(an interrupted copy?): restore it or train again") from None


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module under DDP (`.module`) and torch.compile (`._orig_mod`) wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or getattr(model, "_orig_mod")
    return model


def save_state(run_dir, model, optimizer, state: dict, metadata: dict, average: dict | None = None) -> None:
    """Write state/ (optimizer, RNG, trainer state, weights) as one unit, then the user-facing weights.

    state : TrainerState.to_dict() (epoch, step, best_val, stale); metadata : the weights' own.
    average : the weights' moving average (ema.WeightAverage.state_dict()), kept in state/ and
    published as model.safetensors in place of the raw weights.
    """
    run_dir = Path(run_dir)
    final, old = run_dir / "state", run_dir / "state.old"
    tmp = Path(tempfile.mkdtemp(prefix="state.tmp.", dir=run_dir))  # unique: never shared by two writers
    try:
        tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
        tensors.update(_rng_tensors())
        _writing(run_dir, tmp / "optimizer.safetensors",
                 lambda: save_file(tensors, str(tmp / "optimizer.safetensors")))
        _writing(run_dir, tmp / WEIGHTS, lambda: save_weights(tmp / WEIGHTS, model, metadata))
        if average is not None:
            _writing(run_dir, tmp / AVERAGE, lambda: save_weights(tmp / AVERAGE, model, metadata, average))
        _writing(run_dir, tmp / "trainer.json",
                 lambda: write_json(tmp / "trainer.json", {"state": state, "optimizer": opt_meta}))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    _writing(run_dir, run_dir / WEIGHTS, lambda: save_weights(run_dir / WEIGHTS, model, metadata, average))


def _writing(run_dir: Path, path: Path, write) -> None:
    """Run `write`; a full disk or other OS failure becomes a TrainingError that says what survived."""
    try:
        write()
    except (OSError, SafetensorError) as e:
        full = getattr(e, "errno", None) == errno.ENOSPC or "os error 28" in str(e) or "No space left" in str(e)
        what = "no space left on device" if full else f"cannot write ({e})"
        raise TrainingError(f"{what} while writing {path}; {kept_checkpoint(run_dir)}") from None


def kept_checkpoint(run_dir) -> str:
    """What a failed write leaves, read from the disk for its message: the epoch of the checkpoint
    there, or that none was written yet (a first epoch's failure: nothing to evaluate or resume)."""
    try:
        state = saved_trainer_state(run_dir)
    except TrainingError:
        return "the checkpoint in state/ is not readable"
    if state is None:
        return "no checkpoint was written yet: there is nothing to evaluate or resume"
    weights = "" if (Path(run_dir) / WEIGHTS).is_file() else f" (in state/; {WEIGHTS} was not written yet)"
    return f"the checkpoint of epoch {state['epoch']} is intact{weights}"


def _state_dir(run_dir: Path) -> Path:
    state = run_dir / "state"
    if not state.is_dir() and (run_dir / "state.old").is_dir():
        state = run_dir / "state.old"  # a crash between the two renames of save_state
    return state


def saved_trainer_state(run_dir) -> dict | None:
    """The checked trainer state of a run's last checkpoint (see read_trainer_json), None without one."""
    if not (_state_dir(Path(run_dir)) / "trainer.json").is_file():
        return None
    return read_trainer_json(run_dir)["state"]


def load_state(run_dir, model, optimizer, average=None) -> dict:
    """Restore weights, optimizer and RNG states (and the moving `average`, an ema.WeightAverage,
    when the run keeps one) from state/; returns the trainer state dict."""
    run_dir = Path(run_dir)
    state = _state_dir(run_dir)
    saved = read_trainer_json(run_dir, state)
    weights, _ = load_weights(state / WEIGHTS)
    check_weights(weights, unwrap(model), state / WEIGHTS)
    tensors = read_tensors(state / "optimizer.safetensors")
    check_optimizer(tensors, saved["optimizer"], optimizer, state / "optimizer.safetensors")
    check_rng(tensors, state / "optimizer.safetensors")
    averaged = None
    if average is not None:
        if not (state / AVERAGE).is_file():
            raise TrainingError(f"{state / AVERAGE}: missing; the run was not trained with ema, or its "
                                "checkpoint is incomplete: resume it with the settings it was trained with")
        averaged, _ = load_weights(state / AVERAGE)
        check_weights(averaged, unwrap(model), state / AVERAGE)
    unwrap(model).load_state_dict(weights)
    if averaged is not None:
        average.load_state_dict(averaged)
    optimizer.load_state_dict(_unflatten_optimizer(tensors, saved["optimizer"]))
    _match_param_layouts(optimizer)
    _set_rng(tensors)
    return saved["state"]


def read_trainer_json(run_dir, state=None) -> dict:
    """state/trainer.json, checked, as {"state": {epoch, step, best_val, stale}, "optimizer": {...}}."""
    path = Path(state or _state_dir(Path(run_dir))) / "trainer.json"
    if not path.is_file():
        raise TrainingError(f"{run_dir}: no training state to resume from ({path} missing)")
    try:
        saved = read_json(path)
    except (ValueError, OSError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise TrainingError(f"{path}: not valid JSON ({e})") from None
    return check_trainer_json(saved, path)


def _match_param_layouts(optimizer) -> None:
    """Give each per-parameter state tensor its parameter's strides again.

    Checkpoints store contiguous tensors; a channels-last conv weight's moments would come back
    NCHW, and fused Adam pairs elements by memory position, so a resumed run would diverge.
    """
    for param, slots in optimizer.state.items():
        for key, value in slots.items():
            if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                slots[key] = torch.empty_like(param).copy_(value)


def _flatten_optimizer(sd: dict) -> tuple[dict, dict]:
    """Split an optimizer state_dict into tensors (safetensors) and plain values (JSON)."""
    tensors, plain = {}, {}
    for idx, slots in sd["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"state.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "plain": plain}


def _unflatten_optimizer(tensors: dict, meta: dict) -> dict:
    state: dict = {}
    for name, value in tensors.items():
        if name.startswith("state."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for name, value in meta["plain"].items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def _rng_tensors() -> dict:
    out = {"rng.cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng.cuda.{i}"] = s
    return out


def _set_rng(tensors: dict) -> None:
    torch.set_rng_state(tensors["rng.cpu"])
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda][: torch.cuda.device_count()])


def write_config(run_dir, config) -> None:
    """config.json: the resolved RunConfig (`RunConfig.resolved`), so the folder says what ran."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    write_json(Path(run_dir) / CONFIG, config.to_dict())


def read_config(run_dir) -> dict:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise TrainingError(f"{run_dir}: not a run directory ({CONFIG} missing)")
    try:
        return read_json(path)
    except (ValueError, OSError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise TrainingError(f"{path}: not valid JSON ({e})") from None


def load_config(run_dir):
    """The run's RunConfig from config.json, type- and range-checked; errors name the file."""
    from ..config import RunConfig

    try:
        return RunConfig.from_dict(read_config(run_dir))
    except ConfigError as e:
        raise ConfigError(f"{Path(run_dir) / CONFIG}: {e}") from None
