"""The weights' moving average (training/ema.py): what a run with `ema` validates, saves and resumes."""

import pytest
import torch

import autoencoders as ae
from autoencoders.errors import ConfigError, TrainingError
from autoencoders.models.dense import DenseAutoencoder
from autoencoders.training import Trainer
from autoencoders.training.checkpoint import load_weights
from autoencoders.training.ema import WeightAverage, decay_at

FAST = dict(data="digits", limit=128, batch_size=32, quiet=True, validation="0.25")


def test_the_average_follows_the_ramped_decay_exactly():
    model = torch.nn.Linear(3, 2)
    average = WeightAverage(model, 0.9)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    average.update(step=1)
    d = decay_at(1, 0.9)  # (1 + 1) / (10 + 1): the ramp, below 0.9
    assert d == pytest.approx(2 / 11)
    assert torch.allclose(average.state_dict()["weight"], d * start + (1 - d) * (start + 1.0))
    assert decay_at(10_000, 0.9) == 0.9


def test_applied_swaps_the_average_in_and_back():
    model = torch.nn.Linear(3, 2)
    average = WeightAverage(model, 0.5)
    with torch.no_grad():
        model.weight.mul_(3.0)
    own = model.weight.detach().clone()
    with average.applied():
        assert torch.equal(model.weight, average.state_dict()["weight"])
        assert not torch.equal(model.weight, own)
    assert torch.equal(model.weight, own)


def test_a_run_with_ema_publishes_and_validates_the_average_not_the_last_weights(tmp_path):
    run = ae.train("conv", epochs=2, out=tmp_path / "run", ema=0.9, filters=(4, 4), **{**FAST, "validation": "test"})
    published, _ = load_weights(tmp_path / "run" / "model.safetensors")
    raw, _ = load_weights(tmp_path / "run" / "state" / "model.safetensors")
    average, _ = load_weights(tmp_path / "run" / "state" / "average.safetensors")
    assert all(torch.equal(published[k], average[k]) for k in published)
    assert any(not torch.equal(published[k], raw[k]) for k in published)
    # the model handed back is the one saved, and its validation loss is the history's
    assert all(torch.equal(v.contiguous(), published[k]) for k, v in run.model.state_dict().items())
    again = ae.load_run(tmp_path / "run").evaluate("test")
    assert again["loss"] == pytest.approx(run.history[-1]["val"]["loss"], rel=1e-5)


def test_a_run_with_ema_resumes_bitwise(tmp_path):
    opts = dict(FAST, ema=0.95, noise="gaussian:0.3")
    ae.train("conv", epochs=3, out=tmp_path / "full", filters=(4, 4), **opts)
    ae.train("conv", epochs=2, out=tmp_path / "part", filters=(4, 4), **opts)
    ae.resume(tmp_path / "part", epochs=3, quiet=True)
    for name in ("model.safetensors", "state/model.safetensors", "state/average.safetensors"):
        a, _ = load_weights(tmp_path / "full" / name)
        b, _ = load_weights(tmp_path / "part" / name)
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_resuming_with_ema_a_checkpoint_without_an_average_is_refused(tmp_path):
    ae.train("dense", epochs=1, out=tmp_path / "run", **FAST)
    model = DenseAutoencoder((1, 8, 8), hidden=(), code_size=32)
    trainer = Trainer(model, ae.TrainConfig(epochs=2, batch_size=32, device="cpu", ema=0.9))
    with pytest.raises(TrainingError, match="average.safetensors: missing"):
        trainer.fit(torch.rand(64, 1, 8, 8), resume_from=tmp_path / "run")


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 1.5])
def test_an_ema_decay_outside_zero_one_is_refused(bad):
    with pytest.raises(ConfigError, match="ema must be a decay in"):
        ae.TrainConfig(ema=bad)
