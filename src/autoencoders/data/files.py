"""Users' own data: .npy, .npz, .csv time series and folders of images, as raw tensors.

Each loader returns (x, labels, meta) with meta['kind'] 'image' (x: (N, C, H, W) in [0, 1]) or
'sequence' (x: (N, T, F) float32, values as given); datasets.py then resizes or windows them.
Every error names the file and what is wrong with it, because users' files are where most
problems are.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def load_path(path: Path, split: str, resize, channels, sequence: bool):
    """Dispatch on the path: a folder of images, or a .npy / .npz / .csv file."""
    if path.is_dir():
        _only_train(path, split)
        return load_folder(path, resize, channels)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        x, y = _npz_arrays(path, split)
    elif suffix in (".npy", ".csv"):
        _only_train(path, split)
        if suffix == ".csv":
            return torch.from_numpy(read_csv(path)[None]), None, {
                "kind": "sequence", "source": str(path), "needs_window": True}
        x, y = _load_npy(path), None
    else:
        raise DataError(f"{path}: unsupported file type '{suffix}'; use .npy, .npz, .csv "
                        "or a folder of images")
    return _from_array(x, y, path, sequence)


def splits_of(path: Path) -> list[str]:
    """The splits a file offers: those named in an .npz's x_<split> keys, else just 'train'."""
    if path.suffix.lower() == ".npz":
        with _open_npz(path) as npz:
            return _named_splits(npz.files) or ["train"]
    return ["train"]


def _named_splits(keys) -> list[str]:
    """'train' first, then the others: the splits named by x_<split> / images_<split> keys."""
    named = {k.split("_", 1)[1] for k in keys if k.startswith(("x_", "images_"))}
    return sorted(named, key=lambda s: (s != "train", s))


def _only_train(path: Path, split: str) -> None:
    if split != "train":
        raise DataError(f"{path} has no '{split}' split: a file or folder without splits loads "
                        "entirely as split 'train' (an .npz may hold x_train/x_test arrays); to train on it, "
                        "hold out part of it for validation with --validation 0.2")


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"cannot read {path} as a numpy array: {e}") from e


def _open_npz(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"cannot read {path} as an .npz archive: {e}") from e


def _npz_arrays(path: Path, split: str):
    """(images, labels or None) for `split`: x_<split>/images_<split>, else x/images for 'train'."""
    with _open_npz(path) as npz:
        keys = set(npz.files)
        for xk, yk in (("x", "y"), ("images", "labels")):
            if f"{xk}_{split}" in keys:
                y = npz[f"{yk}_{split}"] if f"{yk}_{split}" in keys else None
                return npz[f"{xk}_{split}"], y
        if _named_splits(keys) or not keys & {"x", "images"}:
            found = ", ".join(sorted(keys)) or "none"
            raise DataError(f"{path}: no images for split '{split}': expected arrays 'x' or "
                            f"'images' (+ optional 'y'/'labels'), or x_<split>; keys found: {found}")
        _only_train(path, split)
        xk, yk = ("x", "y") if "x" in keys else ("images", "labels")
        return npz[xk], (npz[yk] if yk in keys else None)


def _from_array(x: np.ndarray, y, path: Path, sequence: bool):
    """Numpy images or sequences -> tensors, checking shape, value range and labels."""
    if sequence and x.ndim in (2, 3):  # (T, F) is one sequence; (N, T, F) many
        seq = torch.from_numpy(np.array(x, dtype=np.float32, ndmin=3))
        _check_finite(seq, path)
        return seq, _labels(y, seq.shape[0], path), {"kind": "sequence", "source": str(path),
                                                     "classes": _classes(y)}
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)  # channels-last (N, H, W, C), as Keras saves images
    elif x.ndim != 4:
        raise DataError(f"{path}: array of shape {x.shape}: images need (N, H, W) or "
                        "(N, C, H, W); a time series (T, F) or (N, T, F) needs --window N")
    images = torch.from_numpy(_unit_range(x, path))
    return images, _labels(y, images.shape[0], path), {"kind": "image", "source": str(path),
                                                       "classes": _classes(y)}


def _unit_range(x: np.ndarray, path: Path) -> np.ndarray:
    """uint8 (or integers in 0..255) -> /255; floats must already lie in [0, 1]."""
    if x.dtype == np.bool_:
        return x.astype(np.float32)
    if x.size == 0:
        raise DataError(f"{path}: the array is empty (shape {x.shape})")
    lo, hi = x.min(), x.max()
    if np.issubdtype(x.dtype, np.integer):
        if lo < 0 or hi > 255:
            raise DataError(f"{path}: integer pixels range [{lo}, {hi}], expected 0..255")
        return x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{path}: unsupported dtype {x.dtype}; use uint8 or float in [0, 1]")
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi > 1:
        hint = " (divide by 255 first?)" if hi <= 255 and lo >= 0 else ""
        raise DataError(f"{path}: float pixels range [{lo:g}, {hi:g}], expected within [0, 1]{hint}")
    return x.astype(np.float32)


