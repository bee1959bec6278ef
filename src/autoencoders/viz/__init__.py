"""Figures (each function returns a Figure; nothing is shown)."""

from .anomaly import anomaly_gallery, roc_curves, score_histograms
from .latent import latent_scatter, reconstruction_figure
from .plots import image_rows, reconstructions, save_figure, training_curves

__all__ = ["anomaly_gallery", "image_rows", "latent_scatter", "reconstruction_figure", "reconstructions",
           "roc_curves", "save_figure", "score_histograms", "training_curves"]
