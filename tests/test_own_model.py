"""A module that is not in the registry trains, saves, reloads, evaluates, scores and exports."""

import json

import numpy as np
import pytest
import torch

import autoencoders as ae
from autoencoders.data import load_dataset
from autoencoders.errors import ConfigError
from autoencoders.evaluation.anomaly import reconstruction_errors, roc_auc
from autoencoders.export import export_model
from autoencoders.models import AutoencoderProtocol
from autoencoders.training.checkpoint import load_weights
from own_module import TinyAE

FAST = dict(epochs=3, batch_size=32, lr=3e-3, quiet=True)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train").images, load_dataset("digits", "test").images


def test_own_module_end_to_end(tmp_path, digits):
    x, x_test = digits
    assert isinstance(TinyAE(), AutoencoderProtocol)
    run = ae.train(TinyAE(code=6), data=x, val=x_test, out=tmp_path / "run", model_args={"code": 6}, **FAST)
    assert run.history[-1]["val"]["loss"] < run.history[0]["val"]["loss"]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["name"] == "own_module:TinyAE" and config["model"]["input_shape"] == [1, 8, 8]
    loaded = ae.load_run(tmp_path / "run", model=TinyAE)  # built with the recorded model_args
    assert torch.equal(loaded.encode(x_test), run.encode(x_test))
    result = loaded.evaluate(x_test)
    assert result["loss"] == pytest.approx(run.history[-1]["val"]["loss"], rel=1e-5)
    scores = reconstruction_errors(loaded.model, x_test)
    assert scores.shape == (360,) and roc_auc(scores, reconstruction_errors(loaded.model, 1 - x_test)) > 0.5
    pytest.importorskip("onnxruntime")
    assert export_model(loaded, tmp_path / "tiny.onnx").stat().st_size > 0


def test_own_module_without_args_needs_the_module_to_load(tmp_path, digits):
    x, _ = digits
    ae.train(TinyAE(code=5), data=x[:64], out=tmp_path / "run", **dict(FAST, epochs=1))
    with pytest.raises(ConfigError, match=r"model=TinyAE\(\.\.\.\)"):
        ae.load_run(tmp_path / "run", model=TinyAE)  # no model_args recorded: TinyAE() has code=6, weights 5
    run = ae.load_run(tmp_path / "run", model=TinyAE(code=5))
    assert run.encode(x[:3]).shape == (3, 5)
    with pytest.raises(ConfigError, match="in-memory"):
        run.evaluate("test")


def test_own_module_resumes_exactly_and_on_a_named_dataset(tmp_path, digits):
    x, _ = digits
    opts = dict(FAST, epochs=4, noise="gaussian:0.3", seed=3)
    torch.manual_seed(0)
    ae.train(TinyAE(), data=x, out=tmp_path / "full", **opts)
    torch.manual_seed(0)
    ae.train(TinyAE(), data=x, out=tmp_path / "part", **dict(opts, epochs=2))
    ae.train(TinyAE(), data=x, out=tmp_path / "part", resume=True, **opts)
    a, meta = load_weights(tmp_path / "full" / "model.safetensors")
    b, _ = load_weights(tmp_path / "part" / "model.safetensors")
    assert meta["epoch"] == "4" and all(torch.equal(a[k], b[k]) for k in a)
    named = ae.train(TinyAE(), data="digits", limit=64, **dict(FAST, epochs=1))
    assert "val" in named.history[0]


def test_module_breaking_the_contract_is_refused():
    with pytest.raises(ConfigError, match="encode"):
        ae.train(torch.nn.Linear(3, 3), data=np.zeros((4, 3), np.float32))


def test_torch_dataset_streams_and_equals_the_resident_path(digits):
    x, _ = digits
    opts = dict(FAST, epochs=2, noise="masking:0.2", binarize="dynamic")
    torch.manual_seed(0)
    resident = ae.train(TinyAE(), data=x, val=x[:50], **opts)
    torch.manual_seed(0)
    streamed = ae.train(TinyAE(), data=torch.utils.data.TensorDataset(x), val=x[:50], **opts)
    assert resident.history[-1]["train"] == streamed.history[-1]["train"]  # the same batches, bitwise
    assert all(torch.equal(a, b) for a, b in zip(resident.model.parameters(), streamed.model.parameters()))
