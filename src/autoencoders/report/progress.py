"""One progress bar over everything `ae reproduce` trains, moving with every batch.

The bar counts work, not epochs: each experiment's epoch weighs its training samples times its
model's forward FLOPs per sample, so the bar's rate is measured throughput (work per second since
the start) and its ETA is the remaining experiments' work at that rate. An epoch count would give
the dense net's epoch (~50 kFLOP per image) the weight of the denoising net's (~16 MFLOP), which
made the old per-experiment bar's ETA wrong by 60%.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


# Work per input value that FLOPs do not count (BCE from logits, elementwise glue, the optimizer),
# in forward-FLOP equivalents: about 10 ns per pixel per step where the matmuls run near 90 GFLOP/s
# (DESIGN.md, bench/STEPS.md: the dense net's matmuls are only 27% of its step).
PER_VALUE_COST = 300.0


def epoch_cost(model: str, options: dict, sample_shape: tuple, n_train: int) -> float:
    """One epoch's work in forward-FLOP equivalents: FLOPs per sample plus the per-value overhead."""
    import math

    import torch

    from ..benchmark.machine import forward_flops
    from ..registry import create_model

    net = create_model(model, sample_shape, **options)
    flops = forward_flops(net, torch.zeros(2, *sample_shape))
    return (flops + PER_VALUE_COST * math.prod(sample_shape)) * n_train


class ReproduceProgress:
    """`jobs` maps a label to (epochs, one epoch's cost). `start(label)` before a job, `hook` per
    batch (RunLogger's on_batch), `done()` after its training; work that is not run (a finished
    run reused, epochs before a resumed checkpoint, early stopping) leaves the total. `n` and
    `total` are kept here: a disabled (quiet) tqdm counts nothing."""

    def __init__(self, jobs: dict[str, tuple[int, float]], *, quiet: bool = False):
        self.jobs, self.n, self.total = jobs, 0.0, sum(e * c for e, c in jobs.values())
        self.bar = tqdm(total=self.total, desc="reproduce", disable=quiet, file=sys.stderr, smoothing=0,
                        mininterval=0.5, bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
        self.label, self.epochs, self.cost, self.base, self.skipped = "", 0, 0.0, 0.0, None

    def start(self, label: str) -> None:
        (self.epochs, self.cost), self.label = self.jobs[label], label
        self.base, self.skipped = self.n, None
        self.bar.set_description_str(f"{label}: training")

    def hook(self, epoch: int, epochs: int, batch: int, batches: int) -> None:
        if self.skipped is None:  # a resumed run starts after its checkpoint's epoch: not work done now
            self.skipped = epoch - 1
            self._shrink(self.skipped * self.cost)
        target = self.base + self.cost * (epoch - 1 - self.skipped + batch / batches)
        self.bar.set_description_str(f"{self.label} epoch {epoch}/{epochs}", refresh=False)
        self.bar.update(target - self.n)
        self.n = target

    def done(self) -> None:
        """Training of the current job is over: what was not run (reused, stopped early) leaves the total."""
        planned = self.cost * (self.epochs - (self.skipped or 0))
        self._shrink(planned - (self.n - self.base))
        self.bar.set_description_str(f"{self.label}: evaluating")

    def close(self) -> None:
        self.bar.close()

    def _shrink(self, amount: float) -> None:
        if amount > 0:
            self.total -= amount
            self.bar.total = self.total
            self.bar.refresh()
