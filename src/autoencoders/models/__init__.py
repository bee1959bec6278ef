"""Registered autoencoders. Importing this package registers every built-in model."""

from .base import Autoencoder, AutoencoderProtocol, Output, VariationalProtocol, reconstruction_loss
from . import dense  # noqa: F401  (registers dense, sparse, deep)
from . import conv, sequence, variational  # noqa: F401  (conv, conv-denoise, lstm, gru, vae, conv-vae, vae-burda)

__all__ = ["Autoencoder", "AutoencoderProtocol", "Output", "VariationalProtocol", "reconstruction_loss"]
