"""The data a run trains and validates on, resident or streamed, chosen by a memory budget.

`load_run_data(config, device, seed)` reads `DataConfig` once: it parses the presentation
(noise, binarization), splits off validation data, and picks the path for the training split:

- resident (the fast path) when loading the split (its raw values plus the float32 copy the
  loader makes, `resident_bytes`) fits in `memory_budget` GB (default: half the memory this process
  may still use, data/memory.py); 8-bit data is then held as uint8;
- streamed when it does not, or when `stream=True`: a .npy file (read row by row) or a folder of images
  read batch by batch (data/streams.py). `stream=False` forces the resident path.

`load_split(config, split, device, seed)` is one whole split as evaluation sees it (a `Batch`
prepared as validation data is: binarized and corrupted once, seeded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ConfigError, DataError
from . import files, memory
from .batches import Batch, Presentation, fixed_batch
from .datasets import BUILTINS, Split, load_dataset, out_of_memory, split_names, streamable
from .streams import BatchSource, NpyRows, Resident, Streamed

BUDGET_FRACTION = 0.5  # of the memory available at the start of a run, when no budget is given


@dataclass
class RunData:
    """train : the training source; val : the validation source or None; meta : the dataset's."""

    train: BatchSource
    val: BatchSource | None
    presentation: Presentation
    meta: dict

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.train.sample_shape)

    def validation(self) -> Batch:
        """The whole validation split as one fixed Batch, as the trainer validates on it (resident only)."""
        if not isinstance(self.val, Resident):
            raise DataError("the validation split is streamed: iterate val.fixed_batches(seed) instead")
        return self.val.fixed(self.val.seed)


def load_kwargs(config) -> dict:
    """The DataConfig fields `load_dataset` takes."""
    return dict(data_dir=config.data_dir, offline=config.offline, resize=config.resize, channels=config.channels,
                window=config.window, stride=config.stride, as_sequence=config.as_sequence)


def load_split(config, split: str, device, seed: int) -> Batch:
    """(input, target, label) of a whole split, prepared as the run's validation data is.

    What reads a run reads its data: a `data_dir` the config names is a path from a file, read but
    never created or downloaded into (`ae data fetch NAME --data-dir DIR` fills it when asked).
    """
    missing = missing_split(config, split)
    if missing:
        raise DataError(f"{missing}; use split 'train' (--split train)")
    offline = config.offline or config.data_dir is not None
    ds = load_dataset(config.name, split, **dict(load_kwargs(config), offline=offline))
    return fixed_batch(ds.images.to(device), Presentation.from_config(config), seed, ds.labels)


def missing_split(config, split: str) -> str | None:
    """Why a run that held out a --validation fraction of a file without splits cannot reload
    `split` (None when it can, or when the data is not such a file). The loader's own message
    advises holding out a fraction with --validation, which such a run already did."""
    if config.validation == "test" or split == "train" or config.name in BUILTINS:
        return None
    if not Path(config.name).expanduser().exists() or split in split_names(config.name):
        return None  # gone: the loader says so; or the split is there
    return (f"{config.name} has no '{split}' split: a file or folder without splits is all split 'train', "
            f"and this run held out --validation {config.validation} of it for validation")


def load_run_data(config, device, seed: int) -> RunData:
    """Load, split and place (or open for streaming) the data a run trains and validates on."""
    presentation = Presentation.from_config(config)
    if should_stream(config):
        return _streamed(config, torch.device(device), seed, presentation)
    try:
        return _resident(config, device, seed, presentation)
    except MemoryError:
        raise out_of_memory(config.name) from None


def _resident(config, device, seed: int, presentation: Presentation) -> RunData:
    train = load_dataset(config.name, "train", **load_kwargs(config))
    if config.validation == "test":
        val = load_dataset(config.name, "test", **load_kwargs(config))
    else:
        train, val = _hold_out(train, float(config.validation), seed)
    x, y = (train.images, train.labels) if config.limit is None else (train.images[: config.limit],
                                                                      _head(train.labels, config.limit))
    check_split_sizes(len(x), len(val), train.meta["source"], _how(config))
    return RunData(Resident(x, y, presentation, seed=seed, device=device),
                   Resident(val.images, val.labels, presentation, seed=seed, device=device),
                   presentation, dict(train.meta))


