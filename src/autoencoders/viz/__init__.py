"""Figures (each function returns a Figure; nothing is shown)."""

from .latent import latent_scatter, reconstruction_figure
from .plots import image_rows, reconstructions, save_figure, training_curves

__all__ = ["image_rows", "latent_scatter", "reconstruction_figure", "reconstructions", "save_figure",
           "training_curves"]
