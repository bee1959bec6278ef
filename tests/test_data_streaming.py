"""Data that does not fit: memory-mapped .npy and image folders streamed; 8-bit data kept as uint8."""

import numpy as np
import pytest
import torch

import autoencoders as ae
from autoencoders.config import DataConfig
from autoencoders.data import NpyRows, Resident, load_dataset
from autoencoders.data.batches import as_float, compact
from autoencoders.data.splits import load_run_data, should_stream

FAST = dict(epochs=2, batch_size=32, validation="0.2", quiet=True)


@pytest.fixture(scope="module")
def npy(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("npy") / "pixels.npy"
    np.save(path, rng.integers(0, 256, size=(200, 8, 8), dtype=np.uint8))
    return path


def test_8bit_data_is_kept_as_uint8_and_converted_exactly():
    x = torch.from_numpy(np.arange(256, dtype=np.uint8).reshape(4, 1, 8, 8)).float().div_(255.0)
    small = compact(x)
    assert small.dtype == torch.uint8 and torch.equal(as_float(small), x)
    digits = load_dataset("digits", "train").images  # sixteenths: not 8-bit
    assert compact(digits).dtype == torch.float32
    assert Resident(x).x.dtype == torch.uint8


def test_memory_budget_chooses_the_path(npy):
    assert should_stream(DataConfig(name=str(npy), memory_budget=1e-6))
    assert not should_stream(DataConfig(name=str(npy), memory_budget=1.0))
    assert not should_stream(DataConfig(name="digits", memory_budget=1e-6))  # built-ins always fit
    assert should_stream(DataConfig(name=str(npy), stream=True, memory_budget=1.0))
    data = load_run_data(DataConfig(name=str(npy), validation="0.2", stream=True), "cpu", 0)
    assert isinstance(data.train.dataset, NpyRows) and len(data.train) == 160 and len(data.val) == 40


def test_streamed_npy_trains_as_the_resident_copy(npy):
    opts = dict(FAST, noise="gaussian:0.3", code_size=4)
    resident = ae.train("dense", data=str(npy), stream=False, **opts)
    streamed = ae.train("dense", data=str(npy), stream=True, **opts)
    assert [r["train"] for r in resident.history] == [r["train"] for r in streamed.history]
    clean = dict(FAST, code_size=4, binarize="dynamic")
    a = ae.train("dense", data=str(npy), stream=False, **clean).history
    b = ae.train("dense", data=str(npy), stream=True, **clean).history
    assert [r["train"] for r in a] == [r["train"] for r in b]


def test_fixed_noise_streams_one_copy_per_sample(npy):
    from autoencoders.data import Streamed
    from autoencoders.data.batches import Presentation, generator
    from autoencoders.data.noise import parse_noise

    source = Streamed(NpyRows(npy), Presentation(parse_noise("gaussian:0.5"), noise_fixed=True), workers=0)
    first = [b.input for b in source.epoch(generator("cpu", 1), 50, 4)]
    again = [b.input for b in source.epoch(generator("cpu", 1), 50, 4)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_image_folder_streams(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / label / f"{i}.png")
    run = ae.train("dense", data=str(tmp_path), stream=True, code_size=4, **FAST)
    resident = ae.train("dense", data=str(tmp_path), stream=False, code_size=4, **FAST)
    assert [r["train"] for r in run.history] == [r["train"] for r in resident.history]


def test_run_split_is_loaded_once_per_run(monkeypatch):
    from autoencoders import api

    run = ae.train("dense", data="digits", epochs=1, limit=64, quiet=True)
    calls = []
    real = api.load_split
    monkeypatch.setattr(api, "load_split", lambda *a: calls.append(a) or real(*a))
    assert run.split("test") is run.split("test") and len(calls) == 1


def test_cli_stream_flag_and_refusals(npy, tmp_path):
    import json

    from autoencoders.cli import main
    from autoencoders.errors import ConfigError

    out = tmp_path / "run"
    assert main(["train", "dense", "--data", str(npy), "--validation", "0.2", "--stream", "true", "--epochs", "1",
                 "--code-size", "4", "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["data"]["stream"] is True
    with pytest.raises(ConfigError, match="stream=True needs"):
        should_stream(DataConfig(name="digits", stream=True))
