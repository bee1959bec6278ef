"""The VAEs: the loss is the ELBO's (summed BCE + analytic KL), presets match their papers."""

import pytest
import torch
from torch import nn
from torch.distributions import Normal, kl_divergence
from torch.nn import functional as F

from autoencoders.errors import ConfigError
from autoencoders.models.variational import gaussian_kl
from autoencoders.registry import create_model
from autoencoders.viz.latent import prior_grid


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(16, 5, generator=g) * 2, torch.randn(16, 5, generator=g)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    assert torch.allclose(gaussian_kl(mu, logvar), expected, atol=1e-5)


def test_loss_is_summed_bce_plus_beta_kl_and_bce_pixel_is_reported():
    torch.manual_seed(0)
    model = create_model("vae", (1, 28, 28), beta=0.5)
    x = torch.rand(8, 1, 28, 28)
    model.eval()  # z = mu: the terms can be recomputed exactly
    out = model(x)
    mu, logvar = model.posterior(x)
    bce = F.binary_cross_entropy_with_logits(model.decode_logits(mu), x, reduction="sum") / 8
    kl = gaussian_kl(mu, logvar).sum() / 8
    assert torch.allclose(out.terms["recon"], bce) and torch.allclose(out.terms["kl"], kl)
    assert torch.allclose(out.loss, bce + 0.5 * kl)
    assert torch.allclose(out.terms["bce_pixel"], bce / 784)
    assert not out.terms["bce_pixel"].requires_grad  # reported, never optimized


def test_training_samples_z_from_the_global_rng_and_eval_uses_the_mean():
    model = create_model("conv-vae", (1, 8, 8))
    x = torch.rand(4, 1, 8, 8)
    torch.manual_seed(1)
    a = model(x).z
    torch.manual_seed(1)
    b = model(x).z
    assert torch.equal(a, b) and not torch.equal(a, model(x).z)
    model.eval()
    assert torch.equal(model(x).z, model.encode(x))
    assert torch.equal(model(x).logits, model(x).logits)


def test_article_vae_and_burda_preset_architectures():
    article = create_model("vae", (1, 28, 28))
    linears = [m for m in article.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 256), (256, 2), (256, 2), (2, 256), (256, 784)]
    assert not any(isinstance(m, nn.Tanh) for m in article.modules())
    burda = create_model("vae-burda", (1, 28, 28))
    assert [m.out_features for m in burda.body.modules() if isinstance(m, nn.Linear)] == [200, 200]
    assert burda.latent_size == 50 and burda.mu.in_features == 200
    assert [m.out_features for m in burda.decoder if isinstance(m, nn.Linear)] == [200, 200, 784]
    assert sum(isinstance(m, nn.Tanh) for m in burda.modules()) == 4


def test_latent_size_configurable_and_bad_values_rejected():
    assert create_model("vae", (1, 8, 8), latent_size=7).encode(torch.rand(2, 1, 8, 8)).shape == (2, 7)
    assert create_model("conv-vae", (3, 32, 32), latent_size=5).encode(torch.rand(2, 3, 32, 32)).shape == (2, 5)
    with pytest.raises(ConfigError, match="latent_size"):
        create_model("vae", (1, 8, 8), latent_size=0)
    with pytest.raises(ConfigError, match="did you mean 'tanh'"):
        create_model("vae-burda", (1, 8, 8), activation="tahn")
    with pytest.raises(ConfigError, match=r"\(8, 8\)"):
        create_model("conv-vae", (8, 8))


def test_prior_samples_and_quantile_grid():
    model = create_model("vae", (1, 8, 8), latent_size=3)
    z = model.sample_prior(5, torch.Generator().manual_seed(0))
    assert z.shape == (5, 3)
    grid = prior_grid(5)
    assert grid.shape == (25, 2)
    assert torch.allclose(grid[:5, 0], -grid[:5, 0].flip(0), atol=1e-6)  # symmetric quantiles
    assert grid[0, 1] > 0 > grid[-1, 1]  # top row: largest z2, as the scatter's y axis
    assert grid.abs().max() == pytest.approx(1.6449, abs=1e-3)  # the 5% / 95% quantiles, not 0.15
