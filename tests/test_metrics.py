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


def _skimage_ssim(recon, target, data_range=1.0):
    """The reference: scikit-image's structural_similarity one image at a time, as `ssim` used to call it."""
    from skimage.metrics import structural_similarity

    r, t = recon.numpy(), target.numpy()
    channels = r.ndim == 4
    win = min(7, min(r.shape[-2:]) if min(r.shape[-2:]) % 2 else min(r.shape[-2:]) - 1)
    scores = [structural_similarity(a, b, data_range=data_range, win_size=win, channel_axis=0 if channels else None)
              for a, b in zip(r, t)]
    return sum(scores) / len(scores)


def _digit_pairs():
    """Real-looking images: scikit-image's 8x8 digits upsampled to 24x24 (mostly black, smooth strokes),
    against a blurred, noisy "reconstruction" of them."""
    from sklearn.datasets import load_digits

    x = torch.from_numpy(load_digits().images[:300] / 16.0).float()[:, None]
    target = torch.nn.functional.interpolate(x, size=(24, 24), mode="bilinear", align_corners=False).clamp(0, 1)
    g = torch.Generator().manual_seed(1)
    blurred = torch.nn.functional.avg_pool2d(target, 3, stride=1, padding=1)
    recon = (blurred + 0.03 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    return recon, target


@pytest.mark.parametrize("shape", [(40, 1, 28, 28), (12, 3, 16, 16), (30, 28, 28), (9, 1, 6, 5), (700, 1, 9, 11)])
def test_ssim_equals_scikit_image_on_random_images(shape):
    # ssim is computed on whole batches in float64; it must equal scikit-image's call it replaced
    # (uniform 7x7 window or the largest odd one that fits, sample covariance, channels averaged):
    # exactly on float64 images, to float32 rounding on float32 ones (what scikit-image then computes in)
    from autoencoders.evaluation import ssim

    g = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=g)
    recon = (target + 0.2 * torch.randn(shape, generator=g)).clamp(0, 1)
    assert ssim(recon, target) == pytest.approx(_skimage_ssim(recon.double(), target.double()), rel=1e-10)
    assert ssim(recon, target) == pytest.approx(_skimage_ssim(recon, target), rel=1e-5)
    assert ssim(recon * 4 - 2, target * 4 - 2, data_range=4.0) == pytest.approx(
        _skimage_ssim((recon * 4 - 2).double(), (target * 4 - 2).double(), data_range=4.0), rel=1e-10)


def test_ssim_equals_scikit_image_on_real_looking_images():
    from autoencoders.evaluation import ssim

    recon, target = _digit_pairs()
    assert ssim(recon, target) == pytest.approx(_skimage_ssim(recon.double(), target.double()), rel=1e-10)
    assert ssim(recon, target) == pytest.approx(_skimage_ssim(recon, target), rel=1e-5)
    assert ssim(target, target) == pytest.approx(1.0, rel=1e-12)
