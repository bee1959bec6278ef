"""The model contract: encode, decode, and a forward pass that returns its own loss.

The loss lives on the model (pythae's ModelOutput, minGPT): the trainer calls
`out.loss.backward()` and logs `out.terms`, and never asks what kind of model it trains.

`AutoencoderProtocol` writes the contract down: any `nn.Module` with these members trains,
saves, evaluates, scores anomalies and exports like a registered model, whether or not it
subclasses `Autoencoder` (which is one way to honour it). `VariationalProtocol` adds what the
likelihood bounds need (evaluation/likelihood.py). Nothing downstream uses a member they do not
name; `isinstance(model, AutoencoderProtocol)` checks a module has them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from torch import nn
from torch.nn import functional as F

from ..data.batches import EVAL_BATCH
from ..errors import ConfigError, unknown

LOSSES = ("bce", "mse")
SPACES = ("probability", "real")  # a model's outputs: sigmoid(logits) in [0, 1], or the logits themselves
EPS = 1e-7  # BCE of probabilities is clamped to [EPS, 1 - EPS], as Keras does


@dataclass
class Output:
    """What every forward pass returns.

    logits : pre-sigmoid reconstruction, same shape as the input (the values themselves in "real" space)
    z      : the code, (B, ...) as `encode` returns it
    loss   : scalar to minimize
    terms  : named parts of the loss (detached scalars are fine), e.g. {"recon": ..., "l1": ...}
    space  : the model's `output_space`, "probability" or "real"
    """

    logits: torch.Tensor
    z: torch.Tensor
    loss: torch.Tensor
    terms: dict = field(default_factory=dict)
    space: str = "probability"

    @property
    def recon(self) -> torch.Tensor:
        """The reconstruction (computed on demand: training only needs the logits)."""
        return to_output(self.logits, self.space)


@runtime_checkable
class AutoencoderProtocol(Protocol):
    """What the trainer, evaluation, anomaly scores, export and the report use of a model.

    input_shape : one sample's shape, e.g. (1, 28, 28) for images or (T, F) for sequences.
    loss_kind : "bce" or "mse", the reconstruction error its loss uses (anomaly scores' default).
    output_space : "probability" (decode is sigmoid(decode_logits), in [0, 1]) or "real"
        (decode_logits are the values themselves, real-valued series; MSE only).
    Also an `nn.Module` (parameters(), train()/eval(), state_dict()).
    """

    input_shape: tuple
    loss_kind: str
    output_space: str

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x : (B, *input_shape) -> z : (B, ...) the code."""

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """z : (B, ...) -> pre-sigmoid reconstruction (B, *input_shape)."""

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z : (B, ...) -> reconstruction (B, *input_shape), in [0, 1] for sigmoid outputs."""

    def __call__(self, x: torch.Tensor, target: torch.Tensor | None = None) -> Output:
        """x, target : (B, *input_shape) (target defaults to x) -> Output(logits, z, loss, terms)."""


@runtime_checkable
class VariationalProtocol(AutoencoderProtocol, Protocol):
    """An autoencoder with a Gaussian posterior q(z|x) and prior N(0, I): ELBO, L_k, sampling."""

    latent_size: int

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x : (B, *input_shape) -> (mu, logvar), each (B, latent_size)."""

    def log_likelihood(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """log p(x|z) in nats per sample, (B,), from decode_logits(z) : (B, *input_shape)."""

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes from the prior, (n, latent_size), on the model's device."""


def reconstruction_error(pred: torch.Tensor, target: torch.Tensor, kind: str, *, logits: bool = True,
                         per_sample: bool = False, per_value: bool = False) -> torch.Tensor:
    """Per-value BCE or squared error, averaged: the toolkit's one definition of a reconstruction's
    error, for training losses, evaluation, anomaly scores, the benchmark and the explorer's number.

    pred : logits (pre-sigmoid) when `logits`, else the reconstruction itself (probabilities in
        [0, 1], or real values for MSE). target : same shape. kind : "bce" or "mse".
    per_sample : (B,) means over each sample's values; else the scalar mean over everything (the
        fused kernels training uses). BCE from logits is exact where the sigmoid saturates; BCE of
        probabilities is clamped to [1e-7, 1 - 1e-7] as Keras does (the article's numbers).
    per_value : the errors themselves, unreduced, of `target`'s shape (a per-pixel error map per
        sample; `per_sample` is their mean over each sample).
    """
    reduction = "none" if per_sample or per_value else "mean"
    if kind == "bce":
        per = (F.binary_cross_entropy_with_logits(pred, target, reduction=reduction) if logits
               else F.binary_cross_entropy(pred.clamp(EPS, 1 - EPS), target, reduction=reduction))
    elif kind == "mse":
        per = F.mse_loss(torch.sigmoid(pred) if logits else pred, target, reduction=reduction)
    else:
        raise ConfigError(unknown("loss", kind, LOSSES))
    if per_value:
        return per
    return per.flatten(1).mean(1) if per_sample else per


@torch.no_grad()
def batched(model, fn, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """fn(batch) over `x` in batches on `model`'s device with the model in eval mode (its mode
    restored after), concatenated on the CPU: every pass of the toolkit over a whole set."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        parts = [fn(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(parts) if parts else x[:0]


def to_output(logits: torch.Tensor, space: str) -> torch.Tensor:
    """A model's reconstruction from its logits: sigmoid for "probability" outputs, as is for "real"."""
    return torch.sigmoid(logits) if space == "probability" else logits


def model_errors(model, x: torch.Tensor, target: torch.Tensor | None = None, kind: str | None = None, *,
                 per_value: bool = False) -> torch.Tensor:
    """(B,) per-sample error of `model`'s deterministic reconstruction decode(encode(x)) against
    `target` (default x), by `kind` (default the model's own loss_kind), in its output space;
    `per_value`: the (B, ...) errors of each value instead (error maps), whose per-sample means those are."""
    target = x if target is None else target
    logits = model.decode_logits(model.encode(x)).reshape(target.shape).float()
    return reconstruction_error(logits, target, kind or model.loss_kind, per_sample=not per_value,
                                per_value=per_value, logits=model.output_space == "probability")


def check_loss(kind: str) -> str:
    if kind not in LOSSES:
        raise ConfigError(unknown("loss", kind, LOSSES))
    return kind


class Autoencoder(nn.Module):
    """Base class. Subclasses implement `encode` and `decode_logits`; `penalties` is optional.

    `input_shape` is one sample's shape, e.g. (1, 28, 28) for images or (T, F) for sequences.
    """

    output_space = "probability"

    def __init__(self, input_shape, loss: str = "bce"):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.loss_kind = check_loss(loss)

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruction, shape (B, *input_shape): in [0, 1] for "probability" outputs."""
        return to_output(self.decode_logits(z), self.output_space)

    def penalties(self, z: torch.Tensor) -> dict:
        """Extra loss terms computed from the code (e.g. an L1 activity penalty)."""
        return {}

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> Output:
        """x : (B, *input_shape); target defaults to x (denoising passes the clean image)."""
        target = x if target is None else target
        z = self.encode(x)
        logits = self.decode_logits(z)
        probability = self.output_space == "probability"
        terms = {"recon": reconstruction_error(logits, target, self.loss_kind, logits=probability)}
        terms.update(self.penalties(z))
        loss = sum(terms.values())
        return Output(logits=logits, z=z, loss=loss, terms=terms, space=self.output_space)
