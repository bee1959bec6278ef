"""The article's dense presets: sizes, Keras-style initialization, the sparsity term."""

import math

import pytest
import torch

from autoencoders.errors import ConfigError
from autoencoders.registry import create_model


def linear_sizes(model):
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]


def test_article_sizes():
    assert linear_sizes(create_model("dense", (1, 28, 28))) == [(784, 32), (32, 784)]
    assert linear_sizes(create_model("deep", (1, 28, 28))) == [
        (784, 128), (128, 64), (64, 32), (32, 64), (64, 128), (128, 784)]
    assert linear_sizes(create_model("dense", (1, 8, 8), code_size=5)) == [(64, 5), (5, 64)]


def test_glorot_uniform_init_and_zero_bias():
    torch.manual_seed(0)
    layer = create_model("dense", (1, 28, 28)).encoder[0]
    bound = math.sqrt(6 / (784 + 32))
    assert layer.weight.abs().max() <= bound
    assert layer.weight.abs().max() > 0.9 * bound  # uniform over the whole Glorot range, not PyTorch's default
    assert torch.all(layer.bias == 0)


def test_sparse_penalty_is_weight_times_batch_mean_of_code_sum():
    torch.manual_seed(0)
    model = create_model("sparse", (1, 8, 8), code_size=4, activity_l1=0.5)
    x = torch.rand(6, 1, 8, 8)
    out = model(x)
    z = model.encode(x)
    assert torch.allclose(out.terms["l1"], 0.5 * z.abs().sum(1).mean())
    assert torch.allclose(out.loss, out.terms["recon"] + out.terms["l1"])
    assert "l1" not in create_model("dense", (1, 8, 8))(x).terms


def test_mse_loss_and_bad_values():
    model = create_model("dense", (1, 8, 8), loss="mse")
    x = torch.rand(3, 1, 8, 8)
    out = model(x)
    assert torch.allclose(out.terms["recon"], ((out.recon - x) ** 2).mean())
    with pytest.raises(ConfigError, match="did you mean 'bce'"):
        create_model("dense", (1, 8, 8), loss="bc")
    with pytest.raises(ConfigError, match="code_size"):
        create_model("dense", (1, 8, 8), code_size=0)


def test_bce_from_logits_matches_probability_bce():
    model = create_model("dense", (1, 8, 8))
    x = torch.rand(3, 1, 8, 8)
    out = model(x)
    ref = torch.nn.functional.binary_cross_entropy(out.recon, x)
    assert torch.allclose(out.terms["recon"], ref, atol=1e-6)


@pytest.mark.parametrize("hidden", [(), (128, 0), (-4,)])
def test_deep_needs_hidden_layers_from_any_caller(hidden):
    with pytest.raises(ConfigError, match="hidden"):
        create_model("deep", (1, 8, 8), hidden=hidden)
