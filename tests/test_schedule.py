"""Learning-rate schedules: their values at given steps, and exact resume mid-schedule."""

import json
import math

import pytest
import torch

import autoencoders as ae
from autoencoders.config import TrainConfig
from autoencoders.errors import ConfigError
from autoencoders.training.callbacks import RunLogger
from autoencoders.training.checkpoint import load_weights
from autoencoders.training.schedule import lr_at

FAST = dict(data="digits", limit=128, batch_size=32, quiet=True)  # 4 steps per epoch


def test_constant_with_warmup():
    assert [lr_at(t, 10, 1.0, "constant", 0.2) for t in range(4)] == [0.5, 1.0, 1.0, 1.0]
    assert lr_at(9, 10, 1.0) == 1.0


def test_linear_and_cosine_decay_from_peak_after_warmup():
    assert lr_at(0, 10, 2.0, "linear") == 2.0
    assert lr_at(5, 10, 2.0, "linear") == pytest.approx(1.0)
    assert lr_at(9, 10, 2.0, "linear") == pytest.approx(0.2)
    assert lr_at(0, 10, 2.0, "cosine") == pytest.approx(2.0)
    assert lr_at(5, 10, 2.0, "cosine") == pytest.approx(1.0)
    assert lr_at(2, 12, 2.0, "cosine", 0.25) == pytest.approx(2.0)  # last warm-up step reaches the peak
    assert lr_at(3, 12, 2.0, "cosine", 0.25) == pytest.approx(2.0)
    assert lr_at(3 + 6, 12, 2.0, "cosine", 0.25) == pytest.approx(0.5 * 2.0 * (1 + math.cos(math.pi * 6 / 9)))


def test_onecycle_matches_pytorch_onecyclelr():
    total, peak = 50, 3e-3
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=peak, total_steps=total)
    expected = []
    for _ in range(total):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    assert [lr_at(t, total, peak, "onecycle") for t in range(total)] == pytest.approx(expected, rel=1e-3)


def test_bad_schedule_and_warmup_are_config_errors():
    with pytest.raises(ConfigError, match="cosine"):
        TrainConfig(schedule="cosin").validate()
    with pytest.raises(ConfigError, match="warmup"):
        TrainConfig(warmup=1.5).validate()
    with pytest.raises(ConfigError, match="clip_grad"):
        TrainConfig(clip_grad=0).validate()


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_resume_mid_schedule_equals_uninterrupted_bitwise(tmp_path, monkeypatch, schedule):
    opts = dict(FAST, schedule=schedule, warmup=0.25, lr=3e-3, clip_grad=1.0, epochs=4)
    ae.train("dense", out=tmp_path / "full", **opts)
    real_progress = RunLogger.progress

    def crash_in_epoch_3(self, total, epoch, epochs):
        if epoch == 3:
            raise KeyboardInterrupt
        return real_progress(self, total, epoch, epochs)

    with monkeypatch.context() as m:
        m.setattr(RunLogger, "progress", crash_in_epoch_3)
        with pytest.raises(KeyboardInterrupt):
            ae.train("dense", out=tmp_path / "part", **opts)
    _, meta = load_weights(tmp_path / "part" / "model.safetensors")
    assert meta["epoch"] == "2"
    resumed = ae.resume(tmp_path / "part", quiet=True)
    a, _ = load_weights(tmp_path / "full" / "model.safetensors")
    b, _ = load_weights(tmp_path / "part" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in ae.load_run(tmp_path / "full").history]


def test_lr_is_logged_per_epoch_and_recorded_in_config(tmp_path):
    run = ae.train("dense", epochs=3, out=tmp_path / "run", schedule="linear", lr=1e-2, **FAST)
    lrs = [r["lr"] for r in run.history]
    assert lrs[0] > lrs[1] > lrs[2] > 0
    assert lrs[-1] == pytest.approx(1e-2 / 12)  # the last of 12 steps
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["schedule"] == "linear"
