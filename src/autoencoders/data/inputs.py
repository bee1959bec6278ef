"""A trained model's inputs read from users' files, and its outputs written back in the same form.

`ae denoise RUN INPUT -o OUTPUT` (and anyone with a run) reads an image file, a folder of images or
a .npy as samples of the run's shape, decoded and range-checked as training data is (files.py),
and writes the results as the same kind of thing: a .npy of the input's shape, an image, or a
folder of images under the same names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..fileio import atomic_path, write_npy
from . import files


def read_input(path: Path, shape: tuple) -> torch.Tensor:
    """An image file, a folder of images or a .npy -> (N, *shape) float32, checked against `shape`."""
    path = Path(path)
    if path.is_dir():
        return torch.stack([_read_image(f, shape) for f in _image_files(path)])
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".npy":
        return _read_npy(path, shape)
    if path.suffix.lower() in files.IMAGE_SUFFIXES:
        return _read_image(path, shape)[None]
    raise DataError(f"{path}: unsupported input '{path.suffix}'; give an image, a folder of images or a .npy")


def write_output(source: Path, output: Path, x: torch.Tensor) -> None:
    """Write x : (N, *shape) in the form of `source`: a .npy of its shape, an image, or a folder."""
    source, output = Path(source), Path(output)
    if source.suffix.lower() == ".npy":
        if output.suffix.lower() != ".npy":
            raise DataError(f"{output}: INPUT is a .npy, so OUTPUT must be a .npy too")
        original = files.npy_header(source).shape
        write_npy(output, x.numpy().astype(np.float32).reshape(original))
    elif source.is_dir():
        if output.exists() and not output.is_dir():
            raise DataError(f"{output}: INPUT is a folder, so OUTPUT must be a folder (this is a file)")
        for path, image in zip(_image_files(source), x):
            _write_image(output / path.name, image)
    else:
        _write_image(output, x[0])


def _image_files(folder: Path) -> list[Path]:
    found = files.images_in(folder)
    if not found:
        raise DataError(f"{folder}: no images ({', '.join(files.IMAGE_SUFFIXES)}) in this folder")
    return found


def _read_image(path: Path, shape: tuple) -> torch.Tensor:
    """One image -> (C, H, W) in [0, 1], decoded as training decodes image folders."""
    if len(shape) != 3:
        raise DataError(f"{path}: this run takes sequences {shape}, not images; give a .npy")
    pixels = files.image_pixels(path, shape[0])
    if pixels.shape[1:] != tuple(shape[1:]):
        raise DataError(f"{path}: image is {pixels.shape[1]}x{pixels.shape[2]} (HxW) but the run takes "
                        f"{shape[1]}x{shape[2]}; resize it first")
    return torch.from_numpy(pixels)


def _read_npy(path: Path, shape: tuple) -> torch.Tensor:
    """A batch (N, *shape) or one sample `shape`; (N, H, W) / (H, W) also fit 1-channel image runs.

    Images are scaled and checked as training data is (uint8 or integers 0..255 -> /255, floats
    in [0, 1], no NaN); sequences must be finite.
    """
    arr = files.load_array(path)
    if len(shape) == 3:
        arr = files.unit_range(arr, path)
    elif arr.dtype.kind not in "biuf" or not np.isfinite(arr).all():
        raise DataError(f"{path}: sequences must be finite numbers (NaN or infinite values, or dtype {arr.dtype})")
    arr = arr.astype(np.float32)
    if arr.shape == shape:
        return torch.from_numpy(arr[None])
    if arr.shape[1:] == shape:
        return torch.from_numpy(arr)
    if len(shape) == 3 and shape[0] == 1 and arr.shape[-2:] == shape[1:] and arr.ndim in (2, 3):
        return torch.from_numpy(arr.reshape(-1, *shape))
    raise DataError(f"{path}: array of shape {arr.shape} does not hold samples of the run's shape {shape}")


def _write_image(path: Path, image: torch.Tensor) -> None:
    from PIL import Image  # imported here, as in files.py: only images need Pillow

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unknown image format '{path.suffix}'; use .png, .jpg, ...")
    pixels = (image.clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format=fmt)
