"""Metrics, probes and baselines: how good a model is, next to what it should beat."""

from .metrics import bce, code_stats, mse, psnr, reconstruction_metrics, ssim

__all__ = ["bce", "code_stats", "mse", "psnr", "reconstruction_metrics", "ssim"]
