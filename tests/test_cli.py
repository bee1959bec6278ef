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

    monkeypatch.setattr(api, "train", interrupted)
    assert main(["train", "dense", "--data", "digits", "--quiet", "--out", str(tmp_path / "new")]) == 130
    assert "holds no trained weights" in capsys.readouterr().err
    monkeypatch.setattr(api, "resume", interrupted)
    run = shutil.copytree(run_dir, tmp_path / "run")
    assert main(["train", "--resume", str(run), "--epochs", "5", "--quiet"]) == 130
    assert f"keeps the checkpoint of epoch 2 (continue: ae train --resume {run})" in capsys.readouterr().err


def test_type_helpers_accept_what_they_promise_and_nothing_else():
    import argparse

    from autoencoders.cli import boolean, fraction, int_list, nonnegative_int, percentile, positive_float

    assert [boolean(w) for w in ("true", "Yes", "1", "FALSE", "no", "0")] == [True] * 3 + [False] * 3
    assert int_list("128, 64") == (128, 64) and nonnegative_int("0") == 0 and fraction("0") == 0.0
    assert positive_float("1e-3") == 1e-3 and percentile("100") == 100.0
    for fn, text in [(boolean, "maybe"), (boolean, ""), (int_list, ","), (int_list, ""), (int_list, "8,"),
                     (int_list, "8,-1"), (nonnegative_int, "-1"), (fraction, "1"), (positive_float, "inf"),
                     (positive_float, "nan"), (positive_float, "0"), (percentile, "-0.5")]:
        with pytest.raises(argparse.ArgumentTypeError):
            fn(text)


TINY = ["--data", "digits", "--epochs", "1", "--limit", "64", "--quiet"]  # if a value slips through


@pytest.mark.parametrize("argv,needle", [
    (["deep", "--hidden", ","], "argument --hidden: needs one or more comma-separated positive integers"),
    (["deep", "--hidden", "128,,64"], "argument --hidden: empty item in '128,,64'"),
    (["deep", "--hidden", "128,0"], "argument --hidden: '0' in '128,0': must be a positive integer"),
    (["conv", "--filters", "8,x"], "argument --filters: 'x' in '8,x': not an integer"),
    (["dense", "--stream", "maybe"], "argument --stream: must be true or false"),
    (["dense", "--code-size", "0"], "argument --code-size: must be a positive integer, got 0"),
    (["sparse", "--activity-l1", "-1"], "argument --activity-l1: must be a number >= 0"),
    (["vae", "--beta", "nan"], "argument --beta: must be a finite number"),
    (["dense", "--batch-size", "0"], "argument --batch-size: must be a positive integer, got 0"),
    (["dense", "--limit", "0"], "argument --limit: must be a positive integer, got 0"),
    (["dense", "--lr", "-1"], "argument --lr: must be a number > 0"),
    (["dense", "--lr", "nan"], "argument --lr: must be a finite number"),
    (["dense", "--warmup", "1"], "argument --warmup: must be a fraction in [0, 1)"),
    (["dense", "--memory-budget", "0"], "argument --memory-budget: must be a number > 0"),
])
def test_train_values_are_checked_while_parsing(argv, needle, tmp_path, capsys, exit_code):
    out = tmp_path / "x"
    assert exit_code(["train", *argv, *TINY, "--out", str(out)]) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


