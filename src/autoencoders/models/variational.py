"""Variational autoencoders (Kingma & Welling 2014, https://arxiv.org/abs/1312.6114).

q(z|x) = N(mu(x), diag(exp(logvar(x)))), prior p(z) = N(0, I), p(x|z) = Bernoulli(sigmoid(logits)).
Loss per image = sum over pixels of BCE + beta * KL(q(z|x) || p(z)), averaged over the batch:
with beta = 1 this is the negative ELBO in nats. `terms` reports "recon" (summed BCE per image),
"kl" (unweighted) and "bce_pixel" (recon / pixels, detached: it does not enter the loss, it is
there to sit in one table with the other models' per-pixel BCE).

Eval mode uses z = mu (no sampling), so reconstructions, `ae denoise` and the validation loss
are deterministic; the validation "loss" is then a surrogate (reconstruction at the posterior
mean + KL), not the ELBO. The ELBO and the importance-weighted bound come from
evaluation/likelihood.py, which always samples. `encode` returns mu. Training samples
z = mu + exp(logvar / 2) * eps with the global torch RNG, which the trainer checkpoints.

Where this differs from the article's VAE code (its KL, loss scale, sampler and manifold grid
are wrong) and why: docs/differences.md.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, unknown
from ..registry import model_spec as spec
from ..registry import register_model
from .base import Autoencoder, Output, reconstruction_error
from .blocks import ACTIVATIONS, mlp
from .conv import ConvDecoder, check_filters, check_image_shape, conv_encoder, pooled_sizes
from .init import keras_init


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per latent unit, same shape as mu (Kingma & Welling, App. B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


class VariationalAutoencoder(Autoencoder):
    """Base class: subclasses set `self.body` (x -> features), `self.mu`, `self.logvar` (heads) and
    implement `decode_logits`. The likelihood interface (evaluation/likelihood.py) is
    `posterior(x) -> (mu, logvar)`, `decode_logits(z)`, `log_likelihood(x, logits)`, `latent_size`.
    """

    def __init__(self, input_shape, latent_size: int, beta: float):
        super().__init__(input_shape, "bce")
        if int(latent_size) < 1:
            raise ConfigError(f"latent_size must be a positive integer, got {latent_size}")
        if not float(beta) >= 0:
            raise ConfigError(f"beta must be >= 0, got {beta}")
        self.latent_size, self.beta = int(latent_size), float(beta)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x : (B, *input_shape) -> (mu, logvar), each (B, latent_size)."""
        h = self.body(x)
        return self.mu(h), self.logvar(h)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean, (B, latent_size)."""
        return self.posterior(x)[0]

    def log_likelihood(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """log p(x|z) in nats per sample, (B,): minus the BCE summed over pixels.

        A normalized likelihood only for binary x (e.g. --binarize dynamic); for grey levels it
        is a cross-entropy that stays above the targets' own entropy.
        """
        return -reconstruction_error(logits, x, "bce", per_sample=True) * self.input_size

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes from N(0, I), (n, latent_size), on the model's device."""
        device = next(self.parameters()).device
        return torch.randn(n, self.latent_size, generator=generator, device=device)

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> Output:
        """Negative ELBO (beta-weighted) per image, averaged over the batch; z sampled only in training."""
        target = x if target is None else target
        mu, logvar = self.posterior(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        logits = self.decode_logits(z)
        # mean over images of the BCE summed over pixels = pixels x the mean BCE: PyTorch's fused
        # mean reduction, one pass fewer than log_likelihood's per-image sums (the same number)
        recon = reconstruction_error(logits, target, "bce") * self.input_size
        kl = gaussian_kl(mu, logvar).sum(1).mean()
        terms = {"recon": recon, "kl": kl, "bce_pixel": recon.detach() / self.input_size}
        return Output(logits=logits, z=z, loss=recon + self.beta * kl, terms=terms, space=self.output_space)


class DenseVAE(VariationalAutoencoder):
    """x : (B, *input_shape) -> hidden... -> (mu, logvar) : (B, latent) ; z -> reversed hidden -> logits."""

    def __init__(self, input_shape, hidden=(256,), latent_size=2, activation="relu", beta=1.0):
        super().__init__(input_shape, latent_size, beta)
        if activation not in ACTIVATIONS:
            raise ConfigError(unknown("activation", activation, ACTIVATIONS))
        sizes = [self.input_size, *[int(h) for h in hidden]]
        self.body = nn.Sequential(nn.Flatten(), mlp(sizes, last_activation=True, activation=activation))
        self.mu = nn.Linear(sizes[-1], self.latent_size)
        self.logvar = nn.Linear(sizes[-1], self.latent_size)
        self.decoder = mlp([self.latent_size, *sizes[::-1]], last_activation=False, activation=activation)
        keras_init(self)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.input_shape)


class ConvVAE(VariationalAutoencoder):
    """x : (B, C, H, W) -> conv+pool per filter -> flatten -> hidden... -> (mu, logvar) ;
    z -> hidden... -> (filters[-1], h, w) -> the conv autoencoder's decoder -> logits (B, C, H, W).
    """

    def __init__(self, input_shape, filters=(32, 64), hidden=(128,), latent_size=2, beta=1.0):
        super().__init__(input_shape, latent_size, beta)
        filters = check_filters("conv-vae", filters)
        channels, h, w = check_image_shape("conv-vae", self.input_shape, len(filters))
        self.code_shape = (filters[-1], pooled_sizes(h, len(filters))[-1], pooled_sizes(w, len(filters))[-1])
        flat = [self.code_shape[0] * self.code_shape[1] * self.code_shape[2], *[int(n) for n in hidden]]
        self.body = nn.Sequential(conv_encoder(channels, filters), nn.Flatten(),
                                  mlp(flat, last_activation=True))
        self.mu = nn.Linear(flat[-1], self.latent_size)
        self.logvar = nn.Linear(flat[-1], self.latent_size)
        self.expand = mlp([self.latent_size, *flat[::-1]], last_activation=True)
        self.decoder = ConvDecoder(filters, channels, (h, w))
        keras_init(self)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.expand(z).view(-1, *self.code_shape))


@register_model(spec("vae"))
def vae(input_shape, o):
    return DenseVAE(input_shape, o.hidden, o.latent_size, "relu", o.beta)


@register_model(spec("conv-vae"))
def conv_vae(input_shape, o):
    return ConvVAE(input_shape, o.filters, o.hidden, o.latent_size, o.beta)


@register_model(spec("vae-burda"))
def vae_burda(input_shape, o):
    # https://arxiv.org/abs/1509.00519 section 5: two deterministic layers of 200 tanh units, 50
    # Gaussian units (exp of the predicted variances), Bernoulli pixels, Glorot init; trained with
    # Adam (eps 1e-4), batches of 20, 3280 passes, dynamically binarized MNIST.
    return DenseVAE(input_shape, o.hidden, o.latent_size, o.activation, o.beta)
