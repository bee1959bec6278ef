"""Log-likelihood bounds of variational autoencoders, in nats per image.

- `elbo`: E_q[log p(x|z)] (Monte Carlo) - KL(q(z|x) || p(z)) (analytic), Kingma & Welling 2014.
- `importance_weighted_bound`: L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)], z_i ~ q(z|x)
  (Burda et al. 2015, https://arxiv.org/abs/1509.00519, eq. 8). L_1 = ELBO in expectation,
  L_k grows with k towards log p(x); the literature reports -L_5000 on the test set as "NLL"
  (Burda's VAE, 784-200-200-50 on dynamically binarized MNIST: 86.76).
- `active_units`: Burda's criterion A_u = Cov_x(E_q[u]) > 1e-2, and the KL per latent unit.

Any model honouring `models.base.VariationalProtocol` works: `posterior(x) -> (mu, logvar)`,
`decode_logits(z)`, `log_likelihood(x, logits) -> (B,)`, `sample_prior` and `latent_size`, with
the prior N(0, I). The k samples
are drawn `chunk` at a time and folded in with a running logsumexp, so memory stays at about
batch_size * chunk decoded images whatever k is (k = 5000 on 10000 MNIST images is fine).

`shared=True` draws the standard normals eps once and uses the same ones for every sample
(z = mu(x) + sigma(x) eps, common random numbers): each sample's estimate is still over k
independent draws, and it is a fixed function of the sample alone, whatever batch or position
it is scored in, which an anomaly score needs (evaluation/detection.py's "elbo" and "iw").
"""

from __future__ import annotations

import math

import torch

from ..data import EVAL_BATCH
from ..errors import ConfigError
from ..models.base import VariationalProtocol
from ..models.variational import gaussian_kl

_LOG_2PI = math.log(2 * math.pi)
ROWS_PER_PASS = 4096  # decoded images per decoder call when `chunk` is not given


def is_variational(model) -> bool:
    """True for models honouring VariationalProtocol (any such module, registered or not)."""
    return isinstance(model, VariationalProtocol)


def require_variational(model, what: str, name: str | None = None) -> None:
    """A ConfigError naming `what` was asked and which model (`name`, else its class) cannot do it."""
    if not is_variational(model):
        raise ConfigError(f"{what} needs a variational model (VariationalProtocol: the VAEs of `ae models`); "
                          f"'{name or type(model).__name__}' has no posterior q(z|x)")


@torch.no_grad()
def elbo(model, x: torch.Tensor, *, samples: int = 1, batch_size: int = 500,
         generator: torch.Generator | None = None, shared: bool = False) -> torch.Tensor:
    """x : (N, *input_shape) -> (N,) ELBO per image in nats (`samples` draws for the likelihood term;
    `shared`: the same draws of eps for every image, see the module's docstring)."""
    require_variational(model, "elbo")
    model.eval()
    out, common = [], None
    for xb in _batches(model, x, batch_size):
        mu, logvar = model.posterior(xb)
        if shared and common is None:
            common = _normals((samples, 1, *mu.shape[1:]), generator, mu)
        draw = (lambda i: _sample(mu, logvar, generator)[0]) if common is None else (
            lambda i: mu + torch.exp(0.5 * logvar) * common[i])
        lp = sum(model.log_likelihood(xb, model.decode_logits(draw(i))) for i in range(samples)) / samples
        out.append((lp - gaussian_kl(mu, logvar).sum(1)).cpu())
    return torch.cat(out)


