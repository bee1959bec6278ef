"""Learning-rate schedules as pure functions of the optimizer step.

The learning rate at step t (0-based, one step per batch) is `lr_at(t, total, ...)`: nothing but
the step counter and the config decide it, so a resumed run recomputes exactly the rates the
uninterrupted one used, and the checkpoint only needs the step.

  constant  peak lr throughout (after the optional linear warm-up)
  linear    linear warm-up, then linear decay to 0
  cosine    linear warm-up, then half a cosine down to 0 (Loshchilov & Hutter 2017,
            https://arxiv.org/abs/1608.03983, without restarts)
  onecycle  cosine ramp from peak/25 to peak over the warm-up (30% when unset), then cosine
            down to peak/1e4: Smith & Topin's one-cycle policy as PyTorch's OneCycleLR draws it
            (https://arxiv.org/abs/1708.07120)
"""

from __future__ import annotations

import math

from ..config import SCHEDULES  # noqa: F401  (the names; their shapes are drawn here)

ONECYCLE_WARMUP = 0.3  # PyTorch OneCycleLR's pct_start
ONECYCLE_START_DIV = 25.0  # its div_factor: the first step's lr is peak / 25
ONECYCLE_END_DIV = 1e4  # its final_div_factor: the last step's lr is the start lr / 1e4


def warmup_steps(total: int, warmup: float, schedule: str) -> int:
    """Steps of warm-up: `warmup` is a fraction of all steps (one-cycle defaults to 30%)."""
    if schedule == "onecycle" and not warmup:
        warmup = ONECYCLE_WARMUP
    return int(round(warmup * total))


def lr_at(step: int, total: int, peak: float, schedule: str = "constant", warmup: float = 0.0) -> float:
    """The learning rate of optimizer step `step` (0-based) of `total` steps."""
    n_warm = warmup_steps(total, warmup, schedule)
    if schedule == "onecycle":
        return _onecycle(step, total, peak, n_warm)
    if step < n_warm:
        return peak * (step + 1) / n_warm
    if schedule == "constant":
        return peak
    progress = min(1.0, (step - n_warm) / max(1, total - n_warm))
    if schedule == "linear":
        return peak * (1.0 - progress)
    if schedule == "cosine":
        return peak * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown schedule {schedule!r}")


def _onecycle(step: int, total: int, peak: float, n_warm: int) -> float:
    start = peak / ONECYCLE_START_DIV
    end = start / ONECYCLE_END_DIV
    top = n_warm - 1  # the step at the peak, as OneCycleLR counts
    if step <= top:
        return _cos_between(start, peak, step / max(1, top))
    return _cos_between(peak, end, (step - top) / max(1, total - 1 - top))


def _cos_between(a: float, b: float, t: float) -> float:
    """From a (t=0) to b (t=1) along half a cosine."""
    t = min(max(t, 0.0), 1.0)
    return b + (a - b) * 0.5 * (1.0 + math.cos(math.pi * t))


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
