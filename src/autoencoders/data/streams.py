"""Sources of batches: resident tensors (the fast path) or a streamed torch Dataset.

Both produce the same `Batch`es from the same seeded generator: an epoch is a permutation drawn
from it, cut into `n_batches` slices, each turned into (input, target) by the run's
`Presentation` on the device. Only where the rows come from differs:

- `Resident`: the whole split lives in one tensor on the device, uint8 where the data is 8-bit
  (4x less memory; converted per batch). A batch is an index slice: no DataLoader, no copies.
- `Streamed`: any map-style `torch.utils.data.Dataset` (a .npy file read row by row, a folder of
  images, a user's own) read through a DataLoader with worker processes and, on CUDA, pinned
  memory. Noise and binarization are drawn in the main process from the epoch's generator, so
  the batches do not depend on the number of workers, and on CPU equal the resident ones bitwise.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Iterator, Protocol, runtime_checkable

import numpy as np
import torch
from torch.utils.data import DataLoader, default_collate

from ..errors import DataError
from . import files
from .batches import (
    EVAL_BATCH,
    FIXED_NOISE_OFFSET,
    VAL_SEED_OFFSET,
    Batch,
    Presentation,
    as_float,
    compact,
    fixed_batch,
    generator,
)


@runtime_checkable
class BatchSource(Protocol):
    """What the Trainer trains on: `len()` samples of `sample_shape`, batches on `device`."""

    sample_shape: tuple
    device: torch.device

    def __len__(self) -> int: ...

    def epoch(self, gen: torch.Generator, batch_size: int, n_batches: int) -> Iterator[Batch]: ...

    def fixed_batches(self, seed: int, batch_size: int = EVAL_BATCH) -> Iterator[Batch]: ...


class Resident:
    """x : (N, *sample_shape) in [0, 1] (tensor or array; uint8 reads as k / 255), labels : (N,) or
    None; held on `device` (default: x's), as uint8 when the values are 8-bit."""

    def __init__(self, x, labels=None, presentation: Presentation = Presentation(), *, seed: int = 0,
                 device=None):
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
        self.device = torch.device(device) if device is not None else x.device
        self.x = compact(x.float() if x.dtype not in (torch.uint8, torch.float32) else x).to(self.device)
        self.labels = None if labels is None else torch.as_tensor(labels).to(self.device)
        self.presentation, self.seed = presentation, seed
        self.fixed_input = None  # --noise-fixed: the article's one corrupted copy, drawn once
        if presentation.noise is not None and presentation.noise_fixed:
            self.fixed_input = presentation.noise(as_float(self.x), generator(self.device, seed + FIXED_NOISE_OFFSET))
        self._fixed: dict = {}

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def epoch(self, gen: torch.Generator, batch_size: int, n_batches: int) -> Iterator[Batch]:
        """`n_batches` training batches of a fresh permutation drawn from `gen`."""
        perm = torch.randperm(len(self), generator=gen, device=self.device)
        for b in range(n_batches):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            # index_select: the same rows as x[idx], without advanced indexing's slower general path
            fixed = None if self.fixed_input is None else self.fixed_input.index_select(0, idx)
            inputs, targets = self.presentation.train_pair(as_float(self.x.index_select(0, idx)), gen, fixed)
            yield Batch(inputs, targets, None if self.labels is None else self.labels.index_select(0, idx))

    def fixed(self, seed: int) -> Batch:
        """The whole split as a fixed (seeded, once-corrupted) Batch, computed once per seed."""
        if seed not in self._fixed:
            self._fixed[seed] = fixed_batch(as_float(self.x), self.presentation, seed, self.labels)
        return self._fixed[seed]

    def fixed_batches(self, seed: int, batch_size: int = EVAL_BATCH) -> Iterator[Batch]:
        whole = self.fixed(seed)
        for i in range(0, len(self), batch_size):
            yield Batch(*(None if t is None else t[i : i + batch_size] for t in whole))


class Streamed:
    """A map-style Dataset whose items are samples (or (sample, label) pairs), streamed to `device`.

    workers : DataLoader worker processes (None: (cores - 1) // 2, at most 4; none on 2 cores,
        where a worker process cost a third of the throughput: bench/STREAMING.md).
    A dataset may offer `__getitems__(indices)` returning a whole batch (NpyRows does: one
    pass of sorted positioned reads per batch instead of one call per row).
    """

    def __init__(self, dataset, presentation: Presentation = Presentation(), *, device="cpu", seed: int = 0,
                 workers: int | None = None, name: str = "data"):
        self.dataset, self.presentation, self.seed, self.name = dataset, presentation, seed, name
        self.device = torch.device(device)
        self.workers = min(4, ((os.cpu_count() or 2) - 1) // 2) if workers is None else int(workers)
        self.sample_shape = _check_dataset(dataset, name)

    def __len__(self) -> int:
        return len(self.dataset)

    def _loader(self, chunks: "Chunks") -> Iterator[tuple]:
        cuda = self.device.type == "cuda"
        loader = iter(DataLoader(self.dataset, batch_sampler=chunks, num_workers=self.workers, collate_fn=_collate,
                                 pin_memory=cuda, prefetch_factor=4 if self.workers else None))
        for b in range(len(chunks)):
            try:
                x, y = _split_item(next(loader))
            except DataError:
                raise
            except (RuntimeError, TypeError, ValueError, IndexError, KeyError) as e:  # raised by the user's Dataset
                raise self._unreadable(chunks.rows(b), e) from None
            yield as_float(x.to(self.device, non_blocking=cuda)), None if y is None else y.to(self.device)

    def _unreadable(self, rows: list, error: Exception) -> DataError:
        """Which sample of a batch that would not load or stack is at fault (read again one by one)."""
        for r in rows:
            if (shape := _item_shape(self.dataset, r, self.name)) != self.sample_shape:
                return DataError(f"{self.name} sample {r} has shape {shape}, the first has {self.sample_shape}")
        return DataError(f"{self.name}: the batch of samples {rows[:4]}... does not load: "
                         f"{type(error).__name__}: {error}")

    def epoch(self, gen: torch.Generator, batch_size: int, n_batches: int) -> Iterator[Batch]:
        """As `Resident.epoch`: the same permutation and the same draws from `gen`."""
        chunks = Chunks(torch.randperm(len(self), generator=gen, device=gen.device).cpu(), batch_size, n_batches)
        for b, (clean, labels) in enumerate(self._loader(chunks)):
            fixed = self._fixed_noise(clean, chunks.rows(b)) if self.presentation.noise_fixed else None
            inputs, targets = self.presentation.train_pair(clean, gen, fixed)
            yield Batch(inputs, targets, labels)

    def _fixed_noise(self, clean: torch.Tensor, rows: list) -> torch.Tensor | None:
        """One corrupted copy per sample for the whole run: noise seeded by the row's index."""
        noise = self.presentation.noise
        if noise is None:
            return None
        base = self.seed + FIXED_NOISE_OFFSET
        return torch.cat([noise(clean[j : j + 1], generator(self.device, base * 1_000_003 + r))
                          for j, r in enumerate(rows)])

    def fixed_batches(self, seed: int, batch_size: int = EVAL_BATCH) -> Iterator[Batch]:
        """Every row in order, corrupted / binarized from one generator seeded per pass."""
        gen = generator(self.device, seed + VAL_SEED_OFFSET)
        chunks = Chunks(torch.arange(len(self)), batch_size, -(-len(self) // batch_size))
        for clean, labels in self._loader(chunks):
            inputs, targets = self.presentation.fixed_pair(clean, gen)
            yield Batch(inputs, targets, labels)


class Chunks:
    """The row indices of each batch, cut from `order` as the DataLoader asks (no list of them all)."""

    def __init__(self, order: torch.Tensor, batch_size: int, n_batches: int):
        self.order, self.batch_size, self.n_batches = order, batch_size, n_batches

    def __len__(self) -> int:
        return self.n_batches

    def rows(self, b: int) -> list:
        return self.order[b * self.batch_size : (b + 1) * self.batch_size].tolist()

    def __iter__(self):
        return (self.rows(b) for b in range(self.n_batches))


class NpyRows(torch.utils.data.Dataset):
    """Rows of a .npy file, read from disk when a batch asks for them (the file is never loaded).

    path : an array of images (N, H, W), (N, C, H, W) or (N, H, W, C), or with image=False any
    (N, ...) such as sequences (N, T, F). Its header is checked as every .npy's is (data/npyfile.py).
    Images are shaped, range-checked and scaled as the resident loader does it (files.py): the
    whole file is range-checked once, here, a chunk at a time (uint8 needs no check); a batch of
    uint8 stays uint8 until the device divides it by 255, other dtypes become float32 in [0, 1].
    With image=False rows come back as stored (in native byte order).
    rows : the subset of row indices this dataset exposes (a hold-out split, a limit), or None.
    Rows are read with positioned reads (os.pread) in file order, so only a batch's bytes enter
    the process. Fancy-indexing a memory map instead made the resident set grow towards the file's
    size (the kernel maps pages around each fault: bench/STREAMING.md).
    """

    def __init__(self, path, rows=None, *, image: bool = True):
        self.path, self.image = str(path), image
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        header = files.npy_header(Path(path))
        if image:
            files.image_shape(header.shape, Path(path))  # refused as the resident loader refuses it
        if header.fortran or not header.shape:
            raise DataError(f"{path}: streaming reads rows of a C-ordered array (N, ...); this one is "
                            f"{'Fortran-ordered' if header.shape else 'a single number'}: save it with "
                            "np.save(path, np.ascontiguousarray(x)), or load it resident (stream=False)")
        if image:
            files.check_npy_pixels(Path(path), header)
        self.shape, self.dtype, self.offset = header.shape, header.dtype, header.offset
        self.row_bytes = math.prod(self.shape[1:]) * self.dtype.itemsize
        self._fd = None  # opened per process (a file descriptor does not travel to workers)

    def subset(self, rows) -> "NpyRows":
        """These rows of this dataset (a hold-out split, a limit), without reading and checking the file again."""
        part = copy.copy(self)  # __getstate__: the copy opens its own file descriptor
        rows = np.asarray(rows, dtype=np.int64)
        part.rows = rows if self.rows is None else self.rows[rows]
        return part

    def __getstate__(self):
        return {**self.__dict__, "_fd": None}

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else int(self.shape[0])

    def __getitems__(self, idx: list) -> torch.Tensor:
        """(B, *sample_shape) of rows `idx`, read in file order, returned in the order asked."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        sel = np.asarray(idx, dtype=np.int64)
        sel = self.rows[sel] if self.rows is not None else sel
        block = np.empty((len(sel), *self.shape[1:]), dtype=self.dtype)
        flat = block.reshape(len(sel), -1).view(np.uint8)
        for j in np.argsort(sel, kind="stable"):
            got = os.preadv(self._fd, [flat[j]], self.offset + int(sel[j]) * self.row_bytes)
            if got != self.row_bytes:
                raise DataError(f"{self.path}: row {int(sel[j])} is cut short (the file is truncated)")
        return torch.from_numpy(self._values(block))

    def _values(self, block: np.ndarray) -> np.ndarray:
        """Rows as read -> what a batch holds: images as the resident loader shapes and scales them."""
        if not self.image:
            return block.astype(block.dtype.newbyteorder("="), copy=False)
        x = files.as_images(block, Path(self.path))
        # uint8 reaches the device as is: as_float's k / 255 there is to_unit's, bitwise (batches.compact)
        return np.ascontiguousarray(x if x.dtype == np.uint8 else files.to_unit(x))

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.__getitems__([i])[0]


def _collate(items):
    """A batch already built by `__getitems__` (a tensor) passes through; a list of items is stacked."""
    if torch.is_tensor(items):
        return items
    return default_collate([_as_tensors(i) for i in items])


def _as_tensors(item):
    if isinstance(item, (tuple, list)):
        return tuple(torch.as_tensor(np.asarray(v)) if not torch.is_tensor(v) else v for v in item)
    return torch.as_tensor(np.asarray(item)) if not torch.is_tensor(item) else item


def _split_item(item) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(samples, labels or None) of a collated batch: a tensor, or a (samples, labels, ...) sequence."""
    if torch.is_tensor(item):
        return item, None
    return item[0], (item[1] if len(item) > 1 else None)


def as_source(data, presentation: Presentation = Presentation(), *, device="cpu", seed: int = 0,
              name: str = "data"):
    """A BatchSource as it is; a torch Dataset streamed; tensors or arrays (N, ...) held resident.

    name : what the data is to the user ("training data"), for the DataError that refuses it:
    anything but samples, none at all, or samples unlike each other.
    """
    if isinstance(data, BatchSource):
        _check_count(len(data), name)
        return data
    if isinstance(data, torch.utils.data.Dataset):
        return Streamed(data, presentation, device=device, seed=seed, name=name)
    return Resident(as_samples(data, name), None, presentation, seed=seed, device=device)


def as_samples(data, name: str = "data") -> torch.Tensor:
    """`data` as one numeric tensor (N, *sample_shape): None, a generator, strings or ragged lists
    would otherwise end in a TypeError from torch.as_tensor that names nothing."""
    if data is None or isinstance(data, (str, bytes, dict)) or not hasattr(data, "__len__"):
        what = "None" if data is None else f"a {type(data).__name__}"
        raise DataError(f"{name} is {what}: pass a tensor or array (N, *sample_shape) in [0, 1] (e.g. "
                        "torch.stack(list(samples))), or a torch Dataset")
    if not torch.is_tensor(data):
        try:
            data = np.asarray(data)
        except ValueError as e:  # a list of samples of different shapes
            raise _ragged(data, name, e) from None
        if data.dtype.kind not in "biuf":
            held = {"U": "strings", "S": "bytes", "O": "Python objects"}.get(data.dtype.kind, f"{data.dtype} values")
            raise DataError(f"{name} holds {held} (numpy dtype {data.dtype}); samples must be numbers in [0, 1]")
        data = torch.as_tensor(data)
    if data.is_complex() or data.ndim < 2:
        raise DataError(f"{name} is a {data.dtype} tensor of shape {tuple(data.shape)}; it must be real "
                        "numbers shaped (N, *sample_shape), N samples first")
    _check_count(len(data), name)
    return data


def _ragged(data, name: str, error: Exception) -> DataError:
    """The first sample whose shape differs from the first one's."""
    first = np.shape(data[0])
    for i, item in enumerate(data):
        if np.shape(item) != first:
            return DataError(f"{name} sample {i} has shape {tuple(np.shape(item))}, the first has {tuple(first)}")
    return DataError(f"{name} cannot be read as an array (N, *sample_shape): {error}")


def _check_count(n: int, name: str) -> None:
    if n == 0:
        raise DataError(f"{name} is empty (0 samples): there is nothing to train or validate on")


def _check_dataset(dataset, name: str) -> tuple:
    """A map-style Dataset's sample shape, from its first and last items: a `__len__` that counts
    more than `__getitem__` gives, or a last sample unlike the first, fails here, not mid-epoch."""
    if not hasattr(type(dataset), "__len__"):
        raise DataError(f"{name} is a {type(dataset).__name__} without __len__: pass a map-style torch Dataset "
                        "(__len__ and __getitem__)")
    n = len(dataset)
    _check_count(n, name)
    first = _item_shape(dataset, 0, name)
    if (last := _item_shape(dataset, n - 1, name)) != first:
        raise DataError(f"{name} sample {n - 1} has shape {last}, the first has {first}")
    return first


def _item_shape(dataset, i: int, name: str) -> tuple:
    """The shape of sample `i` as a batch would hold it; a DataError naming `i` if it is no sample."""
    try:
        item = dataset[i]
    except Exception as e:  # noqa: BLE001 - the user's __getitem__: any failure is theirs to see, with its index
        raise DataError(f"{name} item {i} of {len(dataset)} (its len()) cannot be read: "
                        f"{type(e).__name__}: {e}") from None
    if isinstance(item, dict):
        raise DataError(f"{name} item {i} is a dict (keys {', '.join(map(str, item))}); a Dataset must return a "
                        "sample tensor or a (sample, label) pair")
    try:
        sample = _split_item(_collate([item]))[0]
    except (TypeError, ValueError, RuntimeError) as e:
        raise DataError(f"{name} item {i} is not a numeric sample ({type(item).__name__}): {e}") from None
    if sample.is_complex():
        raise DataError(f"{name} item {i} holds {sample.dtype} values; samples must be real numbers in [0, 1]")
    return tuple(sample.shape[1:])