def test_stream_takes_the_usual_spellings_of_true_and_false(tmp_path, capsys):
    assert main(["train", "dense", *TINY, "--stream", "No", "--out", str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["data"]["stream"] is False


@pytest.mark.parametrize("argv,usage", [
    (["train", "--epochs", "1"], "MODEL is required"),
    (["reconstruct", "RUN"], "give -o FIGURE and/or --npy FILE"),
])
def test_missing_arguments_are_usage_errors(argv, usage, capsys, exit_code):
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: ae {argv[0]}") and f"ae {argv[0]}: error: {usage}" in err


@pytest.mark.parametrize("n", ["0", "-3"])
def test_reconstruct_needs_a_positive_n(run_dir, tmp_path, n, capsys, exit_code):
    assert exit_code(["reconstruct", str(run_dir), "--n", n, "-o", str(tmp_path / "r.png")]) == 2
    assert f"argument --n: must be a positive integer, got {n}" in capsys.readouterr().err
    assert not (tmp_path / "r.png").exists()


def test_an_unknown_option_is_reported_by_its_command(run_dir, capsys, exit_code):
    assert exit_code(["evaluate", str(run_dir), "-o", "x"]) == 2
    err = capsys.readouterr().err
    assert "ae evaluate: error: unrecognized arguments: -o x" in err and "did you mean" not in err
    assert exit_code(["evaluate", str(run_dir), "--jsn"]) == 2
    assert "did you mean '--json'" in capsys.readouterr().err


def test_a_read_only_run_is_evaluated_and_says_it_was_not_saved(run_dir, tmp_path, monkeypatch, capsys):
    from autoencoders.cli import run_cmd

    def refuse(path, obj):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(run_cmd, "write_json", refuse)
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["n"] == 360
    assert err.strip() == f"note: metrics not saved: cannot write {run_dir / 'metrics.json'} (Permission denied)"


def _copy_run(run_dir, dest, **data):
    """A copy of the digits run whose config.json names other data (as if the data had changed)."""
    import shutil

    shutil.copytree(run_dir, dest)
    config = json.loads((dest / "config.json").read_text())
    config["data"].update(data)
    (dest / "config.json").write_text(json.dumps(config))
    return dest


def test_a_run_whose_data_changed_shape_is_a_clear_error(run_dir, tmp_path, capsys):
    data = tmp_path / "d.npz"
    np.savez(data, x_train=np.zeros((20, 10, 10), np.float32), x_test=np.zeros((5, 10, 10), np.float32))
    run = _copy_run(run_dir, tmp_path / "run", name=str(data))
    for command in (["evaluate", str(run)], ["encode", str(run), "-o", str(tmp_path / "c.npy")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert (f"run {run}: {data} (test) now holds samples of shape (1, 10, 10), but the run's model takes "
                "(1, 8, 8)") in err, err


def test_a_run_that_held_out_validation_is_told_to_use_split_train(run_dir, tmp_path, capsys):
    data = tmp_path / "x.npy"
    np.save(data, np.zeros((20, 8, 8), np.float32))
    run = _copy_run(run_dir, tmp_path / "run", name=str(data), validation="0.2")
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert "this run held out --validation 0.2 of it for validation; use split 'train' (--split train)" in err
    assert "hold out part of it" not in err
    assert main(["evaluate", str(run), "--split", "train", "--json"]) == 0


def test_an_interrupt_while_starting_imports_nothing(tmp_path, monkeypatch, capsys):
    """A Ctrl-C inside `import torch` left a half-made module; the message must not import it again."""
    import sys

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "train", interrupted)
    monkeypatch.delitem(sys.modules, "autoencoders.training.checkpoint")
    assert main(["train", "dense", "--data", "digits", "--quiet", "--out", str(tmp_path / "new")]) == 130
    assert f"interrupted while starting: {tmp_path / 'new'} is as it was" in capsys.readouterr().err
    assert "autoencoders.training.checkpoint" not in sys.modules


def test_a_ctrl_c_while_starting_is_held_back_until_the_imports_are_done(monkeypatch, capsys):
    """A Ctrl-C inside numpy's or torch's import made an ImportError (exit 1) or a SIGINT death (-2)."""
    import os
    import signal
    import sys

    from autoencoders import cli
    from autoencoders.cli import console, cpu

    monkeypatch.setattr(cpu, "configure", lambda: os.kill(os.getpid(), signal.SIGINT))
    monkeypatch.setattr(sys, "argv", ["ae", "models"])
    # Python's own handler, as in a terminal (under nohup, or as a background job, SIGINT starts ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert console() == 130
        assert signal.getsignal(signal.SIGINT) is cli._on_sigint  # Ctrl-C raises again, remembered
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert "interrupted while starting; nothing was done" in capsys.readouterr().err


def test_a_failure_after_a_ctrl_c_is_the_ctrl_c(tmp_path, monkeypatch, capsys):
    """scipy interrupted inside its import raised ImportError('initialization failed'): exit 1 and a bug report."""
    from autoencoders import cli

    def import_failed(*args, **kwargs):
        raise ImportError("initialization failed")

    monkeypatch.setattr(api, "train", import_failed)
    monkeypatch.setattr(cli, "_SIGINTS", [0.0])
    assert main(["train", "dense", "--data", "digits", "--quiet", "--out", str(tmp_path / "new")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "internal error" not in err
