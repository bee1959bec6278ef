"""Registered autoencoders. Importing this package registers every built-in model."""

from . import conv, dense, sequence, variational  # noqa: F401  (their factories register on import)
from .base import Autoencoder, AutoencoderProtocol, Output, VariationalProtocol, model_errors, reconstruction_error

__all__ = ["Autoencoder", "AutoencoderProtocol", "Output", "VariationalProtocol", "model_errors",
           "reconstruction_error"]
