"""Contract tests over the registry: every model obeys the same rules (timm's test_models.py)."""

import dataclasses
import json

import pytest
import torch

from autoencoders.cli import main
from autoencoders.errors import ConfigError
from autoencoders.evaluation.likelihood import is_variational
from autoencoders.models import AutoencoderProtocol, Output, VariationalProtocol
from autoencoders.registry import create_model, example_shape, list_models, register_model
from autoencoders.specs import ModelSpec, option
from autoencoders.training.checkpoint import load_weights, save_weights

MODELS = list_models()


def build(name, seed=0):
    torch.manual_seed(seed)
    shape = example_shape(name)
    return create_model(name, shape), torch.rand(4, *shape, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", MODELS)
def test_shapes_and_finite_loss(name):
    model, x = build(name)
    out = model(x)
    assert isinstance(out, Output)
    assert out.recon.shape == x.shape
    assert 0 <= out.recon.min() and out.recon.max() <= 1
    assert out.z.shape[0] == 4
    assert model.encode(x).shape == out.z.shape
    assert model.decode(model.encode(x)).shape == x.shape
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert "recon" in out.terms
    assert all(torch.isfinite(v) for v in out.terms.values())


@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_gets_a_gradient(name):
    model, x = build(name)
    model(x).loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


@pytest.mark.parametrize("name", MODELS)
def test_one_step_changes_weights_and_lowers_loss_on_batch(name):
    model, x = build(name)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss(grad: bool = False):  # the same draws each time: a VAE samples its code in training
        torch.manual_seed(0)
        with torch.set_grad_enabled(grad):
            return model(x).loss

    loss0 = float(loss())
    loss(grad=True).backward()
    opt.step()
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert len(changed) == len(before)
    assert float(loss()) < loss0


@pytest.mark.parametrize("name", MODELS)
def test_save_load_round_trip(name, tmp_path):
    model, x = build(name)
    save_weights(tmp_path / "m.safetensors", model, {"model": name})
    other, _ = build(name, seed=123)
    weights, meta = load_weights(tmp_path / "m.safetensors")
    other.load_state_dict(weights)
    model.eval(), other.eval()
    assert torch.equal(model.encode(x), other.encode(x))
    assert not any(k.startswith(("module.", "_orig_mod.")) for k in weights)
    assert meta["model"] == f'"{name}"'


@pytest.mark.parametrize("name", MODELS)
def test_honours_the_protocol(name):
    model, x = build(name)
    assert isinstance(model, AutoencoderProtocol)
    assert tuple(model.input_shape) == tuple(x.shape[1:]) and model.loss_kind in ("bce", "mse")
    assert model.decode_logits(model.encode(x)).shape == x.shape
    if isinstance(model, VariationalProtocol):
        mu, logvar = model.posterior(x)
        assert mu.shape == logvar.shape == (4, model.latent_size)
        assert model.log_likelihood(x, model.decode_logits(mu)).shape == (4,)
        assert model.sample_prior(3).shape == (3, model.latent_size)
    assert is_variational(model) == ("vae" in name)


@pytest.mark.parametrize("name", MODELS)
def test_passes_the_check_run_on_users_own_modules(name):
    """training/contract.py refuses nothing the registry builds (the check must never be stricter than the contract)."""
    from autoencoders.data import as_source
    from autoencoders.training.contract import check_module

    model, x = build(name)
    check_module(model, as_source(x), as_source(x), precision="bf16" if name == "dense" else "fp32")


@pytest.fixture
def registry_copy(monkeypatch):
    """Registrations in a test vanish after it: the registry's tables are replaced by copies."""
    from autoencoders import registry

    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    return registry


@dataclasses.dataclass(frozen=True)
class OutsideOptions:
    width: int = option(12, "units of the outside model's code", minimum=1)


OUTSIDE = ModelSpec("outside-test", OutsideOptions, "A model registered from outside the package.")


def test_a_model_from_outside_the_package_gets_flags_and_trains(registry_copy, tmp_path, capsys):
    @register_model(OUTSIDE)
    def outside(input_shape, o):
        return create_model("dense", input_shape, code_size=o.width)

    assert register_model(OUTSIDE)(outside) is outside  # the same pairing again is harmless
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--width N" in capsys.readouterr().out
    assert main(["train", "outside-test", "--data", "digits", "--epochs", "1", "--width", "5", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["options"] == {"width": 5}
    with pytest.raises(ConfigError, match="twice"):
        register_model(OUTSIDE)(lambda input_shape, o: None)


@pytest.mark.parametrize("name, hint, needle", [
    ("epochs", int, "name of a data or training setting"),
    ("seed", int, "name of a data or training setting"),
    ("code_size", str, "option 'code_size' is typed"),
])
def test_an_option_that_would_be_misrouted_is_refused_at_registration(registry_copy, name, hint, needle):
    options = dataclasses.make_dataclass("Clash", [(name, hint, option(hint(1), "help"))], frozen=True)
    with pytest.raises(ConfigError, match=needle):
        register_model(ModelSpec("clash-test", options, "clashes"))(lambda input_shape, o: None)
    assert "clash-test" not in list_models()


def test_unknown_model_and_option_suggest_nearest():
    from autoencoders.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean 'dense'"):
        create_model("dens", (1, 8, 8))
    with pytest.raises(ConfigError, match="did you mean 'code_size'"):
        create_model("dense", (1, 8, 8), code_sise=4)
