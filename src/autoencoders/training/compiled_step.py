"""One training step (forward, backward, clipping and Adam's update) as one compiled graph.

Eager PyTorch runs a small net's step as dozens of kernels, each dispatched on its own, and the
elementwise ones between the matmuls cost as much as the matmuls; XLA (Keras on JAX) compiles the
whole step into one executable. `torch.func.grad` makes the step a plain function of the weights,
which torch.compile captures whole, so inductor fuses the elementwise work of the forward, the
backward and the update around the matmuls (`bench/step_variants.py --compile`, its "whole step").

The update is Adam's, computed on the optimizer's own state tensors (exp_avg, exp_avg_sq, step),
so checkpoints, resume and a batch run eagerly (one of another size: see `takes`) all see one
optimizer; tests/test_compiled_step.py checks it against torch.optim.Adam. Sampling inside the model
(a VAE's noise) draws from PyTorch's global generator as in eager mode, so a compiled run is as
reproducible, and resumes as exactly, as an eager one; in bf16 it rounds where eager autocast
does (INDUCTOR_OPTIONS says why).
"""

from __future__ import annotations

import torch
from torch.func import functional_call, grad

from ..config import TrainConfig
from ..errors import ConfigError, TrainingError
from .setup import autocast

INDUCTOR_OPTIONS = {
    "fallback_random": True,  # the model's sampling draws from PyTorch's generator, as in eager mode
    # bf16 values rounded where eager autocast rounds them; inductor otherwise keeps its fused
    # intermediates in fp32, and `ae train deep --compile --precision bf16` diverged on MNIST
    "emulate_precision_casts": True,
}
CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s: coefficient max_norm / (norm + 1e-6)


class CompiledStep:
    """`step(x, target)` trains `model` one step with `optimizer` (a torch.optim.Adam over all of
    the model's trainable parameters, one group, no weight decay, amsgrad or maximize) at the lr
    its param group holds; returns (loss, terms), detached.

    Compiled on the first call for that batch's shape; batches of another shape (an epoch's last,
    smaller one) are not compiled again: `takes(x)` is False for them and the trainer steps eagerly.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, config: TrainConfig,
                 device: torch.device):
        self.names, params = zip(*[(n, p) for n, p in model.named_parameters() if p.requires_grad])
        _check_adam(optimizer, params)
        self.model, self.optimizer = model, optimizer
        self.params = params
        self.views = [p.detach() for p in params]  # share the parameters' storage: updated in place
        group = optimizer.param_groups[0]
        self.betas, self.eps = tuple(float(b) for b in group["betas"]), float(group["eps"])
        self.clip = config.clip_grad
        self.device, self.precision = device, config.precision
        self.lr = torch.zeros((), dtype=torch.float64, device=device)  # an input: a new lr never recompiles
        self.shape: tuple | None = None
        self._compiled = torch.compile(self._step, fullgraph=True, options=INDUCTOR_OPTIONS)

    def takes(self, x: torch.Tensor) -> bool:
        """Whether `x` has the shape compiled for (the first batch's): others run eagerly."""
        return self.shape is None or tuple(x.shape) == self.shape

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict]:
        self.shape = self.shape or tuple(x.shape)
        states = [self._state(p) for p in self.params]
        self.lr.fill_(self.optimizer.param_groups[0]["lr"])
        try:
            return self._compiled(self.views, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
                                  [s["step"] for s in states], x, target, self.lr)
        except torch._dynamo.exc.TorchDynamoException as e:  # noqa: SLF001 (its one public exception base)
            raise TrainingError(f"--compile: torch.compile could not compile this model's training step "
                                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                                "train without --compile") from e

    def _state(self, p: torch.Tensor) -> dict:
        """Adam's state of `p`, created as fused Adam creates it when the run has none yet."""
        state = self.optimizer.state[p]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _loss(self, weights, x, target):
        with autocast(self.device, self.precision):
            out = functional_call(self.model, dict(zip(self.names, weights)), (x, target))
        return out.loss, (out.loss.detach(), {k: v.detach() for k, v in out.terms.items()})

    def _step(self, weights, exp_avgs, exp_avg_sqs, steps, x, target, lr):
        grads, (loss, terms) = grad(self._loss, has_aux=True)(weights, x, target)
        if self.clip is not None:
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
            coef = torch.clamp(self.clip / (norm + CLIP_EPS), max=1.0)
            grads = [g * coef for g in grads]
        beta1, beta2 = self.betas
        with torch.no_grad():
            for w, g, m, v, t in zip(weights, grads, exp_avgs, exp_avg_sqs, steps):
                t.add_(1)
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (v.sqrt() / torch.sqrt(1 - beta2**t)).add_(self.eps)
                w.sub_((lr / (1 - beta1**t)) * m / denom)
        return loss, terms


def check_processes(world_size: int) -> None:
    """ConfigError when a compiled step would train in several processes (`--nproc`, torchrun)."""
    if world_size > 1:
        raise ConfigError("compile: the compiled step trains in one process; train without --compile under "
                          "--nproc / torchrun (DDP overlaps its gradients' all-reduce with the eager backward)")


def _check_adam(optimizer: torch.optim.Optimizer, params) -> None:
    """TrainingError unless `optimizer` is the plain Adam over `params` that the step implements
    (the trainer's, setup.make_optimizer; TrainConfig.validate refuses compile with another)."""
    groups = optimizer.param_groups
    plain = type(optimizer) is torch.optim.Adam and len(groups) == 1 and not any(
        groups[0][k] for k in ("weight_decay", "amsgrad", "maximize"))
    if not plain or {id(p) for p in groups[0]["params"]} != {id(p) for p in params}:
        raise TrainingError("the compiled step implements plain Adam over all of the model's trainable parameters "
                            f"in one group; got {type(optimizer).__name__} with {len(groups)} group(s)")
