"""Corruptions for denoising autoencoders: the model sees noise(x) and is scored against x.

Denoising is a property of the data, not a model class, so a Noise is a small
callable that the trainer applies per batch. It draws from the generator it is given, so a
seeded run corrupts the same pixels every time, on CPU or CUDA alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import ConfigError, unknown

KINDS = ("gaussian", "masking", "salt-pepper")


@dataclass(frozen=True)
class Noise:
    """A corruption `kind` at strength `level`; `Noise(...)(x)` returns a new tensor in [0, 1].

    gaussian:    x + level * N(0, 1), clipped (the Keras article uses level 0.5).
    masking:     each value set to 0 with probability `level` (Vincent et al. 2008).
    salt-pepper: each value, with probability `level`, set to 0 or 1 (half each).
    """

    kind: str
    level: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(unknown("noise kind", self.kind, KINDS))
        level = self.level
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not math.isfinite(level):
            raise ConfigError(f"noise level must be a finite number, got {level!r}")
        if level < 0 or (self.kind != "gaussian" and level > 1):
            bound = "a standard deviation >= 0" if self.kind == "gaussian" else "a probability in [0, 1]"
            raise ConfigError(f"{self.kind} noise level {level} is not {bound}")
        object.__setattr__(self, "level", float(level))

    def __str__(self) -> str:
        return f"{self.kind}:{self.level:g}"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x : (B, ...) in [0, 1] -> a corrupted copy of the same shape, dtype and device."""
        if self.kind == "gaussian":
            noisy = x + self.level * _draw(torch.randn, x, generator)
        elif self.kind == "masking":
            noisy = x.masked_fill(_draw(torch.rand, x, generator) < self.level, 0.0)
        else:
            hit = _draw(torch.rand, x, generator) < self.level
            salt = (_draw(torch.rand, x, generator) < 0.5).to(x.dtype)
            noisy = torch.where(hit, salt, x)
        return noisy.clamp(0.0, 1.0)


def _draw(sampler, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Random numbers shaped like x, drawn on the generator's device (x's without one).

    Drawing in float32 on the generator's device keeps a seeded run identical whatever x's dtype;
    the result is then moved to x's device.
    """
    device = generator.device if generator is not None else x.device
    r = sampler(x.shape, generator=generator, device=device, dtype=torch.float32)
    return r.to(device=x.device, dtype=x.dtype if x.is_floating_point() else torch.float32)


def parse_noise(spec: str | Noise | None) -> Noise | None:
    """'gaussian:0.5', 'masking:0.3', 'salt-pepper:0.2' -> Noise; None, '' or 'none' -> None."""
    if spec is None or isinstance(spec, Noise):
        return spec
    text = str(spec).strip()
    if text.lower() in ("", "none"):
        return None
    kind, sep, level = text.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ConfigError(f"bad noise spec '{spec}': {unknown('noise kind', kind, KINDS)}")
    if not sep or not level.strip():
        raise ConfigError(f"bad noise spec '{spec}': give a level, e.g. '{kind}:0.3' "
                          f"(format kind:level, kinds: {', '.join(KINDS)})")
    try:
        value = float(level)
    except ValueError:
        raise ConfigError(f"bad noise spec '{spec}': level '{level}' is not a number") from None
    try:
        return Noise(kind, value)
    except ConfigError as e:
        raise ConfigError(f"bad noise spec '{spec}': {e}") from None
