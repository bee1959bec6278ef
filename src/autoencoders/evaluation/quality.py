"""The one number each of the article's experiments is judged by, and whether it meets its target.

Per-pixel BCE for the reconstructions, PSNR of the denoised images against the clean ones, and
the ELBO (nats per image, one seeded posterior sample) for the VAE. `ae bench --to-quality`, the
fast recipe's search and the report all measure quality through `quality` and `meets`.
"""

from __future__ import annotations

import torch

from ..data import EVAL_BATCH
from ..models.base import batched
from .metrics import bce, psnr

HIGHER_IS_BETTER = {"bce": False, "psnr": True, "elbo": True}
UNITS = {"bce": "per-pixel BCE", "psnr": "dB", "elbo": "nats per image"}


@torch.no_grad()
def quality(model, inputs: torch.Tensor, targets: torch.Tensor, metric: str, *, seed: int = 0,
            batch_size: int = EVAL_BATCH, recon: torch.Tensor | None = None) -> float:
    """inputs, targets : (N, *input_shape) -> the metric over the whole set (eval mode).

    recon : the model's reconstructions of `inputs` where they are already computed (`Run.outputs`):
        "bce" and "psnr" then score them instead of reconstructing again.
    """
    was_training = model.training
    model.eval()
    try:
        if metric == "elbo":
            from .likelihood import elbo

            g = torch.Generator(device=inputs.device).manual_seed(seed)
            return float(elbo(model, inputs, generator=g).mean())
        if recon is None:
            recon = batched(model, lambda b: model(b).recon, inputs, batch_size)
        recon = recon.to(targets.device)
        return psnr(recon.float(), targets) if metric == "psnr" else bce(recon.float(), targets)
    finally:
        model.train(was_training)


def meets(value: float, metric: str, target: float) -> bool:
    return value >= target if HIGHER_IS_BETTER[metric] else value <= target
