"""Datasets as tensors: the built-ins (digits, mnist, fashion-mnist) and users' own files.

Every loader ends in a `Split` (one split of a dataset as tensors; not torch's Dataset): images
float32 in [0, 1] shaped (N, C, H, W), or sequences float32 (N, T, F) as given (never rescaled),
plus int64 labels when there are any. The name picks
the loader: a built-in name, else a path to a .npy, .npz or .csv file or a folder of images.

Splits of users' files: a file without splits loads entirely as split 'train' (any other split is
an error); an .npz with x_<split> / images_<split> keys (e.g. x_train, x_test) has real splits.
Sequences: a .csv is always one (rows = time steps); a .npy is read as images unless `window` or
`as_sequence` is given. `window` cuts every sequence into windows; each inherits its label.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError, unknown
from . import files
from .idx import read_idx
from .sources import cache_dir, fetch, get_source, is_cached

DIGITS_TRAIN = 1437  # of 1797: the fixed 80/20 split, permutation seeded with 0
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
BUILTINS = {
    "digits": ("8x8 handwritten digits shipped with scikit-learn (1437 train / 360 test)",
               tuple(str(i) for i in range(10))),
    "mnist": ("28x28 handwritten digits (60000 train / 10000 test)", tuple(str(i) for i in range(10))),
    "fashion-mnist": ("28x28 Zalando clothing images (60000 train / 10000 test)", FASHION),
}
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as Pillow's convert("L")


@dataclass(frozen=True)
class Split:
    """images : (N, C, H, W) float32 in [0, 1], or (N, T, F) float32 for sequences.
    labels : (N,) int64 or None.  meta : name, split, kind, shape, classes, source, n.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    meta: dict

    def __len__(self) -> int:
        return int(self.images.shape[0])


def load_dataset(name: str, split: str = "train", *, data_dir=None, offline: bool = False,
                 resize=None, channels: int | None = None, window: int | None = None,
                 stride: int | None = None, as_sequence: bool = False) -> Split:
    """Load a built-in dataset (fetching it unless offline) or a user's file or folder.

    resize (int or (H, W)) and channels (1 or 3) apply to images; as_sequence reads
    single-channel images as H steps of W features (MNIST: 28 steps of 28 pixels); window and
    stride (default: window) cut sequences into (window, F) pieces.
    """
    resize, window, stride = _check_options(resize, channels, window, stride)
    sequence = as_sequence or window is not None
    try:
        x, y, meta = _load_raw(name, split, data_dir, offline, resize, channels, sequence)
    except MemoryError:
        raise out_of_memory(name) from None
    if meta["kind"] == "image":
        x = _shape_images(x, resize, channels)
        if sequence:
            x, meta["kind"] = _rows_as_steps(x, meta["source"]), "sequence"
    elif resize is not None or channels is not None:
        raise ConfigError(f"resize and channels apply to images; {meta['source']} holds sequences")
    if meta.pop("needs_window", False) and window is None:
        raise DataError(f"{meta['source']} is a time series ({x.shape[1]} steps x {x.shape[2]} "
                        "features): pass --window N (window=N) to cut it into windows")
    if window is not None:
        x, y = _windows(x, y, window, stride, meta["source"])
    return _finish(x, y, meta, name, split)


def streamable(name: str) -> bool:
    """Whether `name` can be read batch by batch from disk: an existing .npy file or folder of images."""
    if name in BUILTINS:
        return False
    path = Path(name).expanduser()
    return path.is_dir() or (path.suffix.lower() == ".npy" and path.is_file())


def out_of_memory(name: str) -> DataError:
    """The error for data that does not fit in this process's memory (a MemoryError while loading it)."""
    from .memory import available_bytes

    hint = ("; stream it from disk with --stream true (stream=True), adding --limit N to train on fewer samples"
            if streamable(name) else "; free memory, or save it as a .npy and stream it with --stream true")
    return DataError(f"{name}: not enough memory to load it resident (this process may allocate "
                     f"{available_bytes() / 2**30:.1f} GiB more){hint}")


def _finish(x: torch.Tensor, y: torch.Tensor | None, meta: dict, name: str, split: str) -> Split:
    meta.update(name=name, split=split, shape=list(x.shape[1:]), n=int(x.shape[0]))
    meta.setdefault("classes", None)
    return Split(x.contiguous(), y, meta)


