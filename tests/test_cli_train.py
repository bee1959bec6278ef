"""cli/train_cmd.py and the top-level parser: fast help, a version, help for every option, the
article's batch size per model, and output without internal names."""

import json
import subprocess
import sys

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
