"""A module that is not in the registry trains, saves, reloads, evaluates, scores and exports."""

import json

import numpy as np
import pytest
import torch

import autoencoders as ae
from autoencoders.data import load_dataset
from autoencoders.errors import ConfigError, DataError
from autoencoders.evaluation.anomaly import reconstruction_errors, roc_auc
from autoencoders.export import export_model
from autoencoders.models import AutoencoderProtocol, Output
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


class _Broken(TinyAE):
    """TinyAE with one thing wrong, chosen by `fault`: each case of the contract the check names."""

    def __init__(self, fault):
        super().__init__()
        self.fault = fault

    def decode_logits(self, z):
        logits = super().decode_logits(z)
        return logits.flatten(1) if self.fault == "flat logits" else logits

    def forward(self, x, target=None):
        out = super().forward(x, target)
        broken = {"tuple": lambda: (out.logits, out.loss), "dict": lambda: {"loss": out.loss},
                  "vector loss": lambda: Output(out.logits, out.z, out.loss.expand(3), out.terms),
                  "detached loss": lambda: Output(out.logits, out.z, out.loss.detach(), out.terms),
                  "float term": lambda: Output(out.logits, out.z, out.loss, {"recon": 0.5})}
        return broken.get(self.fault, lambda: out)()


class _NoParameters(torch.nn.Module):
    input_shape, loss_kind, output_space = (1, 8, 8), "bce", "probability"

    def encode(self, x):
        return x.flatten(1)

    def decode_logits(self, z):
        return z.view(-1, 1, 8, 8)

    def decode(self, z):
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x, target=None):
        logits = self.decode_logits(self.encode(x))
        return Output(logits, x, torch.nn.functional.binary_cross_entropy_with_logits(logits, x), {})


def _encode_is_none():
    module = TinyAE()
    module.encode = None
    return module


@pytest.mark.parametrize("make,match", [
    (lambda: _Broken("tuple"), r"_Broken.forward returned a tuple, which has no .loss"),
    (lambda: _Broken("dict"), r"_Broken.forward returned a dict"),
    (lambda: _Broken("vector loss"), r"_Broken.forward's loss is a tensor of shape \(3,\); it must be a scalar"),
    (lambda: _Broken("detached loss"), r"_Broken.forward's loss has no gradient"),
    (lambda: _Broken("float term"), r"_Broken.forward's terms\['recon'\] is a float"),
    (lambda: _Broken("flat logits"), r"_Broken.decode_logits\(z\) is a tensor of shape \(2, 64\); it must be \(2, 1"),
    (lambda: TinyAE().double(), r"TinyAE has float64 parameters \(enc.weight\); the trainer runs float32: call .float"),
    (lambda: TinyAE().bfloat16(), r"TinyAE has bfloat16 parameters \(enc.weight\)"),
    (_NoParameters, r"_NoParameters has no parameters"),
    (_encode_is_none, r"TinyAE does not honour the model contract .*: encode is None, not callable"),
])
def test_a_module_breaking_the_contract_is_named_before_the_run_folder_is_written(tmp_path, make, match):
    # Regression: each ended in a torch error deep in the trainer (AttributeError: 'tuple' object has no
    # attribute 'loss', "grad can be implicitly created only for scalar outputs", "mat1 and mat2 must have
    # the same dtype", ...), and encode = None said "missing " with nothing named.
    with pytest.raises(ConfigError, match=match):
        ae.train(make(), data=torch.rand(20, 1, 8, 8), out=tmp_path / "run", **FAST)
    assert not (tmp_path / "run").exists()  # not even the empty folder the claim made (it was left behind)
    (tmp_path / "mine").mkdir()
    with pytest.raises(ConfigError, match=match):
        ae.train(make(), data=torch.rand(20, 1, 8, 8), out=tmp_path / "mine", **FAST)
    assert (tmp_path / "mine").is_dir() and not (tmp_path / "mine" / "config.json").exists()  # yours stays


