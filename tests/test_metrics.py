"""Reconstruction and code metrics."""

import math

import pytest
import torch

from autoencoders.evaluation.metrics import code_stats, psnr, reconstruction_metrics


def test_psnr_of_known_error():
    target = torch.zeros(2, 1, 4, 4)
    recon = target + 0.1
    assert math.isclose(psnr(recon, target), 20.0, rel_tol=1e-5)  # 10 log10(1 / 0.01)


def test_real_valued_targets_skip_bce_and_use_their_range():
    # Regression: BCE raised a RuntimeError traceback for targets outside [0, 1] (real-valued series).
    target = torch.linspace(-3, 3, 40).reshape(2, 20, 1)
    metrics = reconstruction_metrics(target + 0.06, target)
    assert metrics["bce"] is None
    assert math.isclose(metrics["psnr"], 10 * math.log10(36 / 0.0036), rel_tol=1e-4)


def test_code_stats_dead_units():
    z = torch.tensor([[0.0, 1.0, 2.0], [0.0, 3.0, 0.0]])
    stats = code_stats(z)
    assert math.isclose(stats["dead_units"], 1 / 3, rel_tol=1e-6)
    assert math.isclose(stats["code_mean"], 1.0)


def test_quantized_codes_keep_range_and_levels():
    from autoencoders.evaluation.metrics import quantize_codes

    z = torch.randn(100, 4, generator=torch.Generator().manual_seed(0))
    q = quantize_codes(z, bits=2)
    for unit in range(4):
        assert len(torch.unique(q[:, unit])) <= 4
        assert torch.isclose(q[:, unit].min(), z[:, unit].min()) and torch.isclose(q[:, unit].max(), z[:, unit].max())
    assert (q - z).abs().max() <= (z.max(0).values - z.min(0).values).max() / 3 / 2 + 1e-6


def test_ssim_is_one_for_identical_images_and_falls_with_noise():
    from autoencoders.evaluation import ssim

    g = torch.Generator().manual_seed(0)
    clean = torch.rand(6, 1, 28, 28, generator=g)
    slightly = (clean + 0.05 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    very = (clean + 0.5 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    assert ssim(clean, clean) == pytest.approx(1.0)
    assert 1.0 > ssim(slightly, clean) > ssim(very, clean)
    assert ssim(torch.rand(3, 64), torch.rand(3, 64)) is None  # flat vectors: no window fits
    assert reconstruction_metrics(clean, clean)["ssim"] == pytest.approx(1.0)
