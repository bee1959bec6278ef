"""Users' own data: .npy, .npz, .csv time series and folders of images, as raw tensors.

Each loader returns (x, labels, meta) with meta['kind'] 'image' (x: (N, C, H, W) in [0, 1]) or
'sequence' (x: (N, T, F) float32, values as given); datasets.py then resizes or windows them.
Every error names the file and what is wrong with it, because users' files are where most
problems are.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ..errors import DataError
from . import npyfile

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
MAX_CLASSES = 65536  # labels are class indices; a label of 10**12 would mean 10**12 class names
# A CSV series' columns are the features of one step: a sequence model's layers grow with them
# (an LSTM of code size 64 over F features has ~5 * 64 * F weights: 10 million columns, 13 GB).
MAX_CSV_COLUMNS = 100_000
# What a damaged .npy/.npz makes numpy's header parser, zipfile and zlib raise. Not MemoryError: a
# damaged header is refused before anything is allocated (npyfile), so one is a real shortage (datasets.py).
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
                SyntaxError, tokenize.TokenError, RuntimeError, KeyError, RecursionError,
                OverflowError, TypeError)


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
        with _reading(path, "an .npz archive"), zipfile.ZipFile(path) as zf:
            return _named_splits(_members(zf)) or ["train"]
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


@contextlib.contextmanager
def _reading(path: Path, what: str):
    """Turn whatever a damaged file makes numpy, zipfile or zlib raise into one DataError."""
    try:
        yield
    except DataError:
        raise
    except _READ_ERRORS as e:
        raise DataError(f"cannot read {path} as {what}: {type(e).__name__}: {e}") from None


def load_array(path: Path) -> np.ndarray:
    """A .npy file as an array, its header and dtype checked first (see npyfile)."""
    return _load_npy(path)


def npy_header(path: Path) -> npyfile.Header:
    """The checked header of a .npy file (shape, dtype, where the data starts), to read it in pieces."""
    with _reading(path, "a numpy array"), open(path, "rb") as f:
        return npyfile.read_header(f, os.fstat(f.fileno()).st_size, str(path))


def check_npy_pixels(path: Path, header: npyfile.Header) -> None:
    """Range-check a .npy's pixels as `unit_range` checks a loaded array, a chunk at a time (a file
    streamed may not fit in memory); 8-bit and boolean files cannot be out of range and are not read."""
    if header.dtype.kind == "b" or header.dtype == np.uint8:
        return check_pixels(Pixels(header.dtype, math.prod(header.shape), 0, 0, 0), path)
    stats = Pixels(header.dtype, 0, None, None, 0)
    with _reading(path, "a numpy array"), open(path, "rb") as f:
        f.seek(header.offset)
        for chunk in npyfile.chunks(f, header, str(path)):
            stats = stats.merge(Pixels.of(chunk))
    check_pixels(stats, path)


def image_pixels(path: Path, channels: int) -> np.ndarray:
    """One image file -> (channels, H, W) float32 in [0, 1], decoded as image folders are."""
    return decode(path, open_image(path), channels)


def _load_npy(path: Path) -> np.ndarray:
    with _reading(path, "a numpy array"), open(path, "rb") as f:
        return npyfile.read_array(f, os.fstat(f.fileno()).st_size, str(path))


def _members(zf: zipfile.ZipFile) -> dict:
    """{key: ZipInfo} of an .npz: member 'x.npy' is key 'x', as numpy names them."""
    return {info.filename.removesuffix(".npy"): info for info in zf.infolist() if not info.is_dir()}


def _npz_arrays(path: Path, split: str):
    """(images, labels or None) for `split`: x_<split>/images_<split>, else x/images for 'train'.

    Every member is read here, inside the error handling (numpy's NpzFile reads lazily).
    """
    with _reading(path, "an .npz archive"), zipfile.ZipFile(path) as zf:
        members = _members(zf)
        xk, yk = _npz_keys(path, split, set(members))
        y = _read_member(zf, members[yk], f"{path}[{yk}]") if yk in members else None
        return _read_member(zf, members[xk], f"{path}[{xk}]"), y


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    with zf.open(info) as f:
        return npyfile.read_array(f, info.file_size, where)


def _npz_keys(path: Path, split: str, keys: set) -> tuple[str, str]:
    """The names of the images and labels arrays for `split`."""
    for xk, yk in (("x", "y"), ("images", "labels")):
        if f"{xk}_{split}" in keys:
            return f"{xk}_{split}", f"{yk}_{split}"
    if _named_splits(keys) or not keys & {"x", "images"}:
        found = ", ".join(sorted(keys)) or "none"
        raise DataError(f"{path}: no images for split '{split}': expected arrays 'x' or "
                        f"'images' (+ optional 'y'/'labels'), or x_<split>; keys found: {found}")
    _only_train(path, split)
    return ("x", "y") if "x" in keys else ("images", "labels")


def _from_array(x: np.ndarray, y, path: Path, sequence: bool):
    """Numpy images or sequences -> tensors, checking dtype, shape, value range and labels."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: unsupported dtype {x.dtype}; images need uint8 or float in [0, 1], "
                        "sequences numbers")
    if sequence and x.ndim in (2, 3):  # (T, F) is one sequence; (N, T, F) many
        seq = torch.from_numpy(np.array(x, dtype=np.float32, ndmin=3))
        _check_finite(seq, path)
        return seq, _labels(y, seq.shape[0], path), {"kind": "sequence", "source": str(path),
                                                     "classes": _classes(y)}
    images = torch.from_numpy(unit_range(as_images(x, path), path))
    return images, _labels(y, images.shape[0], path), {"kind": "image", "source": str(path),
                                                       "classes": _classes(y)}


