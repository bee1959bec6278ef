"""cli/train_cmd.py and the top-level parser: fast help, a version, help for every option, the
article's batch size per model, output without internal names, and `--recipe anomaly`."""

import json
import subprocess
import sys

import numpy as np
import pytest

from autoencoders.api import make_config
from autoencoders.cli import main
from autoencoders.config import FIELD_HELP, DataConfig, TrainConfig
from autoencoders.registry import specs


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["reproduce", "--help"], ["--version"]])
def test_help_and_version_do_not_import_torch(argv):
    code = ("import sys\nfrom autoencoders.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)" % argv)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"ae {version('autoencoders')}"


def test_every_train_option_has_help_and_a_readable_metavar(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "(default: None)" not in text and "MODEL__" not in text
    import dataclasses

    fields = {f.name for f in dataclasses.fields(DataConfig) + dataclasses.fields(TrainConfig)} - {"name"}
    assert fields <= set(FIELD_HELP)
    flat = " ".join(text.split())  # argparse wraps the help lines
    for spec in specs():
        for f in spec.fields():
            assert f"--{f.name.replace('_', '-')}" in text and " ".join(f.metadata["help"].split()) in flat


def test_each_model_trains_with_the_article_batch_size_unless_told():
    from autoencoders.presets import EXPERIMENTS

    assert make_config("conv", "digits").train.batch_size == 128
    assert make_config("conv-denoise", "digits").train.batch_size == 128
    assert make_config("vae", "digits").train.batch_size == 100
    assert make_config("dense", "digits").train.batch_size == 256
    assert make_config("conv", "digits", batch_size=32).train.batch_size == 32
    for exp in EXPERIMENTS:  # `ae reproduce` reads the same registration
        assert exp.batch_size == make_config(exp.model, "digits").train.batch_size


def test_train_prints_what_it_used(tmp_path, capsys):
    assert main(["train", "conv", "--data", "digits", "--epochs", "1", "--limit", "64", "--quiet",
                 "--out", str(tmp_path / "r")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "training conv on digits: 1 epochs, batch 128, adam lr 0.001, schedule constant"


def test_models_and_evaluate_print_no_internal_names(run_dir, capsys):
    assert main(["models"]) == 0
    assert "=None" not in capsys.readouterr().out
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert "loss_loss" not in metrics and "loss" in metrics


@pytest.fixture(scope="module")
def normal_file(tmp_path_factory):
    """Digits 0-4 of the digits training set as a .npy of (708, 8, 8) normal samples (no splits)."""
    from autoencoders.data import load_dataset

    train = load_dataset("digits", "train")
    path = tmp_path_factory.mktemp("data") / "normal.npy"
    np.save(path, train.images[train.labels < 5][:, 0].numpy())
    return path


def test_train_recipe_anomaly_trains_the_preset_and_calibrates_so_score_works_next(normal_file, tmp_path, capsys):
    from autoencoders.evaluation.detection import DEFAULT_ALPHA, DEFAULT_SCORE, load_detector
    from autoencoders.presets import ANOMALY
    from autoencoders.sklearn import AutoencoderDetector

    run = tmp_path / "detector"
    assert main(["train", "--recipe", "anomaly", "--data", str(normal_file), "--epochs", "1", "--quiet",
                 "--out", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"training {ANOMALY.model} on {normal_file}: 1 epochs, batch {ANOMALY.batch_size}, adam lr "
                      f"{ANOMALY.lr:g}, schedule {ANOMALY.schedule}")  # --epochs given wins, the rest is the recipe
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["name"] == ANOMALY.model and config["data"]["validation"] == repr(ANOMALY.calibration)
    assert (config["train"]["lr"], config["train"]["schedule"]) == (ANOMALY.lr, ANOMALY.schedule)
    held = 708 - round(708 * (1 - ANOMALY.calibration))  # the seeded hold-out: 71 samples
    cal = load_detector(run).calibration
    assert (cal.score, cal.alpha, cal.n) == (ANOMALY.score, ANOMALY.alpha, held - held // 2)
    assert out[-1].startswith(f"calibrated {ANOMALY.score} on {cal.n} held-out samples: threshold")
    assert main(["score", str(run), str(normal_file), "--fpr", "0.05", "-o", str(tmp_path / "s.csv")]) == 0
    assert f"calibration of {cal.n} samples in {run / 'anomaly.json'}" in capsys.readouterr().err
    # one decision, one place: the library's defaults are the recipe's
    assert (DEFAULT_SCORE, DEFAULT_ALPHA) == (ANOMALY.score, ANOMALY.alpha)
    params = AutoencoderDetector().get_params()
    assert {k: params[k] for k in ("model", "epochs", "batch_size", "lr", "schedule", "alpha", "calibration")} == {
        "model": ANOMALY.model, "epochs": ANOMALY.epochs, "batch_size": ANOMALY.batch_size, "lr": ANOMALY.lr,
        "schedule": ANOMALY.schedule, "alpha": ANOMALY.alpha, "calibration": ANOMALY.calibration}


def test_train_recipe_refusals_are_one_line_naming_the_argument(normal_file, tmp_path, capsys, exit_code):
    argv = ["train", "--recipe", "anomaly", "--data", str(normal_file), "--quiet"]
    assert exit_code([*argv, "--validation", "test"]) == 2
    from autoencoders.presets import ANOMALY

    assert (f"--validation must be a fraction, e.g. {ANOMALY.calibration} (its default), not 'test'"
            in capsys.readouterr().err)
    assert exit_code(["train", "--recipe", "fast"]) == 2
    assert "argument --recipe: invalid choice: 'fast'" in capsys.readouterr().err
    from autoencoders.errors import ConfigError
    from autoencoders.presets import train_recipe

    with pytest.raises(ConfigError, match="unknown recipe 'fast'.*a recipe of `ae reproduce`"):
        train_recipe("fast")
    assert exit_code([*argv, "--resume", str(tmp_path)]) == 2
    assert "--recipe starts a new run" in capsys.readouterr().err
    few = tmp_path / "few.npy"  # 10% of 100 samples is too few to calibrate at alpha 0.05
    np.save(few, np.load(normal_file)[:100])
    assert main([*argv[:3], "--data", str(few), "--epochs", "1", "--quiet", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert (f"{tmp_path / 'r'} trained, but calibrating its anomaly score failed: alpha 0.05 needs at least 37 "
            "calibration samples") in err and "--calibrate NORMAL" in err
