"""The `ae` command end to end on digits, and its errors."""

import json
import shutil

import numpy as np
import pytest

from autoencoders import api
from autoencoders.cli import main


def test_train_writes_a_run(run_dir):
    for name in ("config.json", "model.safetensors", "history.jsonl", "state/trainer.json"):
        assert (run_dir / name).exists(), name
    assert json.loads((run_dir / "config.json").read_text())["model"]["options"]["code_size"] == 8


def test_evaluate_json(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 360 and 0 < metrics["bce"] < 1 and metrics["psnr"] > 5
    assert set(metrics) >= {"mse", "code_mean", "dead_units"}
    assert (run_dir / "metrics.json").exists()


def test_reconstruct_and_encode(run_dir, tmp_path):
    fig, npy, codes = tmp_path / "r.png", tmp_path / "r.npy", tmp_path / "c.npy"
    assert main(["reconstruct", str(run_dir), "-o", str(fig), "--npy", str(npy)]) == 0
    assert fig.read_bytes()[:4] == b"\x89PNG"
    recon = np.load(npy)
    assert recon.shape == (360, 1, 8, 8) and recon.dtype == np.float32
    assert main(["encode", str(run_dir), "-o", str(codes)]) == 0
    assert np.load(codes).shape == (360, 8)


def test_models_lists_the_article_models(capsys):
    assert main(["models", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert {"dense", "sparse", "deep"} <= set(models)
    assert models["sparse"]["options"]["activity_l1"] == 1e-4


def test_mistyped_flag_suggests_nearest(capsys):
    with pytest.raises(SystemExit):
        main(["train", "dense", "--epoch", "3"])
    assert "did you mean '--epochs'" in capsys.readouterr().err


@pytest.mark.parametrize("argv,needle", [
    (["train", "dense", "--optimizer", "adamm"], "did you mean 'adam'"),
    (["train", "dens"], "did you mean 'dense'"),
    (["train", "dense", "--activity-l1", "2"], "option 'activity_l1'"),
    (["evaluate", "/nonexistent/run"], "/nonexistent/run"),
])
def test_bad_values_are_clear_errors(argv, needle, capsys, tmp_path):
    assert main(argv + ([] if argv[0] == "evaluate" else ["--out", str(tmp_path / "x")])) == 2
    assert needle in capsys.readouterr().err


def test_an_interrupt_says_which_checkpoint_it_left(run_dir, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "train_config", interrupted)
    assert main(["train", "dense", "--data", "digits", "--quiet", "--out", str(tmp_path / "new")]) == 130
    assert "holds no trained weights" in capsys.readouterr().err
    monkeypatch.setattr(api, "resume", interrupted)
    run = shutil.copytree(run_dir, tmp_path / "run")
    assert main(["train", "--resume", str(run), "--epochs", "5", "--quiet"]) == 130
    assert f"keeps the checkpoint of epoch 2 (continue: ae train --resume {run})" in capsys.readouterr().err