def image_shape(shape: tuple, path: Path) -> tuple:
    """(N, C, H, W) of an array of `shape` read as images: (N, H, W) gains a channel axis, channels-last
    (N, H, W, C), as Keras saves images, is turned; any other shape is a DataError."""
    if len(shape) == 3:
        return (shape[0], 1, *shape[1:])
    if len(shape) == 4:
        return (shape[0], shape[3], shape[1], shape[2]) if _channels_last(shape) else tuple(shape)
    raise DataError(f"{path}: array of shape {tuple(shape)}: images need (N, H, W) or "
                    "(N, C, H, W); a time series (T, F) or (N, T, F) needs --window N")


def as_images(x: np.ndarray, path: Path) -> np.ndarray:
    """x (N, ...) as (N, C, H, W) images, the axes chosen by `image_shape` (a view of x)."""
    shape = image_shape(x.shape, path)
    return x.transpose(0, 3, 1, 2) if _channels_last(x.shape) else x.reshape(shape)


def _channels_last(shape: tuple) -> bool:
    return len(shape) == 4 and shape[-1] in (1, 3, 4) and shape[1] not in (1, 3, 4)


def unit_range(x: np.ndarray, path: Path) -> np.ndarray:
    """uint8 (or integers in 0..255) -> /255; floats must already lie in [0, 1]."""
    check_pixels(Pixels.of(x), path)
    return to_unit(x)


def to_unit(x: np.ndarray) -> np.ndarray:
    """Checked pixels -> float32 in [0, 1] (native byte order): integers are levels 0..255, divided by 255."""
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float32) / 255.0
    return x.astype(np.float32)


class Pixels(NamedTuple):
    """What the range check needs of some pixels (a whole array, or a file chunk by chunk)."""

    dtype: np.dtype
    size: int
    lo: object  # None: no values seen yet
    hi: object
    nans: int

    @classmethod
    def of(cls, x: np.ndarray) -> "Pixels":
        if x.size == 0 or x.dtype == np.bool_:
            return cls(x.dtype, x.size, None, None, 0)
        nans = int(np.isnan(x).sum()) if x.dtype.kind == "f" else 0
        return cls(x.dtype, x.size, x.min(), x.max(), nans)

    def merge(self, other: "Pixels") -> "Pixels":
        """The stats of both parts together."""
        pick = lambda f, a, b: b if a is None else a if b is None else f(a, b)  # noqa: E731
        return Pixels(self.dtype, self.size + other.size, pick(np.fmin, self.lo, other.lo),
                      pick(np.fmax, self.hi, other.hi), self.nans + other.nans)


def check_pixels(p: Pixels, path: Path) -> None:
    """Pixels must be booleans, integers 0..255 or floats in [0, 1], and there must be some."""
    if p.dtype == np.bool_:
        return
    if p.size == 0:
        raise DataError(f"{path}: the array is empty (no pixels)")
    if p.nans:
        raise DataError(f"{path}: {p.nans} pixel values are NaN; images need numbers in [0, 1]")
    lo, hi = p.lo, p.hi
    if np.issubdtype(p.dtype, np.integer):
        if lo < 0 or hi > 255:
            raise DataError(f"{path}: integer pixels range [{lo}, {hi}], expected 0..255")
        return
    if not np.issubdtype(p.dtype, np.floating):
        raise DataError(f"{path}: unsupported dtype {p.dtype}; use uint8 or float in [0, 1]")
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi > 1:
        hint = " (divide by 255 first?)" if hi <= 255 and lo >= 0 else ""
        raise DataError(f"{path}: float pixels range [{lo:g}, {hi:g}], expected within [0, 1]{hint}")


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
    if n and int(y.max()) >= MAX_CLASSES:
        raise DataError(f"{path}: label {int(y.max())} is too large: labels are class indices 0..K-1 "
                        f"with K at most {MAX_CLASSES}; renumber the classes")
    return torch.from_numpy(y.astype(np.int64))


def _classes(y) -> list[str] | None:
    return None if y is None or len(y) == 0 else [str(i) for i in range(int(np.max(y)) + 1)]


