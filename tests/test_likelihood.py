"""ELBO and importance-weighted bound against exact log-likelihoods on tiny models."""

import math

import pytest
import torch

from autoencoders.errors import ConfigError
from autoencoders.evaluation.likelihood import (
    active_units,
    elbo,
    importance_weighted_bound,
    kl_per_dim,
    likelihood_report,
    require_variational,
)
from autoencoders.models.variational import gaussian_kl
from autoencoders.registry import create_model


def tiny_vae(seed=0, latent=1):
    """A (1, 2, 2)-pixel VAE with a 1-D latent: log p(x) is computable by quadrature."""
    torch.manual_seed(seed)
    model = create_model("vae", (1, 2, 2), hidden=(6,), latent_size=latent).eval()
    with torch.no_grad():  # a posterior away from the prior, so the bounds are not trivially tight
        model.mu.bias.fill_(0.7)
        model.logvar.bias.fill_(0.5)  # wider than the posterior: light-tailed weights, L_k converges fast
    return model


def binary_images(n=32, seed=1):
    return torch.bernoulli(torch.full((n, 1, 2, 2), 0.5), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def exact_log_px(model, x, points=20001):
    """log p(x) = log of the integral of p(x|z) N(z; 0, 1) dz, by the rectangle rule on [-10, 10]."""
    z = torch.linspace(-10, 10, points).unsqueeze(1)
    logits = model.decode_logits(z)
    log_prior = -0.5 * (z[:, 0] ** 2 + math.log(2 * math.pi))
    dz = 20 / (points - 1)
    return torch.stack([torch.logsumexp(model.log_likelihood(xi.expand(points, *xi.shape), logits) + log_prior, 0)
                        for xi in x]) + math.log(dz)


def test_iw_bound_approaches_the_exact_log_likelihood_from_below():
    model, x = tiny_vae(), binary_images()
    exact = exact_log_px(model, x).mean()
    g = torch.Generator().manual_seed(0)
    lower = elbo(model, x, samples=200, generator=g).mean()
    iw = [importance_weighted_bound(model, x, k, chunk=37, generator=g).mean() for k in (1, 10, 1000)]
    assert lower < iw[1] < iw[2] <= exact + 0.01
    assert iw[2] == pytest.approx(exact.item(), abs=0.01)
    assert exact - lower > 0.05  # the test would be vacuous if q were the exact posterior


def test_iw_with_one_sample_is_the_elbo_in_expectation():
    model, x = tiny_vae(seed=3), binary_images(8).repeat(500, 1, 1, 1)
    g = torch.Generator().manual_seed(1)
    iw1 = importance_weighted_bound(model, x, 1, generator=g)
    one = elbo(model, x, generator=g)
    se = math.sqrt((iw1.var() + one.var()).item() / len(x))
    assert abs(iw1.mean() - one.mean()) < 4 * se


def test_bounds_are_exact_when_the_posterior_is_the_prior_and_the_decoder_ignores_z():
    model = tiny_vae(latent=3)
    with torch.no_grad():
        for head in (model.mu, model.logvar):
            head.weight.zero_(), head.bias.zero_()
        model.decoder[0].weight.zero_()
    x = binary_images(5)
    exact = model.log_likelihood(x, model.decode_logits(torch.zeros(5, 3)))
    for k, chunk in ((1, None), (50, 7), (300, None)):
        assert torch.allclose(importance_weighted_bound(model, x, k, batch_size=2, chunk=chunk), exact, atol=1e-4)
    assert torch.allclose(elbo(model, x, batch_size=3), exact, atol=1e-5)


def test_active_units_and_kl_per_dim():
    g = torch.Generator().manual_seed(0)
    mu = torch.stack([torch.randn(1000, generator=g), 0.5 * torch.randn(1000, generator=g),
                      0.01 * torch.randn(1000, generator=g)], 1)
    count, activity = active_units(mu)
    assert count == 2 and activity[0] == pytest.approx(1.0, abs=0.1) and activity[2] < 1e-2
    logvar = torch.full_like(mu, -0.5)
    assert torch.allclose(kl_per_dim(mu, logvar), gaussian_kl(mu, logvar).mean(0))


def test_report_is_seeded_and_complete():
    model, x = tiny_vae(latent=2), binary_images(10)
    a, b = likelihood_report(model, x, k=20, seed=5), likelihood_report(model, x, k=20, seed=5)
    assert a == b
    assert a["n"] == 10 and a["latent_size"] == 2 and len(a["kl_per_dim"]) == 2
    assert a["nll_iw"] == -a["iw_bound"] and a["iw_bound"] < 0


def test_non_variational_models_are_refused_clearly():
    with pytest.raises(ConfigError, match="ae likelihood needs a variational model.*'dense'"):
        require_variational(create_model("dense", (1, 8, 8)), "ae likelihood", "dense")
    with pytest.raises(ConfigError, match="needs a variational model"):
        importance_weighted_bound(create_model("conv", (1, 8, 8)), torch.rand(2, 1, 8, 8), 2)


def test_shared_draws_make_each_estimate_a_function_of_its_sample():
    """shared=True: the same eps for every sample, so an image's estimate is the same in any batch."""
    model, x = tiny_vae(latent=2), binary_images(12)
    seeded = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    for bound in (lambda xs, **kw: importance_weighted_bound(model, xs, 30, chunk=7, **kw),
                  lambda xs, **kw: elbo(model, xs, samples=3, **kw)):
        whole = bound(x, generator=seeded(), shared=True)
        assert torch.equal(whole, bound(x, generator=seeded(), shared=True))
        parts = torch.cat([bound(x[i : i + 5], batch_size=2, generator=seeded(), shared=True) for i in (0, 5, 10)])
        assert torch.allclose(parts, whole, rtol=1e-6)
        assert torch.allclose(bound(x.flip(0), generator=seeded(), shared=True), whole.flip(0), rtol=1e-6)
        assert not torch.allclose(bound(x[5:], generator=seeded()), whole[5:])  # independent draws: not so
