"""Registered autoencoders. Importing this package registers every built-in model."""

from . import conv, dense, sequence, variational  # noqa: F401  (their factories register on import)
from .base import Autoencoder, AutoencoderProtocol, Output, VariationalProtocol, reconstruction_loss

__all__ = ["Autoencoder", "AutoencoderProtocol", "Output", "VariationalProtocol", "reconstruction_loss"]
