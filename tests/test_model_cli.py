"""`ae codes|denoise|sample|latent|manifold|interpolate|likelihood` end to end on digits."""

import json

import numpy as np
import pytest
from PIL import Image

from autoencoders.cli import main

PNG = b"\x89PNG"



def train(tmp_path_factory, name, *args):
    out = tmp_path_factory.mktemp("runs") / name
    assert main(["train", name, "--data", "digits", "--out", str(out), "--quiet", *args]) == 0
    return out


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    return train(tmp_path_factory, "conv", "--epochs", "1", "--noise", "gaussian:0.5", "--batch-size", "64")


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    return train(tmp_path_factory, "vae", "--epochs", "2", "--batch-size", "64")


@pytest.fixture(scope="module")
def conv_vae_run(tmp_path_factory):
    return train(tmp_path_factory, "conv-vae", "--epochs", "1", "--latent-size", "3", "--limit", "128")


def test_noisy_training_and_evaluate_reports_input_psnr(conv_run, capsys):
    config = json.loads((conv_run / "config.json").read_text())
    assert config["data"]["noise"] == "gaussian:0.5"
    capsys.readouterr()
    assert main(["evaluate", str(conv_run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert 0 < metrics["input_psnr"] < 20 and "psnr" in metrics


@pytest.mark.parametrize("command", [
    ["codes"], ["latent"], ["latent", "--method", "tsne", "--n", "60"], ["interpolate", "--steps", "5"],
])
def test_figures_of_any_run(command, conv_run, vae_run, tmp_path):
    for run in (conv_run, vae_run):
        out = tmp_path / f"{run.name}.png"
        assert main([command[0], str(run), "-o", str(out), *command[1:]]) == 0
        assert out.read_bytes()[:4] == PNG


@pytest.mark.parametrize("command", [["sample", "--n", "16"], ["manifold", "--n", "5"]])
def test_vae_figures(command, vae_run, conv_run, tmp_path, capsys):
    out = tmp_path / "f.png"
    assert main([command[0], str(vae_run), "-o", str(out), *command[1:]]) == 0
    assert out.read_bytes()[:4] == PNG
    assert main([command[0], str(conv_run), "-o", str(out)]) == 2
    assert f"ae {command[0]} needs a variational model" in capsys.readouterr().err


def test_manifold_needs_a_2d_latent(conv_vae_run, tmp_path, capsys):
    assert main(["manifold", str(conv_vae_run), "-o", str(tmp_path / "m.png")]) == 2
    err = capsys.readouterr().err
    assert "needs a 2-D latent" in err and "has 3 dimensions" in err


def test_likelihood_json(vae_run, conv_vae_run, conv_run, capsys):
    capsys.readouterr()
    for run in (vae_run, conv_vae_run):
        assert main(["likelihood", str(run), "--k", "20", "--limit", "50", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["n"] == 50 and report["k"] == 20 and report["elbo"] < 0
        assert report["iw_bound"] > report["elbo"] - 5 and 0 <= report["active_units"] <= report["latent_size"]
        assert json.loads((run / "likelihood.json").read_text()) == report
    assert main(["likelihood", str(conv_run), "--k", "2"]) == 2
    assert "needs a variational model" in capsys.readouterr().err


def write_png(path, pixels):
    Image.fromarray(pixels.astype(np.uint8)).save(path)


def test_denoise_npy_image_and_folder_keep_their_form(conv_run, tmp_path):
    rng = np.random.default_rng(0)
    batch = rng.random((5, 8, 8), dtype=np.float32)
    np.save(tmp_path / "in.npy", batch)
    assert main(["denoise", str(conv_run), str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy")]) == 0
    out = np.load(tmp_path / "out.npy")
    assert out.shape == (5, 8, 8) and out.dtype == np.float32 and 0 <= out.min() <= out.max() <= 1
    write_png(tmp_path / "one.png", rng.integers(0, 256, (8, 8)))
    assert main(["denoise", str(conv_run), str(tmp_path / "one.png"), "-o", str(tmp_path / "one_out.png")]) == 0
    assert Image.open(tmp_path / "one_out.png").size == (8, 8)
    (tmp_path / "folder").mkdir()
    for name in ("a.png", "b.png"):
        write_png(tmp_path / "folder" / name, rng.integers(0, 256, (8, 8, 3)))  # RGB: made grey
    assert main(["denoise", str(conv_run), str(tmp_path / "folder"), "-o", str(tmp_path / "clean"),
                 "--figure", str(tmp_path / "fig.png")]) == 0
    assert sorted(p.name for p in (tmp_path / "clean").iterdir()) == ["a.png", "b.png"]
    assert (tmp_path / "fig.png").read_bytes()[:4] == PNG


def test_denoise_figure_of_the_runs_own_noisy_split(conv_run, tmp_path):
    assert main(["denoise", str(conv_run), "--figure", str(tmp_path / "d.png"), "--n", "4"]) == 0
    assert (tmp_path / "d.png").read_bytes()[:4] == PNG


def bad_input(folder, kind):
    """A file `ae denoise` must refuse, by kind; returns its path."""
    if kind == "big.png":
        write_png(folder / kind, np.zeros((10, 12)))
    elif kind == "bad.npy":
        np.save(folder / kind, np.zeros((3, 7, 7)))
    elif kind == "x.txt":
        (folder / kind).write_text("hi")
    return folder / kind


@pytest.mark.parametrize("kind,needle", [
    ("big.png", "big.png: image is 10x12"),
    ("bad.npy", "bad.npy: array of shape (3, 7, 7)"),
    ("x.txt", "x.txt: unsupported input"),
    ("missing.png", "missing.png: no such file"),
])
def test_denoise_errors_name_the_file(kind, needle, conv_run, tmp_path, capsys):
    source = bad_input(tmp_path, kind)
    assert main(["denoise", str(conv_run), str(source), "-o", str(tmp_path / "o.png")]) == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize("argv,needle", [
    (["codes", "--n", "0"], "argument --n: must be a positive integer, got 0"),
    (["denoise", "--n", "0", "--figure", "{tmp}/f.png"], "argument --n: must be a positive integer, got 0"),
    (["sample", "--n", "0"], "argument --n: must be a positive integer, got 0"),
    (["latent", "--n", "0"], "argument --n: must be a positive integer, got 0"),
    (["manifold", "--n", "0"], "argument --n: must be a positive integer, got 0"),
    (["interpolate", "--steps", "-1"], "argument --steps: must be a positive integer, got -1"),
    (["interpolate", "--pair", "0", "-1"], "argument --pair: must be an integer >= 0, got -1"),
    (["likelihood", "--limit", "0"], "argument --limit: must be a positive integer, got 0"),
    (["likelihood", "--limit", "-5"], "argument --limit: must be a positive integer, got -5"),
    (["likelihood", "--batch-size", "0"], "argument --batch-size: must be a positive integer, got 0"),
    (["likelihood", "--k", "0"], "argument --k: must be a positive integer, got 0"),
    (["likelihood", "--chunk", "0"], "argument --chunk: must be a positive integer, got 0"),
    (["sample", "--seed", "-1"], "argument --seed: must be in 0.."),
])
def test_numbers_are_checked_while_parsing(argv, needle, run_dir, tmp_path, capsys, exit_code):
    command, *rest = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    output = [] if command in ("denoise", "likelihood") else ["-o", str(tmp_path / "out.png")]
    assert exit_code([command, str(run_dir), *rest, *output]) == 2
    assert needle in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
