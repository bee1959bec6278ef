"""Training data as resident tensors, and the (input, target) pairs a batch is made of.

The whole dataset lives in one tensor on the device; a batch is an index slice. Corruption
(denoising) and dynamic binarization are applied per batch here, so every model trains on
them without knowing: denoising is a property of the data, not a model class.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import DataConfig
from ..data import Dataset, load_dataset, parse_noise
from .datachecks import check_split_sizes


@dataclass
class TrainingData:
    """x_* : (N, *sample_shape) float32 on the device; y_* : (N,) labels or None."""

    x_train: torch.Tensor
    y_train: torch.Tensor | None
    x_val: torch.Tensor
    y_val: torch.Tensor | None
    val_input: torch.Tensor  # what the model sees at validation (noisy / binarized once, seeded)
    config: DataConfig
    meta: dict
    noise: object = None  # a data.Noise, or None
    fixed_train_input: torch.Tensor | None = None  # --noise-fixed: the one corrupted copy

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def batch(self, idx: torch.Tensor, generator: torch.Generator):
        """(input, target) for training rows `idx`, with fresh noise/binarization from `generator`."""
        clean = self.x_train[idx]
        if self.config.binarize == "dynamic":
            clean = torch.bernoulli(clean, generator=generator)
        if self.noise is None:
            return clean, clean
        if self.fixed_train_input is not None:
            return self.fixed_train_input[idx], clean
        return self.noise(clean, generator), clean


def load_training_data(config: DataConfig, device: torch.device, seed: int) -> TrainingData:
    """Load, split and place on `device` the data a run trains and validates on."""
    kwargs = _load_kwargs(config)
    train = load_dataset(config.name, "train", **kwargs)
    if config.validation == "test":
        val = load_dataset(config.name, "test", **kwargs)
    else:
        train, val = _hold_out(train, float(config.validation), seed)
    x_train, y_train = _limit(train, config.limit)
    how = "the test split" if config.validation == "test" else f"--validation {config.validation}"
    check_split_sizes(len(x_train), len(val), train.meta["source"], how)
    data = TrainingData(
        x_train=x_train.to(device), y_train=y_train,
        x_val=val.images.to(device), y_val=val.labels,
        val_input=val.images.to(device), config=config, meta=dict(train.meta),
        noise=parse_noise(config.noise),
    )
    _prepare_fixed_inputs(data, seed)
    return data


def _prepare_fixed_inputs(data: TrainingData, seed: int) -> None:
    """Seeded, run-constant corruption: the validation input, and the article's one noisy copy."""
    data.x_val, data.val_input = fixed_pair(data.x_val, data.config, seed)
    if data.noise is not None and data.config.noise_fixed:
        data.fixed_train_input = data.noise(data.x_train, _generator(data.x_train.device, seed + 104729))


def fixed_pair(clean: torch.Tensor, config: DataConfig, seed: int):
    """(target, input) for evaluation: binarized once and corrupted once, from a fixed seed.

    The test set is binarized once, as in the literature's dynamically binarized MNIST numbers.
    """
    g = _generator(clean.device, seed + 7919)
    if config.binarize == "dynamic":
        clean = torch.bernoulli(clean, generator=g)
    noise = parse_noise(config.noise)
    return clean, (clean if noise is None else noise(clean, g))


def load_split(config: DataConfig, split: str, device: torch.device, seed: int):
    """(inputs, targets, labels) of a whole split, prepared as the run's validation data is."""
    ds = load_dataset(config.name, split, **_load_kwargs(config))
    targets, inputs = fixed_pair(ds.images.to(device), config, seed)
    return inputs, targets, ds.labels


def _load_kwargs(config: DataConfig) -> dict:
    return dict(
        data_dir=config.data_dir, offline=config.offline, resize=config.resize,
        channels=config.channels, window=config.window, stride=config.stride,
        as_sequence=config.as_sequence,
    )


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def _hold_out(ds: Dataset, fraction: float, seed: int):
    """Split a seeded random `fraction` of the training set off for validation."""
    n_val = min(len(ds), max(1, int(round(len(ds) * fraction))))
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))
    keep, held = perm[n_val:], perm[:n_val]
    pick = lambda rows: Dataset(  # noqa: E731
        ds.images[rows], None if ds.labels is None else ds.labels[rows], dict(ds.meta, n=len(rows))
    )
    return pick(keep), pick(held)


def _limit(ds: Dataset, limit: int | None):
    if limit is None:
        return ds.images, ds.labels
    labels = None if ds.labels is None else ds.labels[:limit]
    return ds.images[:limit], labels
