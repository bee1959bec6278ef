"""`ae reproduce`'s progress: one bar over all experiments that moves with every batch and weighs
each experiment by its cost, so its ETA is measured throughput times the work left (issue #12)."""

import json
import statistics
from pathlib import Path

import pytest

from autoencoders.presets import EXPERIMENTS
from autoencoders.report import progress as progress_module
from autoencoders.report.pipeline import reproduce
from autoencoders.report.progress import ReproduceProgress, epoch_cost

ROOT = Path(__file__).resolve().parents[1]


def test_work_is_weighted_by_cost_and_unrun_work_leaves_the_total():
    p = ReproduceProgress({"cheap": (2, 1.0), "dear": (2, 9.0), "reused": (3, 5.0)}, quiet=True)
    assert p.total == 35.0
    p.start("cheap")
    p.hook(1, 2, 1, 4)
    assert p.n == 0.25  # a quarter of an epoch is already progress
    for b in range(1, 5):
        p.hook(2, 2, b, 4)
    p.done()
    assert p.n / p.total == 2 / 35  # the cheap job's 2 epochs, not 2 of 7 epochs
    p.start("dear")
    p.hook(2, 2, 2, 2)  # resumed after epoch 1: that epoch was not run now
    p.done()
    p.start("reused")
    p.done()  # a finished run reused: no training at all
    assert p.n == p.total == 2.0 + 9.0
    p.close()


@pytest.mark.parametrize("seed", [0, 1])
def test_epoch_costs_follow_the_demos_measured_epoch_times(seed):
    """Each experiment's predicted epoch against the one `make demo` measured (docs/results, the
    README's table): within 0.55-1.8 of the same scale for all seven (the fit's worst is 1.75)."""
    results = json.loads((ROOT / "docs" / "results" / f"demo-seed{seed}.json").read_text())
    ratios = {}
    for row in results["experiments"]:
        exp = next(e for e in EXPERIMENTS if e.key == row["key"])
        shape = (28, 28) if exp.data.get("as_sequence") else (1, 28, 28)
        measured = row["train_seconds"] / row["epochs"]
        ratios[exp.key] = epoch_cost(exp.model, exp.options, shape, 60_000) / 1e6 / measured
    scale = statistics.median(ratios.values())
    assert all(0.55 < r / scale < 1.8 for r in ratios.values()), ratios


@pytest.mark.slow
def test_reproduce_reports_every_batch_with_the_experiment_name(tmp_path, monkeypatch):
    calls = []
    original = ReproduceProgress.hook

    def spy(self, epoch, epochs, batch, batches):
        calls.append((self.label, epoch, batch, batches))
        original(self, epoch, epochs, batch, batches)

    monkeypatch.setattr(progress_module.ReproduceProgress, "hook", spy)
    reproduce(tmp_path, profile="tiny", recipe="modern", data="digits", only="dense", quiet=True)
    assert calls == [("modern dense", 1, 1, 2), ("modern dense", 1, 2, 2)]  # 512 images, batch 256


def test_time_left_is_measured_throughput_times_the_work_left_plus_evaluations():
    now = [0.0]
    p = ReproduceProgress({"dense": (1, 1.0), "denoise": (1, 3.0)}, quiet=True, clock=lambda: now[0])
    assert p.seconds_left() is None  # nothing measured yet: no guess
    p.start("dense")
    now[0] = 10.0
    p.hook(1, 1, 1, 1)
    p.done()  # 1 unit of work in 10 s
    now[0] = 15.0
    p.start("denoise")  # its evaluation took 5 s
    assert p.seconds_left() == 3.0 * 10 + 1 * 5.0  # 3x the work at the measured rate, one evaluation left
    p.close()


@pytest.mark.parametrize("seed", [35, 42])  # job sizes whose sums round the wrong way
def test_the_bar_never_passes_its_total_nor_shows_negative_time_left(seed):
    # `make demo` ended on "explorer page: 100% ... about -1:59 left" and tqdm's "clamping frac to
    # range [0, 1]": the work done, summed in another order than the total, overshot it by a rounding.
    import random

    rng, now = random.Random(seed), [0.0]
    costs = {f"job{i}": (rng.randint(1, 16), rng.uniform(1e6, 1e8)) for i in range(7)}
    p = ReproduceProgress(costs, quiet=True, clock=lambda: now[0])
    for label, (epochs, _) in costs.items():
        p.start(label)
        batches = rng.choice([1, 118, 235, 469, 600])
        for epoch in range(1, epochs + 1):
            for b in range(1, batches + 1):
                now[0] += 0.01
                p.hook(epoch, epochs, b, batches)
        p.done()
        assert p.n <= p.total
    p.phase("explorer page")
    assert p.n <= p.total and p.seconds_left() == 0.0
    assert p._left() == "about 0:00 left"
    p.close()