class _Items(torch.utils.data.Dataset):
    """A user's Dataset returning `items`, whose __len__ says `n` (default: how many there are)."""

    def __init__(self, items, n=None):
        self.items, self.n = items, n

    def __len__(self):
        return len(self.items) if self.n is None else self.n

    def __getitem__(self, i):
        return self.items[i]


_X = torch.rand(20, 1, 8, 8)
_NAN = torch.cat([_X[:5], torch.full((1, 1, 8, 8), float("nan")), _X[5:]])


@pytest.mark.parametrize("data,val,match", [
    (["a", "b"], None, r"training data holds strings"),
    ((x for x in _X), None, r"training data is a generator"),
    (None, None, r"training data is None"),
    (_Items([{"x": x} for x in _X]), None, r"training data item 0 is a dict \(keys x\)"),
    (_Items([]), None, r"training data is empty \(0 samples\)"),
    (_X[:0], None, r"training data is empty \(0 samples\)"),
    (_X, _X[:0], r"validation data is empty"),
    (_Items(list(_X), n=30), None, r"training data item 29 of 30 \(its len\(\)\) cannot be read: IndexError"),
    ([*_X[:3], torch.rand(1, 8, 7), *_X[4:]], None, r"training data sample 3 has shape \(1, 8, 7\), the first has"),
    (_Items([*_X[:3], torch.rand(1, 8, 7), *_X[4:]]), None, r"training data sample 3 has shape \(1, 8, 7\), the first"),
    (torch.rand(20, 1, 8, 7), None, r"training data has samples of shape \(1, 8, 7\), but TinyAE.input_shape is \(1"),
    (_X, torch.rand(5, 1, 8, 7), r"validation data has samples of shape \(1, 8, 7\)"),
    (_NAN, None, r"the training data holds non-finite values \(nan in sample 5, the first\)"),
    (_X, _NAN, r"the validation data holds non-finite values \(nan in sample 5"),
])
def test_data_unlike_the_contract_is_named(data, val, match):
    # Regression: TypeErrors from torch.as_tensor, IndexErrors and "stack expects each tensor to be equal
    # size" mid-epoch, "mat1 and mat2 shapes cannot be multiplied"; empty data trained "one epoch" with an
    # empty loss, and NaN in validation data was recorded as a NaN validation loss.
    with pytest.raises(DataError, match=match):
        ae.train(TinyAE(), data=data, val=val, **FAST)


def test_the_contract_check_leaves_weights_statistics_modes_and_rng_alone():
    from autoencoders.data import as_source
    from autoencoders.training.contract import check_module

    class Noisy(TinyAE):  # BatchNorm statistics and dropout draws: what a training-mode forward would change
        def __init__(self):
            super().__init__()
            self.norm, self.drop = torch.nn.BatchNorm1d(6), torch.nn.Dropout(0.5)

        def encode(self, x):
            return self.drop(self.norm(super().encode(x)))

    module = Noisy()
    module.norm.eval()  # a part the user froze stays frozen
    before = {k: v.clone() for k, v in module.state_dict().items()}
    rng = torch.get_rng_state()
    check_module(module, as_source(_Items(list(_X))))  # streamed: its DataLoader draws a seed from the global RNG
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)
    assert module.training and module.drop.training and not module.norm.training


def test_nan_in_streamed_data_is_blamed_on_the_data_not_the_learning_rate():
    # Regression: "non-finite loss ... Try a lower --lr", and a NaN validation loss recorded:
    # streamed data is not scanned before training.
    with pytest.raises(DataError, match=r"training data holds NaN or inf values: they made the loss non-finite "
                                        r"at epoch 1, batch 1; training stopped and no checkpoint was written"):
        ae.train(TinyAE(), data=_Items(list(_NAN)), **FAST)
    with pytest.raises(DataError, match=r"the validation data holds NaN or inf values \(sample 5, the first\)"):
        ae.train(TinyAE(), data=_X, val=_Items(list(_NAN)), **FAST)