def read_csv(path: Path) -> np.ndarray:
    """A CSV time series -> (T, F) float32; rows are time steps, a non-numeric first row a header."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [(i, _width_checked(r, path, i)) for i, r in enumerate(csv.reader(f), 1)
                    if any(c.strip() for c in r)]
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


def _width_checked(row: list[str], path: Path, line: int) -> list[str]:
    """A row, refused (before the next one is read) when it has more columns than features are
    sensible: the model built for them would be absurd, and the file is likely one series written
    across instead of down."""
    if len(row) > MAX_CSV_COLUMNS:
        raise DataError(f"{path} line {line}: {len(row):,} columns; a CSV series has one row per time step "
                        f"and one column per feature, at most {MAX_CSV_COLUMNS:,} (a series written as one "
                        "row? put one value per line)")
    return row


def _numeric(row: list[str]) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return bool(row)


def load_folder(root: Path, resize, channels):
    """A folder of images (optionally one sub-folder per class) -> (N, C, H, W) in [0, 1]."""
    paths, labels, classes = scan(root)
    images = [open_image(p) for p in paths]
    channels = channels_of(paths, images) if channels is None else channels
    arrays = [decode(p, im, channels, resize) for p, im in zip(paths, images)]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape
        other = next(i for i, a in enumerate(arrays) if a.shape != first)
        raise DataError(f"images differ in size: {paths[0]} is {first[1]}x{first[2]}, "
                        f"{paths[other]} is {arrays[other].shape[1]}x{arrays[other].shape[2]} "
                        "(height x width); pass --resize N (square N x N; resize=(H, W) from Python) "
                        "to load them together")
    x = torch.from_numpy(np.stack(arrays))
    y = None if labels is None else torch.tensor(labels, dtype=torch.int64)
    return x, y, {"kind": "image", "source": str(root), "classes": classes}


def scan(root: Path):
    """Image paths in a stable order, plus labels and class names when there are class folders."""
    top = images_in(root)
    folders = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    classes = [d for d in folders if images_in(d)]
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
        found = images_in(folder)
        paths += found
        labels += [label] * len(found)
    return paths, labels, [d.name for d in classes]


def images_in(folder: Path) -> list[Path]:
    """The image files of one folder (not its sub-folders), sorted; hidden files skipped."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def open_image(path: Path):
    """A decoded PIL image of `path`, or a DataError naming it."""
    from PIL import Image  # imported here: only image folders need Pillow

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for a broken file
        raise DataError(f"cannot decode image {path}: {e}") from e


def _decoding(path: Path, fn, *args):
    """fn(*args) on an image of `path`; a mode Pillow cannot convert becomes a DataError naming it."""
    try:
        return fn(*args)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for odd modes and sizes
        raise DataError(f"cannot decode image {path} (mode {args[0].mode}): {e}") from None


def channels_of(paths: list, images: list) -> int:
    """1 when every image is grey (by mode, or RGB with equal channels), else 3."""
    return 1 if all(_decoding(p, is_gray, im) for p, im in zip(paths, images)) else 3


def decode(path: Path, im, channels: int, resize=None) -> np.ndarray:
    """A PIL image of `path` -> (channels, H, W) float32 in [0, 1]: the one pixel decoder, resident or streamed."""
    return _decoding(path, _pixels, im, channels, resize)


def is_gray(im) -> bool:
    """Grayscale by mode, or an RGB-like image whose three channels are equal everywhere."""
    if im.mode in _GRAY_MODES:
        return True
    rgb = np.asarray(im.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _pixels(im, channels: int, resize) -> np.ndarray:
    """A PIL image -> (C, H, W) float32 in [0, 1], converted and optionally resized."""
    from PIL import Image

    if im.mode == "F":
        return _float_pixels(im, channels, resize)
    if im.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit gray: scale to 8 bits, don't clip
        im = Image.fromarray(np.clip(np.asarray(im, dtype=np.float64) / 257, 0, 255)
                             .round().astype(np.uint8))
    im = im.convert("L" if channels == 1 else "RGB")
    if resize is not None and im.size != (resize[1], resize[0]):
        im = im.resize((resize[1], resize[0]), Image.Resampling.BILINEAR)
    a = np.asarray(im, dtype=np.float32) / 255.0
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy()


def _float_pixels(im, channels: int, resize) -> np.ndarray:
    """A 32-bit float image (mode F, e.g. a float TIFF) -> (C, H, W) in [0, 1].

    Converting it to 8 bits as other modes are would round values in [0, 1] to 0 or 1, so it is
    resized as floats; values above 1 (up to 255) are read as 0..255 grey levels.
    """
    from PIL import Image

    a = np.asarray(im, dtype=np.float32)
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 255:
        raise DataError(f"float pixels must be finite and within [0, 1] (or 0..255), got range "
                        f"[{np.nanmin(a):g}, {np.nanmax(a):g}]" if np.isfinite(a).any() else "no finite pixels")
    if a.max() > 1:
        a = a / 255.0
    if resize is not None and a.shape != tuple(resize):
        a = np.asarray(Image.fromarray(a).resize((resize[1], resize[0]), Image.Resampling.BILINEAR))
    a = np.clip(a, 0.0, 1.0)[None]
    return np.repeat(a, 3, axis=0) if channels == 3 else a.copy()