def _check_options(resize, channels, window, stride):
    """Validate once, up front, so a bad option never surfaces as a shape error later."""
    if isinstance(resize, int) and not isinstance(resize, bool):
        resize = (resize, resize)
    if resize is not None:
        resize = tuple(resize)
        if len(resize) != 2 or not all(isinstance(v, int) and v > 0 for v in resize):
            raise ConfigError(f"resize must be a positive int or (height, width), got {resize!r}")
    if channels not in (None, 1, 3):
        raise ConfigError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    for label, value in (("window", window), ("stride", stride)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{label} must be a positive int, got {value!r}")
    if stride is not None and window is None:
        raise ConfigError("stride needs a window (pass --window too)")
    return resize, window, (stride or window)


def _load_raw(name, split, data_dir, offline, resize, channels, sequence):
    """(x, labels, meta) before resizing/windowing; meta has kind, source and classes."""
    if name in BUILTINS:
        if split not in _IDX_PREFIX:
            raise DataError(unknown(f"split of {name}", split, _IDX_PREFIX))
        x, y, source = _digits(split) if name == "digits" else _idx(name, split, data_dir, offline)
        return x, y, {"kind": "image", "source": source, "classes": list(BUILTINS[name][1])}
    return files.load_path(_user_path(name), split, resize, channels, sequence)


def _user_path(name: str) -> Path:
    path = Path(name).expanduser()
    if not path.exists():
        raise DataError(f"{unknown('dataset', name, BUILTINS)}; or give a path to a .npy, .npz "
                        f"or .csv file or an image folder (no such file or folder: {path})")
    return path


def _digits(split: str):
    """scikit-learn's 8x8 digits, values 0..16 scaled to [0, 1], with a fixed seeded split."""
    from sklearn.datasets import load_digits  # imported here: sklearn is slow to import

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    index = order[:DIGITS_TRAIN] if split == "train" else order[DIGITS_TRAIN:]
    x = torch.from_numpy(digits.images[index].astype(np.float32) / 16.0).unsqueeze(1)
    return x, torch.from_numpy(digits.target[index].astype(np.int64)), "sklearn.datasets.load_digits"


def _idx(name: str, split: str, data_dir, offline: bool):
    """An MNIST-layout dataset from its verified cache folder: uint8 pixels / 255."""
    folder = fetch(name, data_dir=data_dir, offline=offline)
    prefix = _IDX_PREFIX[split]
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte")
    if images.ndim != 3 or images.dtype != np.uint8 or labels.shape != images.shape[:1]:
        raise DataError(f"{folder}: {prefix} images {images.shape} {images.dtype} do not match "
                        f"labels {labels.shape}")
    x = torch.from_numpy(images).unsqueeze(1).float().div_(255.0)
    return x, torch.from_numpy(labels.astype(np.int64)), str(folder)


def _shape_images(x: torch.Tensor, resize, channels) -> torch.Tensor:
    """Convert channels (1 <-> 3) and resize (bilinear, antialiased) tensors of images."""
    if channels is not None and x.shape[1] != channels:
        if x.shape[1] == 1 and channels == 3:
            x = x.repeat(1, 3, 1, 1)
        elif x.shape[1] == 3 and channels == 1:
            x = (x * torch.tensor(_LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
        else:
            raise DataError(f"cannot convert {x.shape[1]}-channel images to {channels} channels")
    if resize is not None and tuple(x.shape[-2:]) != resize:
        x = F.interpolate(x, size=resize, mode="bilinear", align_corners=False, antialias=True)
        x = x.clamp_(0.0, 1.0)
    return x


def _rows_as_steps(x: torch.Tensor, source: str) -> torch.Tensor:
    """(N, 1, H, W) -> (N, H, W): each image row is one time step."""
    if x.shape[1] != 1:
        raise DataError(f"{source}: reading images as sequences needs 1 channel, got "
                        f"{x.shape[1]}; pass channels=1")
    return x[:, 0]


def _windows(x: torch.Tensor, y, window: int, stride: int, source: str):
    """(N, T, F) -> (N * k, window, F): k windows per sequence, each keeping its label."""
    if x.shape[1] < window:
        raise DataError(f"{source}: sequences have {x.shape[1]} steps, fewer than window={window}")
    pieces = x.unfold(1, window, stride)  # (N, k, F, window)
    k = pieces.shape[1]
    x = pieces.permute(0, 1, 3, 2).reshape(-1, window, x.shape[2])
    return x, (None if y is None else y.repeat_interleave(k))


def split_names(name: str) -> list[str]:
    """The splits a dataset offers: train and test for the built-ins, those of a file (train only
    for a .npy, a .csv or a folder; an .npz's x_<split> arrays)."""
    return list(_IDX_PREFIX) if name in BUILTINS else files.splits_of(_user_path(name))


def dataset_info(name: str, *, data_dir=None, offline: bool = False) -> dict:
    """What a dataset holds: shape, splits and counts, value range, classes, source, checksums."""
    splits = split_names(name)
    parts = {s: _load_raw(name, s, data_dir, offline, None, None, False) for s in splits}
    x0, _, meta = parts[splits[0]]
    info = {
        "name": name, "kind": meta["kind"], "shape": list(x0.shape[1:]), "source": meta["source"],
        "splits": {s: int(x.shape[0]) for s, (x, _, _) in parts.items()},
        "range": [min(float(x.min()) for x, _, _ in parts.values()),
                  max(float(x.max()) for x, _, _ in parts.values())],
        "classes": meta.get("classes"),
        "class_counts": _class_counts(parts, meta.get("classes")),
    }
    if meta.get("needs_window"):
        info["note"] = "a time series: pass --window N to cut it into windows"
    info.update(_checksums(name, data_dir, meta["source"]))
    return info


def _class_counts(parts: dict, classes) -> dict | None:
    if not classes or any(y is None for _, y, _ in parts.values()):
        return None
    counts = {s: torch.bincount(y, minlength=len(classes)).tolist() for s, (_, y, _) in parts.items()}
    return {s: dict(zip(classes, c)) for s, c in counts.items()}


def _checksums(name: str, data_dir, source: str) -> dict:
    """Built-in IDX files were just verified by fetch; users' files get their sha256 reported."""
    if name == "digits":
        return {"checksum": "not needed: ships inside scikit-learn"}
    if name in BUILTINS:
        return {"checksum": "verified: the sha256 of every file matches the reference list below",
                "files": {f.name: f.sha256 for f in get_source(name).files}}
    path = Path(source)
    if path.is_file():
        return {"checksum": "no reference to check against",
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {"checksum": "no reference to check against"}


def list_datasets(data_dir=None) -> list[dict]:
    """The built-in datasets, each with whether it is already in the cache."""
    rows = []
    for name, (description, classes) in BUILTINS.items():
        cached = name == "digits" or is_cached(name, data_dir)
        where = "scikit-learn" if name == "digits" else str(cache_dir(data_dir) / name)
        rows.append({"name": name, "description": description, "cached": cached,
                     "source": where, "classes": len(classes)})
    return rows
