"""One function picks the reconstruction figure for `ae reconstruct` and the report alike."""

import torch

from autoencoders.viz import reconstruction_figure


def _titles(fig):
    return [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]


def test_images_denoisers_and_sequences_get_their_figure():
    x = torch.rand(4, 1, 8, 8)
    assert _titles(reconstruction_figure(x, x, n=3)) == ["original", "reconstruction"]
    assert _titles(reconstruction_figure(x, x, x, n=3)) == ["noisy input", "denoised", "clean"]
    rows = torch.rand(4, 8, 8)  # 8 steps of 8 features: drawn as images
    assert _titles(reconstruction_figure(rows, rows, n=2)) == ["original", "reconstruction"]
    series = torch.rand(4, 20, 2)  # 2 features: a line plot per sample
    fig = reconstruction_figure(series, series, n=2)
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "step"
