"""Figures (each function returns a Figure; nothing is shown)."""

from .plots import image_rows, reconstructions, save_figure, training_curves

__all__ = ["image_rows", "reconstructions", "save_figure", "training_curves"]
