"""Fully connected autoencoders: the article's shallow (784-32-784), sparse and deep nets."""

from __future__ import annotations

import torch

from ..errors import ConfigError
from ..registry import model_spec as spec
from ..registry import register_model
from .base import Autoencoder
from .blocks import mlp
from .init import keras_init


class DenseAutoencoder(Autoencoder):
    """input -> hidden... -> code (ReLU) -> reversed hidden... -> input (sigmoid).

    x : (B, *input_shape) -> z : (B, code_size). `activity_l1` > 0 adds the article's sparsity
    penalty `activity_l1 * mean over batch of sum over code units |z|` (Keras 1's
    `activity_l1`), reported as the loss term `l1`.
    """

    def __init__(self, input_shape, hidden=(), code_size=32, activity_l1=0.0, loss="bce"):
        super().__init__(input_shape, loss)
        if int(code_size) < 1:
            raise ConfigError(f"code_size must be a positive integer, got {code_size}")
        if float(activity_l1) < 0:
            raise ConfigError(f"activity_l1 must be >= 0, got {activity_l1}")
        sizes = [self.input_size, *[int(h) for h in hidden], int(code_size)]
        self.code_size = int(code_size)
        self.activity_l1 = float(activity_l1)
        self.encoder = mlp(sizes, last_activation=True)
        self.decoder = mlp(sizes[::-1], last_activation=False)
        keras_init(self)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.input_shape)

    def penalties(self, z: torch.Tensor) -> dict:
        if self.activity_l1 == 0:
            return {}
        return {"l1": self.activity_l1 * z.abs().sum(1).mean()}


@register_model(spec("dense"))
def dense(input_shape, o):
    return DenseAutoencoder(input_shape, (), o.code_size, 0.0, o.loss)


@register_model(spec("sparse"))
def sparse(input_shape, o):
    return DenseAutoencoder(input_shape, (), o.code_size, o.activity_l1, o.loss)


@register_model(spec("deep"))
def deep(input_shape, o):
    return DenseAutoencoder(input_shape, o.hidden, o.code_size, 0.0, o.loss)
