"""api.load_run on run folders someone else wrote: a config.json is data, never code or a destination."""

import json
import shutil
import sys

import numpy as np
import pytest
import torch

import autoencoders as ae
from autoencoders.cli import main
from autoencoders.data import load_dataset
from autoencoders.errors import ConfigError
from own_module import TinyAE

FAST = dict(epochs=1, lr=3e-3, batch_size=64, quiet=True)


@pytest.fixture
def run(run_dir, tmp_path):
    return shutil.copytree(run_dir, tmp_path / "run")


def _craft(run, **model):
    path = run / "config.json"
    config = json.loads(path.read_text())
    config["model"].update(model)
    path.write_text(json.dumps(config))


def _evil_module(folder, marker):
    """A module file whose import alone (its top-level code) leaves `marker`."""
    (folder / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass AE:\n    pass\n")


CRAFTED = [
    ("subprocess:Popen", lambda m: {"args": ["touch", str(m)]}),
    ("os:system", lambda m: {"command": f"touch {m}"}),
    ("evilmod:AE", lambda m: {}),
    ("evilmod:Missing", lambda m: {}),
]


@pytest.mark.parametrize("name, options", CRAFTED, ids=[c[0] for c in CRAFTED])
def test_a_crafted_config_naming_a_callable_runs_nothing(name, options, run, tmp_path, monkeypatch, capsys):
    marker = tmp_path / "PWNED"
    _evil_module(run, marker)  # a module file beside the run, importable from the current folder
    monkeypatch.chdir(run)
    monkeypatch.syspath_prepend(str(run))
    _craft(run, name=name, options=options(marker))
    with pytest.raises(ConfigError, match="never makes the toolkit import code") as e:
        ae.load_run(run)
    assert f"--trust-module {name}" in str(e.value) and "model=" in str(e.value)
    for command in (["evaluate", str(run)], ["encode", str(run), "-o", str(tmp_path / "z.npy")],
                    ["export", str(run), "-o", str(tmp_path / "m.onnx")], ["explore", str(run), "-o",
                    str(tmp_path / "e.html")], ["score", str(run), "digits"]):
        assert main(command) == 2, command
        assert "import code" in capsys.readouterr().err
    assert not marker.exists() and "evilmod" not in sys.modules


def test_trusting_another_class_imports_nothing(run, tmp_path, monkeypatch):
    marker = tmp_path / "PWNED"
    _evil_module(run, marker)
    monkeypatch.syspath_prepend(str(run))
    _craft(run, name="evilmod:AE", options={})
    with pytest.raises(ConfigError, match="not among the trusted"):
        ae.load_run(run, trust_module="tests.own_module:TinyAE")
    assert not marker.exists()


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    x = load_dataset("digits", "train").images[:128]
    out = tmp_path_factory.mktemp("own") / "run"
    torch.manual_seed(0)
    trained = ae.train(TinyAE(code=5), data=x, out=out, model_args={"code": 5}, **FAST)
    return out, trained, x


def test_your_own_module_loads_from_its_class_or_a_trusted_name(own_run):
    out, trained, x = own_run
    name = json.loads((out / "config.json").read_text())["model"]["name"]
    for loaded in (ae.load_run(out, model=TinyAE), ae.load_run(out, trust_module=name),
                   ae.load_run(out, trust_module=["x:Y", name]), ae.load_run(out, model=TinyAE(code=5))):
        assert torch.equal(loaded.encode(x[:4]), trained.encode(x[:4]))
    with pytest.raises(ConfigError, match="must be an nn.Module or its class"):
        ae.load_run(out, model="TinyAE")


def test_the_cli_loads_your_own_module_only_when_trusted(own_run, capsys):
    out, _, _ = own_run
    name = json.loads((out / "config.json").read_text())["model"]["name"]
    assert main(["encode", str(out), "--split", "train", "-o", str(out.parent / "z.npy")]) == 2
    assert f"--trust-module {name}" in capsys.readouterr().err


def test_a_crafted_data_dir_is_never_created_or_downloaded_into(run, tmp_path, capsys):
    path = run / "config.json"
    config = json.loads(path.read_text())
    target = tmp_path / "elsewhere" / "deep"
    config["data"].update(name="mnist", data_dir=str(target), offline=False)
    path.write_text(json.dumps(config))
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert "ae data fetch mnist" in err and "Traceback" not in err
    assert not (tmp_path / "elsewhere").exists()


def test_validation_fraction_as_a_float():
    """validation=0.1 in the Python API means what --validation 0.1 means (issue #20 item 6)."""
    config = ae.make_config("dense", "digits", validation=0.1)
    assert config.data.validation == "0.1"
    with pytest.raises(ConfigError, match="validation must be 'test' or a fraction in \\(0, 1\\), got '1.5'"):
        ae.make_config("dense", "digits", validation=1.5)


def test_a_registered_model_trains_on_your_own_arrays_and_its_run_loads(tmp_path):
    """A registered model on in-memory arrays takes its input shape from them (it used to look for a
    dataset named after the arrays' placeholder, 'array', and fail)."""
    rng = np.random.default_rng(0)
    x, val = rng.random((64, 1, 12, 12), dtype=np.float32), rng.random((16, 1, 12, 12), dtype=np.float32)
    run = ae.train("conv", data=x, val=val, out=tmp_path / "run", epochs=1, batch_size=32, quiet=True)
    assert run.model.input_shape == (1, 12, 12)
    assert "val" in run.history[-1]
    again = ae.load_run(tmp_path / "run")
    torch.testing.assert_close(again.reconstruct(x[:4]), run.reconstruct(x[:4]))
    sequences = ae.train("lstm", data=rng.random((32, 5, 7), dtype=np.float32), epochs=1, quiet=True)
    assert sequences.model.input_shape == (5, 7)

@pytest.fixture(scope="module")
def digit_runs(tmp_path_factory):
    """A dense net, a conv denoiser and a VAE on digits, one epoch each, from their folders."""
    out = tmp_path_factory.mktemp("evaluated")
    specs = {"dense": dict(model="dense", code_size=8), "denoise": dict(model="conv", noise="gaussian:0.5"),
             "vae": dict(model="vae")}
    for name, spec in specs.items():
        ae.train(spec.pop("model"), "digits", out=out / name, **FAST, **spec)
    return {name: ae.load_run(out / name) for name in specs}


@pytest.mark.parametrize("name", ["dense", "denoise", "vae"])
def test_evaluate_reads_one_pass_and_its_numbers_are_those_of_separate_passes(digit_runs, name):
    # Run.evaluate used to run the model three times over the split (the loss, reconstruct, encode):
    # the one pass it keeps now (Run.outputs) must give exactly the numbers of those three
    from autoencoders.evaluation.metrics import code_stats, psnr, reconstruction_metrics, ssim
    from autoencoders.training.trainer import evaluate_loss

    run = digit_runs[name]
    inputs, targets, _ = run.split("test")
    old = {k if k == "loss" else f"loss_{k}": v for k, v in evaluate_loss(run.model, inputs, targets).items()}
    old.update(reconstruction_metrics(run.reconstruct(inputs), targets.cpu()))
    old.update(code_stats(run.encode(inputs)))
    if run.denoises:
        old.update(input_psnr=psnr(inputs.cpu().clamp(0, 1), targets.cpu()),
                   input_ssim=ssim(inputs.cpu().clamp(0, 1), targets.cpu()))
    new = run.evaluate("test")
    assert {k: new[k] for k in old} == old
    outputs = run.outputs("test")
    assert run.outputs("test") is outputs  # computed once per Run
    assert torch.equal(outputs.recon, run.reconstruct(inputs)) and torch.equal(outputs.codes, run.encode(inputs))
    x = inputs[:50].cpu()  # your own samples: scored as they are, and not kept
    mine = run.evaluate(x)
    assert mine["bce"] == reconstruction_metrics(run.reconstruct(x), x)["bce"] and mine["n"] == 50


@pytest.mark.parametrize("name, metric", [("dense", "bce"), ("denoise", "psnr"), ("vae", "elbo")])
def test_quality_of_the_kept_reconstructions_is_quality_of_a_new_pass(digit_runs, name, metric):
    from autoencoders.evaluation.quality import quality

    run = digit_runs[name]
    inputs, targets, _ = run.split("test")
    fresh = quality(run.model, inputs, targets, metric, seed=3)
    assert quality(run.model, inputs, targets, metric, seed=3, recon=run.outputs("test").recon) == fresh
    if metric != "elbo":  # the target reads the number Run.evaluate reports
        assert fresh == run.evaluate("test")[metric]


def test_forget_drops_what_a_run_kept_and_it_is_computed_again_the_same(digit_runs):
    run = digit_runs["denoise"]
    before = run.evaluate("test")
    run.forget()
    assert not run._splits and not run._outputs and run.data is None
    assert run.evaluate("test") == before