def _check_finite(x: torch.Tensor, path: Path) -> None:
    if not torch.isfinite(x).all():
        raise DataError(f"{path}: the sequences contain NaN or infinite values")


def _labels(y, n: int, path: Path) -> torch.Tensor | None:
    """Integer class labels 0..K-1, one per sample, as int64."""
    if y is None:
        return None
    y = np.asarray(y)
    if y.shape != (n,):
        raise DataError(f"{path}: labels have shape {y.shape}, expected ({n},)")
    if n and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0):
        raise DataError(f"{path}: labels must be integers >= 0, got dtype {y.dtype}")
    return torch.from_numpy(y.astype(np.int64))


def _classes(y) -> list[str] | None:
    return None if y is None or len(y) == 0 else [str(i) for i in range(int(np.max(y)) + 1)]


def read_csv(path: Path) -> np.ndarray:
    """A CSV time series -> (T, F) float32; rows are time steps, a non-numeric first row a header."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [(i, r) for i, r in enumerate(csv.reader(f), 1) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read {path} as CSV: {e}") from e
    if rows and not _numeric(rows[0][1]):
        rows = rows[1:]  # a header row
    if not rows:
        raise DataError(f"{path}: no numeric rows (an empty CSV?)")
    width = len(rows[0][1])
    values = []
    for line, row in rows:
        if len(row) != width or not _numeric(row):
            raise DataError(f"{path} line {line}: expected {width} numbers, got {','.join(row)!r}")
        values.append([float(c) for c in row])
    series = np.asarray(values, dtype=np.float32)
    if not np.isfinite(series).all():
        raise DataError(f"{path}: the series contains NaN or infinite values")
    return series


def _numeric(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return bool(row)


def load_folder(root: Path, resize, channels):
    """A folder of images (optionally one sub-folder per class) -> (N, C, H, W) in [0, 1]."""
    paths, labels, classes = _scan(root)
    images = [_open_image(p) for p in paths]
    if channels is None:
        channels = 1 if all(_is_gray(im) for im in images) else 3
    arrays = [_pixels(im, channels, resize) for im in images]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape
        other = next(i for i, a in enumerate(arrays) if a.shape != first)
        raise DataError(f"images differ in size: {paths[0]} is {first[1]}x{first[2]}, "
                        f"{paths[other]} is {arrays[other].shape[1]}x{arrays[other].shape[2]} "
                        "(height x width); pass --resize H W (resize=(H, W)) to load them together")
    x = torch.from_numpy(np.stack(arrays))
    y = None if labels is None else torch.tensor(labels, dtype=torch.int64)
    return x, y, {"kind": "image", "source": str(root), "classes": classes}


def _scan(root: Path):
    """Image paths in a stable order, plus labels and class names when there are class folders."""
    top = _images_in(root)
    folders = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    classes = [d for d in folders if _images_in(d)]
    if not classes:
        if not top:
            raise DataError(f"{root}: no images found ({', '.join(IMAGE_SUFFIXES)}), neither "
                            "in the folder nor in class sub-folders")
        return top, None, None
    if top:
        raise DataError(f"{root} mixes images at its top ({top[0].name}) with class folders "
                        f"({classes[0].name}/): move them into a class folder")
    paths, labels = [], []
    for label, folder in enumerate(classes):
        found = _images_in(folder)
        paths += found
        labels += [label] * len(found)
    return paths, labels, [d.name for d in classes]


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _open_image(path: Path):
    from PIL import Image  # imported here: only image folders need Pillow

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for a broken file
        raise DataError(f"cannot decode image {path}: {e}") from e


def _is_gray(im) -> bool:
    """Grayscale by mode, or an RGB-like image whose three channels are equal everywhere."""
    if im.mode in _GRAY_MODES:
        return True
    rgb = np.asarray(im.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _pixels(im, channels: int, resize) -> np.ndarray:
    """A PIL image -> (C, H, W) float32 in [0, 1], converted and optionally resized."""
    from PIL import Image

    if im.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit gray: scale to 8 bits, don't clip
        im = Image.fromarray(np.clip(np.asarray(im, dtype=np.float64) / 257, 0, 255)
                             .round().astype(np.uint8))
    im = im.convert("L" if channels == 1 else "RGB")
    if resize is not None and im.size != (resize[1], resize[0]):
        im = im.resize((resize[1], resize[0]), Image.Resampling.BILINEAR)
    a = np.asarray(im, dtype=np.float32) / 255.0
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy()