def should_stream(config) -> bool:
    """The path a run takes: `stream` if given, else whether the resident copy exceeds the budget."""
    if config.stream is not None:
        if config.stream and not streamable(config.name):
            raise ConfigError(f"stream=True needs a .npy file or a folder of images, not {config.name!r} "
                              "(built-in datasets fit in memory)")
        return bool(config.stream)
    if not streamable(config.name) or config.window or config.as_sequence or config.resize:
        return False
    return resident_bytes(config.name) > memory_budget(config.memory_budget)


def memory_budget(gigabytes: float | None) -> int:
    """Bytes a resident training split may take: `gigabytes`, else a fraction of what this process may
    still allocate (the machine's free memory, its ulimit -v and its cgroup's limit: data/memory.py)."""
    if gigabytes is not None:
        return int(float(gigabytes) * 2**30)
    return int(BUDGET_FRACTION * memory.available_bytes())


def resident_bytes(name: str) -> int:
    """Peak memory of loading a .npy or an image folder resident: the file's own values plus the
    float32 copy the loader makes before 8-bit data is compacted back to uint8."""
    path = Path(name).expanduser()
    if path.is_dir():
        paths = _image_files(path)
        im = files.open_image(paths[0])
        return len(paths) * im.size[0] * im.size[1] * len(im.getbands()) * (1 + 4)  # 8-bit pixels, then float32
    header = files.npy_header(path)
    return header.nbytes + 4 * math.prod(header.shape)


def _streamed(config, device: torch.device, seed: int, presentation: Presentation) -> RunData:
    path = Path(config.name).expanduser()
    if config.validation == "test":
        raise DataError(f"{path} has no 'test' split: a file or folder without splits loads entirely as "
                        "split 'train'; hold out part of it for validation with --validation 0.2")
    if config.window or config.as_sequence or config.resize:
        raise ConfigError("streaming reads images as they are stored: window, as_sequence and resize need "
                          "the resident path (stream=False)")
    whole = _open(path, config)
    n = len(whole)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_val = min(n, max(1, int(round(n * float(config.validation)))))
    keep, held = perm[n_val:], perm[:n_val]
    keep = keep if config.limit is None else keep[: config.limit]
    check_split_sizes(len(keep), len(held), str(path), _how(config))
    make = lambda rows: Streamed(whole.subset(rows), presentation, device=device, seed=seed)  # noqa: E731
    return RunData(make(keep), make(held), presentation, {"source": str(path), "kind": "image", "n": len(keep),
                                                          "streamed": True})


def _open(path: Path, config):
    """The whole file or folder, opened (and checked) once for both splits."""
    if path.is_dir():
        from .images import ImageFiles

        return ImageFiles(path, channels=config.channels)
    return NpyRows(path)


def _image_files(path: Path) -> list:
    from .images import image_paths

    return image_paths(path)[0]


def _hold_out(ds: Split, fraction: float, seed: int):
    """Split a seeded random `fraction` of the training set off for validation."""
    n_val = min(len(ds), max(1, int(round(len(ds) * fraction))))
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))
    keep, held = perm[n_val:], perm[:n_val]
    pick = lambda rows: Split(  # noqa: E731
        ds.images[rows], None if ds.labels is None else ds.labels[rows], dict(ds.meta, n=len(rows))
    )
    return pick(keep), pick(held)


def check_split_sizes(n_train: int, n_val: int, source: str, how: str) -> None:
    """Both the training and the validation set need at least one sample."""
    if n_train < 1 or n_val < 1:
        raise DataError(f"{source}: {how} leaves {n_train} training and {n_val} validation samples; both "
                        "need at least one (use a smaller --validation fraction, a smaller --window or "
                        "--stride, or more data)")


def _how(config) -> str:
    return "the test split" if config.validation == "test" else f"--validation {config.validation}"


def _head(labels, limit: int):
    return None if labels is None else labels[:limit]
