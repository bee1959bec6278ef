"""Sequence-to-sequence autoencoders: `lstm` and `gru`.

The article's recipe: a recurrent encoder reads the sequence and its last hidden state is the
code; the code is repeated T times (Keras's RepeatVector) into a recurrent decoder. The
article's code writes `LSTM(input, return_sequences=True)` for the decoder, passing the input
*tensor* where the number of units belongs (it meant `input_dim`, the feature count). We fix
it differently: the decoder has `code_size` units and a linear projection maps each step to
the F features, so the decoder's width does not have to equal F (F = 1 for a univariate series
would otherwise be a one-unit LSTM) and its outputs are not squashed by the LSTM's tanh.

Outputs. By default the projection gives logits and the contract's sigmoid makes the
reconstruction, which fits data in [0, 1] (MNIST rows, min-max scaled series) with BCE or
MSE. Real-valued series (a sine in [-1, 1], prices) cannot be reached through a sigmoid:
`output_activation="linear"` returns the projection itself as the reconstruction, trained with
MSE (and needs `loss="mse"`; `loss` defaults to bce for sigmoid outputs, mse for linear).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, unknown
from ..registry import model_spec as spec
from ..registry import register_model
from .base import Autoencoder
from .init import keras_init

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
OUTPUTS = ("sigmoid", "linear")


class RecurrentAutoencoder(Autoencoder):
    """x : (B, T, F) -> z : (B, code_size) -> logits (B, T, F).

    encoder: LSTM/GRU(F -> code_size), z = its output at the last step;
    decoder: z repeated T times -> LSTM/GRU(code_size -> code_size) -> Linear(code_size -> F).
    """

    def __init__(self, input_shape, cell="lstm", code_size=64, output_activation="sigmoid", loss=None):
        if output_activation not in OUTPUTS:
            raise ConfigError(unknown("output_activation", output_activation, OUTPUTS))
        linear = output_activation == "linear"
        loss = loss or ("mse" if linear else "bce")
        if linear and loss != "mse":
            raise ConfigError(f"{cell}: output_activation='linear' needs loss='mse' (BCE needs "
                              "outputs in [0, 1]); pass --loss mse")
        super().__init__(input_shape, loss)
        if len(self.input_shape) != 2:
            raise ConfigError(f"{cell} takes sequences shaped (T, F); got samples of shape "
                              f"{self.input_shape} (images: pass --as-sequence to read rows as steps)")
        if int(code_size) < 1:
            raise ConfigError(f"code_size must be a positive integer, got {code_size}")
        steps, features = self.input_shape
        self.code_size = int(code_size)
        self.output_space = "real" if linear else "probability"
        self.encoder = CELLS[cell](features, self.code_size, batch_first=True)
        self.decoder = CELLS[cell](self.code_size, self.code_size, batch_first=True)
        self.project = nn.Linear(self.code_size, features)
        keras_init(self)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x : (B, T, F) -> (B, code_size), the encoder's output (= hidden state) at step T."""
        out, _ = self.encoder(x)
        return out[:, -1]

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """z : (B, code_size) -> (B, T, F) (logits, or values for a linear output)."""
        repeated = z.unsqueeze(1).expand(-1, self.input_shape[0], -1)
        out, _ = self.decoder(repeated)
        return self.project(out)


@register_model(spec("lstm"))
def lstm(input_shape, o):
    return RecurrentAutoencoder(input_shape, "lstm", o.code_size, o.output_activation, o.loss)


@register_model(spec("gru"))
def gru(input_shape, o):
    return RecurrentAutoencoder(input_shape, "gru", o.code_size, o.output_activation, o.loss)
