"""Registered autoencoders. Importing this package registers every built-in model."""

from . import (  # noqa: F401  (conv, conv-denoise, lstm, gru, vae, conv-vae, vae-burda)
    conv,
    dense,  # noqa: F401  (registers dense, sparse, deep)
    sequence,
    variational,
)
from .base import Autoencoder, AutoencoderProtocol, Output, VariationalProtocol, reconstruction_loss

__all__ = ["Autoencoder", "AutoencoderProtocol", "Output", "VariationalProtocol", "reconstruction_loss"]
