"""Checkpoints are data: config JSON + safetensors weights + a training state that resumes exactly.

Layout of a run directory:
  config.json              the resolved RunConfig
  model.safetensors        the latest weights (metadata: what identifies them: model, input shape, epoch)
  state/                   optimizer tensors, RNG states, the TrainerState, a copy of the weights
The state folder is written whole under a temporary name and swapped in, so a crash at any
moment leaves one consistent state (the new one, or the previous one in `state.old/`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file, safe_open

from ..errors import TrainingError
from ..fileio import atomic_path, read_json, write_json

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_weights(path, model: torch.nn.Module, metadata: dict) -> None:
    """Atomically write the model's tensors (unwrapped: no `module.` / `_orig_mod.` prefixes)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in unwrap(model).state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: json.dumps(v) for k, v in metadata.items()})


def load_weights(path) -> tuple[dict, dict]:
    """(state_dict, metadata) of a safetensors file; metadata values are JSON strings."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: no weights file (is this a run directory written by `ae train`?)")
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata() or {})
    return load_file(str(path)), metadata


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module under DDP (`.module`) and torch.compile (`._orig_mod`) wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or getattr(model, "_orig_mod")
    return model


def save_state(run_dir, model, optimizer, state: dict, metadata: dict) -> None:
    """Write state/ (optimizer, RNG, trainer state, weights) as one unit, then the user-facing weights.

    state : TrainerState.to_dict() (epoch, step, best_val, stale); metadata : the weights' own.
    """
    run_dir = Path(run_dir)
    tmp, final, old = run_dir / "state.tmp", run_dir / "state", run_dir / "state.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
    tensors.update(_rng_tensors())
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    save_weights(tmp / WEIGHTS, model, metadata)
    write_json(tmp / "trainer.json", {"state": state, "optimizer": opt_meta})
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    save_weights(run_dir / WEIGHTS, model, metadata)


def _state_dir(run_dir: Path) -> Path:
    state = run_dir / "state"
    if not state.is_dir() and (run_dir / "state.old").is_dir():
        state = run_dir / "state.old"  # a crash between the two renames of save_state
    return state


def saved_trainer_state(run_dir) -> dict | None:
    """The trainer state dict of a run's last checkpoint, None without one.

    Runs written before the TrainerState kept it as "counters", mixed with the model's name and
    input shape; those dicts are read as they are (the caller picks the fields it knows).
    """
    path = _state_dir(Path(run_dir)) / "trainer.json"
    if not path.is_file():
        return None
    saved = read_json(path)
    return saved["state"] if "state" in saved else saved["counters"]


def load_state(run_dir, model, optimizer) -> dict:
    """Restore weights, optimizer and RNG states from state/; returns the trainer state dict."""
    run_dir = Path(run_dir)
    state = _state_dir(run_dir)
    if not (state / "trainer.json").is_file():
        raise TrainingError(f"{run_dir}: no training state to resume from (state/trainer.json missing)")
    saved = read_json(state / "trainer.json")
    weights, _ = load_weights(state / WEIGHTS)
    unwrap(model).load_state_dict(weights)
    tensors = load_file(str(state / "optimizer.safetensors"))
    optimizer.load_state_dict(_unflatten_optimizer(tensors, saved["optimizer"]))
    _match_param_layouts(optimizer)
    _set_rng(tensors)
    return saved["state"] if "state" in saved else saved["counters"]


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
    except json.JSONDecodeError as e:
        raise TrainingError(f"{path}: not valid JSON ({e})") from None
