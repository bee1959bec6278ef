"""A user's own autoencoder, not in the registry: it honours the contract without subclassing."""

import torch
from torch import nn
from torch.nn import functional as F

from autoencoders.models import Output


class TinyAE(nn.Module):
    """x : (B, *input_shape) -> z : (B, code) -> logits : (B, *input_shape); per-pixel BCE."""

    loss_kind = "bce"
    output_space = "probability"

    def __init__(self, input_shape=(1, 8, 8), code=6):
        super().__init__()
        self.input_shape = tuple(input_shape)
        n = int(torch.tensor(self.input_shape).prod())
        self.enc, self.dec = nn.Linear(n, code), nn.Linear(code, n)

    def encode(self, x):
        return torch.relu(self.enc(x.flatten(1)))

    def decode_logits(self, z):
        return self.dec(z).view(-1, *self.input_shape)

    def decode(self, z):
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x, target=None):
        target = x if target is None else target
        z = self.encode(x)
        logits = self.decode_logits(z)
        recon = F.binary_cross_entropy_with_logits(logits, target)
        return Output(logits=logits, z=z, loss=recon, terms={"recon": recon})
