"""What a model sees: named batches of (input, target, label), and how clean samples become them.

A `Batch` is the one type that travels from the data layer to the trainer and to evaluation;
nothing passes bare tuples whose order could change between functions. A `Presentation` is
parsed once from a `DataConfig` (the noise spec becomes a `Noise` object here, and only here)
and turns clean samples into pairs: denoising and dynamic binarization are properties of the
data, so every model trains on them without knowing.

Randomness comes only from the generator a caller passes, so a seeded run draws the same
pixels every time, on CPU or CUDA, on the resident or the streaming path alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from .noise import Noise, parse_noise

# rows per forward pass when evaluating (no autograd): 256 keeps a conv net's activations (the
# denoiser's 32x28x28 maps: 26 MB a layer at 256 rows, 205 MB at 2048) near the CPU's caches; the
# demo runs' test-set passes took 30% less CPU than at 2048, the conv nets' ~30-50% less, the dense
# nets' and the LSTM's about the same (bench/eval_batch.py, bench/EVAL_BATCH.json)
EVAL_BATCH = 256
VAL_SEED_OFFSET = 7919  # fixed pairs (validation, evaluation) draw from seed + this
FIXED_NOISE_OFFSET = 104729  # the article's one corrupted copy of the training set


class Batch(NamedTuple):
    """input : (B, *sample_shape) what the model sees (corrupted / binarized);
    target : (B, *sample_shape) what it is scored against (clean); label : (B,) int64 or None."""

    input: torch.Tensor
    target: torch.Tensor
    label: torch.Tensor | None = None

    def to(self, device, non_blocking: bool = False) -> "Batch":
        move = lambda t: None if t is None else t.to(device, non_blocking=non_blocking)  # noqa: E731
        return Batch(move(self.input), move(self.target), move(self.label))


@dataclass(frozen=True)
class Presentation:
    """How clean samples in [0, 1] are shown to a model: optional noise and binarization.

    noise : a parsed `Noise` (corrupted input, clean target) or None.
    binarize : each value ~ Bernoulli(grey level), drawn anew per batch (training) or once (fixed).
    noise_fixed : training uses one corrupted copy per sample for the whole run (the article).
    """

    noise: Noise | None = None
    binarize: bool = False
    noise_fixed: bool = False

    @classmethod
    def from_config(cls, config) -> "Presentation":
        """From a DataConfig: the only place its noise spec is parsed."""
        return cls(parse_noise(config.noise), config.binarize == "dynamic", bool(config.noise_fixed))

    @property
    def clean(self) -> bool:
        return self.noise is None and not self.binarize

    def train_pair(self, clean: torch.Tensor, generator: torch.Generator,
                   fixed_input: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) of a training batch: fresh binarization and noise from `generator`.

        clean : (B, ...) float in [0, 1]; fixed_input : the run's one corrupted copy of these rows.
        """
        if self.binarize:
            clean = torch.bernoulli(clean, generator=generator)
        if self.noise is None:
            return clean, clean
        if fixed_input is not None:
            return fixed_input, clean
        return self.noise(clean, generator), clean

    def fixed_pair(self, clean: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) for evaluation: binarized once and corrupted once from `generator`.

        The test set is binarized once, as in the literature's dynamically binarized MNIST numbers.
        """
        if self.binarize:
            clean = torch.bernoulli(clean, generator=generator)
        return (clean if self.noise is None else self.noise(clean, generator)), clean


def generator(device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def fixed_batch(clean: torch.Tensor, presentation: Presentation, seed: int, labels=None) -> Batch:
    """A whole split as the run's validation data is prepared: seeded, identical every call."""
    inputs, targets = presentation.fixed_pair(clean, generator(clean.device, seed + VAL_SEED_OFFSET))
    return Batch(inputs, targets, labels)


def as_float(x: torch.Tensor) -> torch.Tensor:
    """Stored samples -> float32 in [0, 1]: uint8 (the 8-bit compact form) is divided by 255."""
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    return x if x.dtype == torch.float32 else x.float()


def compact(x: torch.Tensor) -> torch.Tensor:
    """x as uint8 when it holds 8-bit values k / 255 exactly (4x less memory), else x itself.

    `as_float(compact(x))` equals x bitwise: both divide the same integers by 255 in float32.
    """
    if x.dtype != torch.float32 or x.numel() == 0:
        return x
    levels = (x * 255.0).round_()
    if levels.min() < 0 or levels.max() > 255:
        return x
    small = levels.to(torch.uint8)
    return small if torch.equal(as_float(small), x) else x
