"""Strict configuration: unknown keys and bad values fail early with a suggestion."""

import json

import pytest

from autoencoders.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from autoencoders.errors import ConfigError


def test_json_round_trip():
    cfg = RunConfig(DataConfig(name="mnist", noise="gaussian:0.5"), ModelConfig("deep", {"code_size": 16}),
                    TrainConfig(epochs=3, optimizer="adadelta"))
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize("section,key,hint", [
    ("train", "epoch", "epochs"), ("data", "nosie", "noise"), ("model", "nam", "name")])
def test_unknown_key_suggests_nearest(section, key, hint):
    with pytest.raises(ConfigError, match=f"did you mean '{hint}'"):
        RunConfig.from_dict({section: {key: 1}})


@pytest.mark.parametrize("train,match", [
    ({"optimizer": "adamw"}, "did you mean 'adam'"), ({"device": "gpu"}, "unknown device"),
    ({"epochs": -1}, "epochs"), ({"lr": 0}, "lr"), ({"precision": "fp16"}, "precision")])
def test_bad_values(train, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig(train=TrainConfig(**train)).validate()


def test_adadelta_defaults_to_keras1_learning_rate():
    assert TrainConfig(optimizer="adadelta").learning_rate == 1.0
    assert TrainConfig().learning_rate == 1e-3
    assert TrainConfig(lr=0.5).learning_rate == 0.5


def test_bad_validation_and_noise():
    with pytest.raises(ConfigError, match="validation"):
        DataConfig(validation="2").validate()
    with pytest.raises(ConfigError):
        DataConfig(noise="gausian:0.5").validate()


@pytest.mark.parametrize("budget", [float("inf"), float("nan"), 0.0, -1.0])
def test_memory_budget_is_a_finite_positive_number_of_gb(budget, capsys, exit_code):
    with pytest.raises(ConfigError, match="memory_budget must be a finite number of GB > 0"):
        DataConfig(memory_budget=budget).validate()
    assert exit_code(["train", "dense", "--memory-budget", str(budget), "--epochs", "1", "--quiet"]) == 2
    assert "argument --memory-budget: must be" in capsys.readouterr().err
