"""Checks on what a run folder holds, before any of it reaches PyTorch.

A run folder is user-editable data: a hand-edited, truncated or crafted file must end in one
TrainingError naming the file and what is wrong, never in a raw library exception, a NaN loss
blamed on the learning rate, or native code reading past a buffer (fused Adam trusts that each
moment tensor has its parameter's shape and memory size).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ..errors import TrainingError

# Per-parameter optimizer state: the tensors each optimizer keeps (always, and optionally).
_SLOTS = {
    torch.optim.Adam: ({"step", "exp_avg", "exp_avg_sq"}, {"max_exp_avg_sq"}),
    torch.optim.RMSprop: ({"step", "square_avg"}, {"momentum_buffer", "grad_avg"}),
    torch.optim.Adadelta: ({"step", "square_avg", "acc_delta"}, set()),
}
_NON_NEGATIVE = ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "acc_delta")  # sqrt() is taken of them
_STATE = {"epoch": int, "step": int, "stale": int, "best_val": float}


def check_weights(weights: dict, model: torch.nn.Module, path) -> None:
    """Names, shapes, dtypes and finiteness of `weights` against `model`'s state_dict."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise TrainingError(f"{path}: the tensors do not belong to this model: "
                            f"missing {_few(missing)}, unexpected {_few(extra)} (weights from another model "
                            "or config? the run folder's files must come from one run)")
    for name, want in expected.items():
        got = weights[name]
        if tuple(got.shape) != tuple(want.shape) or got.dtype != want.dtype:
            raise TrainingError(f"{path}: tensor '{name}' is {tuple(got.shape)} {got.dtype}, but the model "
                                f"in config.json needs {tuple(want.shape)} {want.dtype}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise TrainingError(f"{path}: tensor '{name}' holds NaN or infinite values (a diverged or damaged "
                                "checkpoint)")


def check_optimizer(tensors: dict, meta, optimizer: torch.optim.Optimizer, path) -> None:
    """Every optimizer tensor's name, shape and dtype against the parameters it belongs to."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    _check_groups(meta, optimizer, path)
    slots: dict = {}
    for name, value in tensors.items():
        if name.startswith("rng."):
            continue
        idx, key = _slot_name(name, len(params), path)
        _check_slot(name, key, value, params[idx], path)
        slots.setdefault(idx, set()).add(key)
    required, optional = _SLOTS.get(type(optimizer), (set(), None))
    for idx, keys in sorted(slots.items()):
        if not required <= keys or (optional is not None and not keys <= required | optional):
            raise TrainingError(f"{path}: parameter {idx} has optimizer state {sorted(keys)}, but "
                                f"{type(optimizer).__name__} keeps {sorted(required)}")
    for key in meta["plain"]:
        _slot_name("state." + key, len(params), path)


def _slot_name(name: str, n_params: int, path) -> tuple[int, str]:
    parts = name.split(".", 2)
    if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit() or int(parts[1]) >= n_params:
        raise TrainingError(f"{path}: unexpected tensor '{name}' (the model has {n_params} parameters; "
                            "expected state.<index>.<name> and rng.*)")
    return int(parts[1]), parts[2]


def _check_slot(name: str, key: str, value: torch.Tensor, param: torch.Tensor, path) -> None:
    shape = () if key == "step" else tuple(param.shape)
    if tuple(value.shape) != shape or value.dtype != torch.float32:
        raise TrainingError(f"{path}: '{name}' is {tuple(value.shape)} {value.dtype}, but its parameter "
                            f"needs {shape} torch.float32: this optimizer state is not from this model")
    if not bool(torch.isfinite(value).all()) or (key in _NON_NEGATIVE + ("step",) and bool((value < 0).any())):
        raise TrainingError(f"{path}: '{name}' holds NaN, infinite or negative values (damaged state)")


def _check_groups(meta, optimizer, path) -> None:
    """param_groups from trainer.json: same groups, same parameters, values of the right types."""
    saved = meta.get("param_groups") if isinstance(meta, dict) else None
    fresh = optimizer.state_dict()["param_groups"]
    if not isinstance(saved, list) or len(saved) != len(fresh) or not isinstance(meta.get("plain"), dict):
        raise TrainingError(f"{path}: 'optimizer' must hold param_groups (a list of {len(fresh)}) and plain")
    for got, want in zip(saved, fresh):
        if not isinstance(got, dict) or got.get("params") != want["params"]:
            raise TrainingError(f"{path}: optimizer param_groups do not match this model's parameters")
        for key, value in want.items():
            if key != "params" and not _same_kind(got.get(key, _MISSING), value):
                raise TrainingError(f"{path}: optimizer setting '{key}' is {got.get(key, 'missing')!r}; "
                                    f"expected a value like {value!r}")


_MISSING = object()


def _same_kind(got, want) -> bool:
    """JSON-level type equality; None and booleans interchange (PyTorch uses None for 'default')."""
    if want is None or isinstance(want, bool):
        return got is None or isinstance(got, bool)
    if isinstance(want, (int, float)):
        return isinstance(got, (int, float)) and not isinstance(got, bool) and math.isfinite(got) and got >= 0
    if isinstance(want, (tuple, list)):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same_kind, got, want))
    return type(got) is type(want)


def check_rng(tensors: dict, path) -> None:
    """The CPU generator's state: present, and the size and dtype torch.set_rng_state takes."""
    want = torch.get_rng_state()
    got = tensors.get("rng.cpu")
    if got is None:
        raise TrainingError(f"{path}: no RNG state (rng.cpu): the run cannot resume exactly")
    if got.shape != want.shape or got.dtype != want.dtype:
        raise TrainingError(f"{path}: rng.cpu is {tuple(got.shape)} {got.dtype}, expected "
                            f"{tuple(want.shape)} {want.dtype}")


def check_trainer_json(saved, path: Path) -> dict:
    """trainer.json -> {"state": {...}, "optimizer": {...}} with typed fields."""
    state = saved.get("state") if isinstance(saved, dict) else None
    if not isinstance(state, dict) or "optimizer" not in saved:
        raise TrainingError(f"{path}: expected an object with 'state' and 'optimizer'")
    for key, kind in _STATE.items():
        value = state.get(key)
        ok = isinstance(value, (int, float) if kind is float else kind) and not isinstance(value, bool)
        if not ok or (kind is int and value < 0):
            raise TrainingError(f"{path}: '{key}' is {value!r}; expected a "
                                f"{'non-negative integer' if kind is int else kind.__name__}")
    return {"state": state, "optimizer": saved["optimizer"]}


def _few(names: list) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "") if names else "none"
