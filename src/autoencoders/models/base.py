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

from ..errors import ConfigError, unknown

LOSSES = ("bce", "mse")


@dataclass
class Output:
    """What every forward pass returns.

    logits : pre-sigmoid reconstruction, same shape as the input
    z      : the code, (B, ...) as `encode` returns it
    loss   : scalar to minimize
    terms  : named parts of the loss (detached scalars are fine), e.g. {"recon": ..., "l1": ...}
    """

    logits: torch.Tensor
    z: torch.Tensor
    loss: torch.Tensor
    terms: dict = field(default_factory=dict)

    @property
    def recon(self) -> torch.Tensor:
        """Reconstruction in [0, 1] (computed on demand: training only needs the logits)."""
        return torch.sigmoid(self.logits)


@runtime_checkable
class AutoencoderProtocol(Protocol):
    """What the trainer, evaluation, anomaly scores, export and the report use of a model.

    input_shape : one sample's shape, e.g. (1, 28, 28) for images or (T, F) for sequences.
    loss_kind : "bce" or "mse", the reconstruction error its loss uses (anomaly scores' default).
    Also an `nn.Module` (parameters(), train()/eval(), state_dict()).
    """

    input_shape: tuple
    loss_kind: str

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


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean over pixels and batch: per-pixel BCE (the article's metric) or MSE in [0, 1] units.

    BCE is computed from logits (`binary_cross_entropy_with_logits`): one fused kernel, and
    stable where sigmoid saturates, unlike BCE on probabilities.
    """
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    if kind == "mse":
        return F.mse_loss(torch.sigmoid(logits), target)
    raise ConfigError(unknown("loss", kind, LOSSES))


def check_loss(kind: str) -> str:
    if kind not in LOSSES:
        raise ConfigError(unknown("loss", kind, LOSSES))
    return kind


class Autoencoder(nn.Module):
    """Base class. Subclasses implement `encode` and `decode_logits`; `penalties` is optional.

    `input_shape` is one sample's shape, e.g. (1, 28, 28) for images or (T, F) for sequences.
    """

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
        """Reconstruction in [0, 1], shape (B, *input_shape)."""
        return torch.sigmoid(self.decode_logits(z))

    def penalties(self, z: torch.Tensor) -> dict:
        """Extra loss terms computed from the code (e.g. an L1 activity penalty)."""
        return {}

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> Output:
        """x : (B, *input_shape); target defaults to x (denoising passes the clean image)."""
        target = x if target is None else target
        z = self.encode(x)
        logits = self.decode_logits(z)
        terms = {"recon": reconstruction_loss(logits, target, self.loss_kind)}
        terms.update(self.penalties(z))
        loss = sum(terms.values())
        return Output(logits=logits, z=z, loss=loss, terms=terms)
