"""The sequence autoencoders (lstm, gru): shapes, outputs, and the CLI on sine waves and digit rows."""

import json

import numpy as np
import pytest
import torch

from autoencoders.cli import main
from autoencoders.errors import ConfigError
from autoencoders.registry import create_model
from autoencoders.viz.latent import sequence_reconstructions


def sines(n=96, steps=20, features=2, *, unit=True, seed=0):
    """(n, steps, features) sine waves with random phases and frequencies; in [0, 1] if `unit`."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, features))
    freq = rng.uniform(0.2, 0.6, (n, 1, features))
    x = np.sin(freq * t + phase)
    return (0.5 + 0.5 * x if unit else x).astype(np.float32)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_code_is_the_encoders_last_output_and_shapes_round_trip(name):
    torch.manual_seed(0)
    model = create_model(name, (20, 3), code_size=16)
    x = torch.rand(5, 20, 3)
    out = model(x)
    assert out.z.shape == (5, 16) and out.logits.shape == (5, 20, 3)
    steps, _ = model.encoder(x)
    assert torch.equal(out.z, steps[:, -1])
    assert torch.allclose(model.decode(out.z), out.recon)


def test_linear_output_reconstructs_real_values_with_mse():
    model = create_model("lstm", (20, 1), output_activation="linear")
    x = torch.from_numpy(sines(4, features=1, unit=False))
    out = model(x)
    assert model.output_space == out.space == "real" and out.recon is out.logits
    assert torch.allclose(out.loss, ((out.logits - x) ** 2).mean())
    assert torch.equal(model.decode(out.z), out.logits)


def test_bad_options_and_shapes_are_clear_errors():
    with pytest.raises(ConfigError, match="needs loss='mse'"):
        create_model("gru", (20, 1), output_activation="linear", loss="bce")
    with pytest.raises(ConfigError, match="did you mean 'linear'"):
        create_model("gru", (20, 1), output_activation="lineer")
    with pytest.raises(ConfigError, match=r"\(1, 28, 28\).*--as-sequence"):
        create_model("lstm", (1, 28, 28))


def train_and_evaluate(tmp_path, capsys, args, split="test"):
    out = tmp_path / "run"
    assert main(["train", *args, "--epochs", "2", "--batch-size", "32", "--out", str(out), "--quiet"]) == 0
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    capsys.readouterr()
    assert main(["evaluate", str(out), "--split", split, "--json"]) == 0
    return history, json.loads(capsys.readouterr().out)


def test_lstm_on_sine_waves_end_to_end(tmp_path, capsys):
    np.save(tmp_path / "sines.npy", sines())
    history, metrics = train_and_evaluate(
        tmp_path, capsys, ["lstm", "--data", str(tmp_path / "sines.npy"), "--as-sequence",
                           "--validation", "0.25", "--code-size", "16", "--lr", "0.01"], split="train")
    assert history[-1]["train"]["loss"] < history[0]["train"]["loss"]
    assert metrics["n"] == 96 and np.isfinite(metrics["mse"])


def test_gru_linear_output_trains_on_real_valued_series(tmp_path):
    np.save(tmp_path / "sines.npy", sines(unit=False))
    out = tmp_path / "run"
    assert main(["train", "gru", "--data", str(tmp_path / "sines.npy"), "--as-sequence", "--validation", "0.25",
                 "--output-activation", "linear", "--code-size", "8", "--epochs", "2", "--out", str(out),
                 "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["model"]["options"]["output_activation"] == "linear"


def test_gru_on_digit_rows_end_to_end(tmp_path, capsys):
    history, metrics = train_and_evaluate(
        tmp_path, capsys, ["gru", "--data", "digits", "--as-sequence", "--code-size", "16", "--limit", "256"])
    assert metrics["n"] == 360 and 0 < metrics["bce"] < 0.7
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["as_sequence"] is True
    codes = tmp_path / "codes.npy"
    assert main(["encode", str(tmp_path / "run"), "-o", str(codes)]) == 0
    assert np.load(codes).shape == (360, 16)


@pytest.mark.parametrize("features,kind", [(1, "lines"), (8, "images")])
def test_sequence_figure_is_images_for_rows_and_lines_for_series(features, kind):
    x = torch.rand(3, 8, features)
    fig = sequence_reconstructions(x, x.flip(1), n=3)
    axes = fig.get_axes()
    assert (len(axes[0].get_lines()) > 0) == (kind == "lines")
    assert (len(axes[0].get_images()) > 0) == (kind == "images")
