"""One progress bar over everything `ae reproduce` does, moving with every training batch.

The bar counts training work, not epochs: each experiment's epoch weighs its training samples
times its model's cost per sample (a time model over FLOPs, activations and input values fitted
to `make demo`'s epoch times), so an epoch of the dense net (~13 us per image) no longer counts as much as one
of the denoising net (~200 us), which made the old per-epoch ETA wrong by 60%. The time left is
measured, in two parts: training
work left / training throughput so far, plus the experiments still to evaluate x the mean
evaluation time so far (probes, t-SNE, baselines: up to a minute each, no batches to count).
"""

from __future__ import annotations

import sys
import threading
import time

from tqdm.auto import tqdm

# A training step's time per sample, fitted (the smallest worst ratio to each run's median) to the
# epoch times of four `make demo` runs on two days' machines (docs/results/demo-seed{0,1}.json and
# those of commit 3c8ac73: 2 threads, the conv nets and the LSTM in bf16): ~7.8 us per forward
# MFLOP, ~2 ns per activation value the model's modules write (elementwise work, memory bound),
# ~21 ns per input value (the BCE's transcendental functions, the optimizer). The worst experiment
# is 1.75x off its run's median, the runs' own spread (deep took 4 s and 6 s in two seeds of one
# day; a per-step term fitted no better). tests/test_report_progress.py holds every one to it.
US_PER_MFLOP, US_PER_K_ACTIVATIONS, US_PER_K_VALUES = 7.8, 2.0, 20.8


def epoch_cost(model: str, options: dict, sample_shape: tuple, n_train: int) -> float:
    """One epoch's training time on the benchmark machine, in microseconds: only the ratios
    between experiments matter (the bar's rate is measured on this machine)."""
    import math

    import torch

    from ..evaluation.flops import forward_flops
    from ..registry import create_model

    net = create_model(model, sample_shape, **options)
    sample = torch.zeros(2, *sample_shape)
    per_sample = (US_PER_MFLOP * forward_flops(net, sample) / 1e6
                  + US_PER_K_ACTIVATIONS * activations(net, sample) / 1e3
                  + US_PER_K_VALUES * math.prod(sample_shape) / 1e3)
    return per_sample * n_train


def activations(net, sample) -> float:
    """Values per sample written by the leaf modules in a forward pass (a recurrent layer's gates
    included: 4 per LSTM unit and step, 3 per GRU's)."""
    import torch

    total = [0]

    def count(module, inputs, output):
        out = output[0] if isinstance(output, tuple) else output
        gates = {"LSTM": 4, "GRU": 3}.get(getattr(module, "mode", ""), 1)
        total[0] += out.numel() * (gates + 1 if gates > 1 else 1)

    leaves = [m for m in net.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            net(sample)
    finally:
        for hook in hooks:
            hook.remove()
    return total[0] / len(sample)


class ReproduceProgress:
    """`jobs` maps a label to (epochs, one epoch's cost). `start(label)` before a job, `hook` per
    batch (RunLogger's on_batch), `done()` after its training, `phase(text)` for other work; work
    that is not run (a finished run reused, epochs before a resumed checkpoint, early stopping)
    leaves the total. `n` and `total` are kept here: a disabled (quiet) tqdm counts nothing."""

    def __init__(self, jobs: dict[str, tuple[int, float]], *, quiet: bool = False, clock=time.perf_counter):
        self.jobs, self.n, self.total, self.clock = jobs, 0.0, sum(e * c for e, c in jobs.values()), clock
        self.bar = tqdm(total=self.total, desc="reproduce", disable=quiet, file=sys.stderr, mininterval=0.5,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} elapsed{postfix}")
        self.label, self.epochs, self.cost, self.base, self.skipped = "", 0, 0.0, 0.0, None
        self.train_s, self.trained, self.eval_s, self.evaluated = 0.0, 0.0, 0.0, 0
        self._since, self._evaluating = clock(), False
        self._stop = threading.Event()
        if not quiet:  # between batches (baselines, probes, the VAE's bound) the clock still moves
            threading.Thread(target=self._heartbeat, daemon=True).start()

    def start(self, label: str) -> None:
        self._end_evaluation()
        (self.epochs, self.cost), self.label = self.jobs[label], label
        self.base, self.skipped, self._since = self.n, None, self.clock()
        self.bar.set_description_str(f"{label}: training")

    def hook(self, epoch: int, epochs: int, batch: int, batches: int) -> None:
        if self.skipped is None:  # a resumed run starts after its checkpoint's epoch: not work done now
            self.skipped = epoch - 1
            self._shrink(self.skipped * self.cost)
        # at most the total: the work done and the total, summed in other orders, round differently
        target = min(self.base + self.cost * (epoch - 1 - self.skipped + batch / batches), self.total)
        self.bar.set_description_str(f"{self.label} epoch {epoch}/{epochs}", refresh=False)
        self.bar.set_postfix_str(self._left(), refresh=False)
        self.bar.update(target - self.n)
        self.n = target

    def done(self) -> None:
        """Training of the current job is over: what was not run (reused, stopped early) leaves the total."""
        work = self.n - self.base
        if work > 0:  # a reused run trained nothing: its loading time is no throughput
            self.train_s, self.trained = self.train_s + self.clock() - self._since, self.trained + work
        self._shrink(self.cost * (self.epochs - (self.skipped or 0)) - work)
        self.bar.set_description_str(f"{self.label}: evaluating")
        self._since, self._evaluating = self.clock(), True

    def phase(self, text: str) -> None:
        """Work outside training (baselines, the summary figure): named, not counted."""
        self._end_evaluation()
        self.bar.set_description_str(text)

    def seconds_left(self) -> float | None:
        """Training work left at the measured throughput, plus evaluations left at their mean time."""
        if not self.trained:
            return None
        to_evaluate = len(self.jobs) - self.evaluated - (1 if self._evaluating else 0)
        evaluating = self.eval_s / self.evaluated if self.evaluated else 0.0
        return max(0.0, self.total - self.n) * self.train_s / self.trained + to_evaluate * evaluating

    def close(self) -> None:
        self._stop.set()
        self.bar.close()

    def _end_evaluation(self) -> None:
        if self._evaluating:
            self.eval_s += self.clock() - self._since
            self.evaluated, self._evaluating = self.evaluated + 1, False

    def _left(self) -> str:
        left = self.seconds_left()
        return "" if left is None else f"about {int(left // 60)}:{int(left % 60):02d} left"

    def _shrink(self, amount: float) -> None:
        if amount > 0:  # never below the work done (rounding, as in `hook`)
            self.total = max(self.total - amount, self.n)
            self.bar.total = self.total
            self.bar.refresh()

    def _heartbeat(self, every: float = 2.0) -> None:
        while not self._stop.wait(every):
            self.bar.set_postfix_str(self._left(), refresh=False)
            self.bar.refresh()