@torch.no_grad()
def importance_weighted_bound(model, x: torch.Tensor, k: int = 5000, *, batch_size: int = 100,
                              chunk: int | None = None, generator: torch.Generator | None = None,
                              shared: bool = False) -> torch.Tensor:
    """x : (N, *input_shape) -> (N,) L_k per image in nats; `chunk` samples per decoder pass;
    `shared`: the same k draws of eps for every image (see the module's docstring)."""
    require_variational(model, "the importance-weighted bound")
    if isinstance(k, bool) or int(k) != k or int(k) < 1:
        raise ConfigError(f"k (importance samples) must be a positive integer, got {k!r}")
    k = int(k)
    model.eval()
    out, common = [], None
    for xb in _batches(model, x, batch_size):
        mu, logvar = model.posterior(xb)
        if shared and common is None:
            common = _normals((k, 1, *mu.shape[1:]), generator, mu)
        per_pass = int(chunk) if chunk else max(1, ROWS_PER_PASS // len(xb))
        total = torch.full((len(xb),), -math.inf, device=xb.device)
        for start in range(0, k, per_pass):
            n = min(per_pass, k - start)
            eps = None if common is None else common[start : start + n].expand(n, *mu.shape)
            lw = log_weights(model, xb, mu, logvar, n, generator, eps=eps)
            total = torch.logaddexp(total, torch.logsumexp(lw, 0))
        out.append((total - math.log(k)).cpu())
    return torch.cat(out)


def log_weights(model, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, n: int,
                generator: torch.Generator | None = None, *, eps: torch.Tensor | None = None) -> torch.Tensor:
    """log p(x, z_i) - log q(z_i|x) for n draws z_i ~ q(z|x): (n, B). eps : (n, B, d) given standard
    normals (z_i = mu + sigma eps_i), else drawn from `generator`."""
    if eps is None:
        z, eps = _sample(mu.expand(n, *mu.shape), logvar.expand(n, *logvar.shape), generator)
    else:
        z = mu + torch.exp(0.5 * logvar) * eps
    logits = model.decode_logits(z.flatten(0, 1))
    log_px = model.log_likelihood(x.expand(n, *x.shape).flatten(0, 1), logits).view(n, len(x))
    log_pz = -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)
    log_qz = -0.5 * (eps.pow(2) + _LOG_2PI + logvar).sum(-1)  # N(z; mu, sigma^2), z = mu + sigma eps
    return log_px + log_pz - log_qz


@torch.no_grad()
def posterior_stats(model, x: torch.Tensor, batch_size: int = EVAL_BATCH):
    """(mu, logvar) of every sample, each (N, latent_size), on the CPU."""
    require_variational(model, "posterior statistics")
    model.eval()
    parts = [model.posterior(xb) for xb in _batches(model, x, batch_size)]
    return torch.cat([p[0].cpu() for p in parts]), torch.cat([p[1].cpu() for p in parts])


def active_units(mu: torch.Tensor, threshold: float = 1e-2) -> tuple[int, torch.Tensor]:
    """Burda et al.'s activity A_u = Var over x of E_q[u] for mu : (N, d) -> (count > threshold, A (d,))."""
    activity = mu.double().var(0, unbiased=True).float() if len(mu) > 1 else torch.zeros(mu.shape[1])
    return int((activity > threshold).sum()), activity


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over samples of KL(q(z_u|x) || N(0, 1)) per latent unit u: (d,) nats."""
    return gaussian_kl(mu, logvar).mean(0)


def likelihood_report(model, x: torch.Tensor, *, k: int = 5000, batch_size: int = 100,
                      chunk: int | None = None, seed: int = 0) -> dict:
    """ELBO, L_k, active units and KL per unit on x : (N, *input_shape), seeded; nats per image."""
    require_variational(model, "the likelihood report")
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(int(seed))
    lower = elbo(model, x, generator=g, batch_size=max(batch_size, 500))
    iw = importance_weighted_bound(model, x, k, batch_size=batch_size, chunk=chunk, generator=g)
    mu, logvar = posterior_stats(model, x)
    count, activity = active_units(mu)
    kl = kl_per_dim(mu, logvar)
    return {
        "n": len(x), "k": int(k), "latent_size": int(mu.shape[1]),
        "elbo": lower.mean().item(), "iw_bound": iw.mean().item(), "nll_iw": -iw.mean().item(),
        "active_units": count, "kl": kl.sum().item(),
        "kl_per_dim": [round(v, 5) for v in kl.tolist()],
        "activity": [round(v, 5) for v in activity.tolist()],
    }


def _sample(mu: torch.Tensor, logvar: torch.Tensor, generator):
    """(z, eps) with z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) from `generator` (global RNG if None)."""
    eps = _normals(mu.shape, generator, mu)
    return mu + torch.exp(0.5 * logvar) * eps, eps


def _normals(shape, generator, like: torch.Tensor) -> torch.Tensor:
    """Standard normals of `shape` on `like`'s device and dtype, from `generator` (global RNG if None)."""
    return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)


def _batches(model, x: torch.Tensor, batch_size: int):
    device = next(model.parameters()).device
    x = torch.as_tensor(x, dtype=torch.float32)
    for i in range(0, len(x), int(batch_size)):
        yield x[i : i + int(batch_size)].to(device)
