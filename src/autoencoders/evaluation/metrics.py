"""Reconstruction and code metrics, each a plain function of tensors.

Units: `bce` and `mse` are means per pixel (the article's table uses per-pixel BCE);
`psnr` is in dB for signals in [0, 1], computed per image and averaged; `ssim` (the
structural similarity as scikit-image computes it, 1 = identical) likewise per image and averaged.
BCE against grey-level targets is not a likelihood (its minimum is the targets' own entropy,
not 0), so compare it only with other per-pixel BCEs on the same data.
"""

from __future__ import annotations

import torch

from ..models.base import reconstruction_error


def bce(recon: torch.Tensor, target: torch.Tensor) -> float:
    """Mean per-pixel binary cross-entropy of reconstructions in [0, 1] (clamped like Keras)."""
    return reconstruction_error(recon, target, "bce", logits=False).item()


def mse(recon: torch.Tensor, target: torch.Tensor) -> float:
    return reconstruction_error(recon, target, "mse", logits=False).item()


def psnr(recon: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> float:
    """Mean over images of 10 log10(range^2 / MSE_image), capped at 100 dB for exact reconstructions."""
    per_image = reconstruction_error(recon, target, "mse", logits=False, per_sample=True).clamp_min(1e-10)
    return (10 * torch.log10(data_range**2 / per_image)).clamp_max(100.0).mean().item()


SSIM_CHUNK = 256  # images per step of `ssim`: its float64 window statistics stay in the CPU's caches


def ssim(recon: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> float | None:
    """Mean over images of the structural similarity, as scikit-image's `structural_similarity`
    computes it with its defaults (uniform window, sample covariance, K1 = 0.01, K2 = 0.03), each
    channel's map averaged, then the channels; (N, C, H, W) images or (N, T, F) sequences.

    The window is 7 pixels (scikit-image's default) or the largest odd size that fits the image;
    None where no 3x3 window fits (flat vectors). Computed in float64 on whole batches (scikit-image
    computes float32 images in float32, one at a time: the two agree to about 1e-7).
    """
    r, t = recon.detach().cpu().double(), target.detach().cpu().double()
    if r.ndim == 2:  # flat vectors: no spatial structure to compare
        r, t = r[:, None, :], t[:, None, :]
    if r.ndim == 3:  # (N, T, F): one single-channel 2-D image each
        r, t = r[:, None], t[:, None]
    side = min(r.shape[-2:])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return None
    per_image = torch.cat([_ssim_per_image(r[i : i + SSIM_CHUNK], t[i : i + SSIM_CHUNK], win, data_range)
                           for i in range(0, len(r), SSIM_CHUNK)])
    return float(per_image.mean())


def _ssim_per_image(x: torch.Tensor, y: torch.Tensor, win: int, data_range: float) -> torch.Tensor:
    """(N,) SSIM of (N, C, H, W) float64 images. scikit-image filters with `uniform_filter` and then
    crops (win - 1) // 2 pixels from every side, which leaves exactly the windows lying wholly
    inside the image: here the mean of each such window (separable sums of shifted slices)."""
    stats = _window_means(torch.stack([x, y, x * x, y * y, x * y]), win)
    ux, uy, uxx, uyy, uxy = stats
    cov_norm = win**2 / (win**2 - 1)  # sample covariance
    vx, vy, vxy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy), cov_norm * (uxy - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(dim=(-2, -1)).mean(dim=-1)


def _window_means(v: torch.Tensor, win: int) -> torch.Tensor:
    """(..., H, W) -> (..., H - win + 1, W - win + 1): the mean of every win x win window."""
    h, w = v.shape[-2] - win + 1, v.shape[-1] - win + 1
    rows = sum(v[..., i : i + h, :] for i in range(win))
    return sum(rows[..., j : j + w] for j in range(win)) / win**2


def code_stats(z: torch.Tensor, dead_threshold: float = 1e-3) -> dict:
    """Mean code activation (the article's sparsity number) and the fraction of units never active.

    z : (N, ...) codes; a unit is dead when |z| stays below `dead_threshold` on every sample.
    The article reports `encoded_imgs.mean()`: 7.30 without and 3.33 with the L1 penalty.
    """
    flat = z.flatten(1).float()
    dead = (flat.abs() < dead_threshold).all(0).float().mean()
    near_zero = (flat.abs() < dead_threshold).float().mean()
    return {
        "code_mean": flat.mean().item(),
        "code_abs_mean": flat.abs().mean().item(),
        "dead_units": dead.item(),
        "near_zero_fraction": near_zero.item(),
    }


def reconstruction_metrics(recon: torch.Tensor, target: torch.Tensor) -> dict:
    """BCE (only for targets in [0, 1], where it is defined), MSE, and PSNR over the data's range."""
    lo, hi = target.min().item(), target.max().item()
    if 0.0 <= lo and hi <= 1.0:
        return {"bce": bce(recon, target), "mse": mse(recon, target), "psnr": psnr(recon, target),
                "ssim": ssim(recon, target)}
    span = max(hi - lo, 1e-12)
    return {"bce": None, "mse": mse(recon, target), "psnr": psnr(recon, target, data_range=span),
            "ssim": ssim(recon, target, data_range=span)}


def quantize_codes(z: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """Codes rounded to 2**bits levels per unit between that unit's min and max over the batch.

    What a code costs as a compressed file: one byte per number at 8 bits (plus the per-unit
    ranges, shared by every image). Compare its reconstruction with JPEG at as many bytes.
    """
    flat = z.flatten(1)
    lo, hi = flat.min(0).values, flat.max(0).values
    step = (hi - lo).clamp_min(1e-12) / (2**bits - 1)
    return (torch.round((flat - lo) / step) * step + lo).view_as(z)
