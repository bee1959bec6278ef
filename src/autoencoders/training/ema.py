"""An exponential moving average of the weights: what a run with `ema` evaluates and publishes.

Short one-cycle schedules end with weights that still wander from batch to batch; their running
average is a better model for the same steps (the speed-run trick; Polyak averaging). The trainer
updates the average after every optimizer step, validates with it, and the checkpoint publishes it
as model.safetensors (what `load_run`, evaluation and export read), while state/ keeps the raw
weights and the average both, so a resumed run continues bitwise.

The decay ramps up as in TensorFlow's ExponentialMovingAverage(num_updates): min(ema, (1 + t) /
(10 + t)) at step t, so the first steps' random weights are forgotten quickly. It depends only on
the step, which the trainer's state already holds: the average needs no state of its own.
"""

from __future__ import annotations

import contextlib

import torch


def decay_at(step: int, ema: float) -> float:
    """The averaging weight of the old average after optimizer step `step` (1-based)."""
    return min(float(ema), (1.0 + step) / (10.0 + step))


class WeightAverage:
    """The running average of every floating-point tensor of `model.state_dict()` (weights and
    float buffers), kept in the tensors' own layout (channels-last stays channels-last)."""

    def __init__(self, model: torch.nn.Module, ema: float):
        self.ema = float(ema)
        state = model.state_dict()  # detached tensors sharing the live storage: in-place updates show
        self.names = [k for k, v in state.items() if v.is_floating_point()]
        self._live = [state[k] for k in self.names]
        self.average = [t.detach().clone() for t in self._live]

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Fold the live weights into the average after optimizer step `step`."""
        torch._foreach_lerp_(self.average, self._live, 1.0 - decay_at(step, self.ema))

    def state_dict(self) -> dict:
        """{name: averaged tensor}, as `model.state_dict()` names them (float entries only)."""
        return dict(zip(self.names, self.average))

    @torch.no_grad()
    def load_state_dict(self, tensors: dict) -> None:
        for avg, name in zip(self.average, self.names):
            avg.copy_(tensors[name])

    @torch.no_grad()
    def copy_to_model(self) -> None:
        """Put the average into the model for good (the end of training)."""
        torch._foreach_copy_(self._live, self.average)

    @contextlib.contextmanager
    def applied(self):
        """The model holds the average inside the block and its own weights again after it."""
        with torch.no_grad():
            kept = [t.clone() for t in self._live]
            torch._foreach_copy_(self._live, self.average)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(self._live, kept)
