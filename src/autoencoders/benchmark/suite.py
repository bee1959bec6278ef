"""Side by side, in one process and one run: the toolkit's trainer vs an idiomatic PyTorch loop.

The idiomatic loop is what a typical user writes: a DataLoader over a TensorDataset, PyTorch's
default initialization, `nn.BCELoss` on the sigmoid output, `torch.optim.Adam`. Both train the
same registered architecture at the article's batch size for the same number of epochs after a
warm-up epoch; we report the median seconds per epoch, their ratio, the fraction of the
machine's matmul peak each reaches, and each one's test loss (speed must not cost accuracy).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..config import DataConfig, TrainConfig
from ..data import EVAL_BATCH, Presentation, Resident
from ..evaluation.flops import forward_flops
from ..evaluation.metrics import bce
from ..models.base import batched
from ..registry import create_model
from ..training.trainer import Trainer, evaluate_loss, fast_layout
from . import machine


def cases() -> dict[str, tuple[int, dict]]:
    """{model: (batch size, data options)} of the article's experiments (presets.py),
    each at the batch size registered with its model."""
    from ..presets import EXPERIMENTS

    return {exp.model: (exp.batch_size, dict(exp.data)) for exp in EXPERIMENTS}


def case(name: str) -> tuple[int, dict]:
    """A model's (batch size, data options): its experiment's, else its registered batch size."""
    from ..registry import train_defaults

    return cases().get(name, (train_defaults(name).get("batch_size", TrainConfig.batch_size), {}))


@dataclass
class Timing:
    seconds: list  # per measured epoch
    test_bce: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def toolkit_epochs(name: str, x, x_test, bs: int, data_opts: dict, epochs: int, seed: int = 0,
                   precision: str = "fp32") -> Timing:
    """The toolkit's own path: the Trainer exactly as `fit` runs it, on resident tensors."""
    train = TrainConfig(epochs=epochs + 1, batch_size=bs, seed=seed, precision=precision)  # epoch 1: warm-up
    source = Resident(x, None, Presentation.from_config(DataConfig(**data_opts)), seed=seed, device=x.device)
    torch.manual_seed(seed)
    model = fast_layout(create_model(name, tuple(x.shape[1:])), tuple(x.shape[1:]))  # exactly as fit() builds it
    history = Trainer(model, train, device=x.device).fit(source)
    return Timing([r["seconds"] for r in history[1:]], _test_bce(model, x_test))


def idiomatic_epochs(name: str, x, x_test, bs: int, data_opts: dict, epochs: int, seed: int = 0) -> Timing:
    """What a typical user writes: DataLoader, default init, nn.BCELoss on probabilities."""
    from ..data import parse_noise

    torch.manual_seed(seed)
    model = create_model(name, tuple(x.shape[1:]))
    for m in model.modules():
        if m is not model and hasattr(m, "reset_parameters"):
            m.reset_parameters()  # PyTorch's default initialization
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x), batch_size=bs, shuffle=True)
    noise, bce_loss = parse_noise(data_opts.get("noise")), nn.BCELoss()
    seconds = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        for (clean,) in loader:
            out = model(noise(clean) if noise else clean, clean)
            extra = sum(v for k, v in out.terms.items() if k not in ("recon", "bce_pixel"))
            loss = bce_loss(out.recon, clean) * _recon_scale(out, clean) + extra
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return Timing(seconds[1:], _test_bce(model, x_test))


def _recon_scale(out, clean) -> float:
    """Models whose recon term is summed per image (VAEs) get the same weighting from BCELoss."""
    mean_bce = bce(out.recon.detach(), clean)
    return float(out.terms["recon"].detach() / mean_bce) if mean_bce > 0 else 1.0


def _test_bce(model, x_test) -> float:
    return bce(batched(model, lambda b: model(b).recon, x_test), x_test)


def eval_throughput(name: str, x_test, repeats: int = 3) -> float:
    """Samples/s of reconstructing and encoding the test set (no autograd, batches of EVAL_BATCH)."""
    model = fast_layout(create_model(name, tuple(x_test.shape[1:])), tuple(x_test.shape[1:])).eval()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate_loss(model, x_test, x_test)
        with torch.no_grad():
            for i in range(0, len(x_test), EVAL_BATCH):
                model.encode(x_test[i : i + EVAL_BATCH])
        best = min(best, time.perf_counter() - start)
    return len(x_test) / best


IW_K = 5000  # importance samples per image, as reported numbers use


def iw_bound_throughput(name: str, x_test, k: int = IW_K, images: int = 100) -> float | None:
    """Test images/s of the importance-weighted bound L_k (VAEs only; None for other models)."""
    from ..evaluation.likelihood import importance_weighted_bound, is_variational

    model = create_model(name, tuple(x_test.shape[1:])).eval()
    if not is_variational(model):
        return None
    subset = x_test[:images]
    start = time.perf_counter()
    importance_weighted_bound(model, subset, k, generator=torch.Generator().manual_seed(0))
    return len(subset) / (time.perf_counter() - start)


def bench_case(name: str, x, x_test, epochs: int, peak: float, *, bf16: bool = False) -> dict:
    """One model: both loops, FLOPs, fractions of peak, test losses, eval throughput."""
    bs, data_opts = case(name)
    flops_epoch = 3 * forward_flops(create_model(name, tuple(x.shape[1:])), x[:bs]) * len(x)
    ours = toolkit_epochs(name, x, x_test, bs, data_opts, epochs)
    plain = idiomatic_epochs(name, x, x_test, bs, data_opts, epochs)
    row = {
        "model": name, "batch_size": bs, "n_train": len(x), "gflop_per_epoch": flops_epoch / 1e9,
        "toolkit_s": ours.median, "idiomatic_s": plain.median, "speedup": plain.median / ours.median,
        "toolkit_samples_s": len(x) / ours.median, "toolkit_peak_frac": flops_epoch / ours.median / 1e9 / peak,
        "idiomatic_peak_frac": flops_epoch / plain.median / 1e9 / peak,
        "toolkit_test_bce": ours.test_bce, "idiomatic_test_bce": plain.test_bce,
        "eval_samples_s": eval_throughput(name, x_test), "peak_rss_mb": machine.peak_rss_mb(),
    }
    iw = iw_bound_throughput(name, x_test)
    if iw is not None:
        row.update(iw_k=IW_K, iw_images_s=iw)
    if bf16:
        fast = toolkit_epochs(name, x, x_test, bs, data_opts, epochs, precision="bf16")
        row.update(bf16_s=fast.median, bf16_test_bce=fast.test_bce)
    return row
