"""A folder of images as a streaming Dataset: each image is decoded when a batch asks for it.

The folder is scanned as `load_dataset` scans it (data/files.py: optional class sub-folders give
labels); samples come back as uint8 (C, H, W) tensors, divided by 255 on the device. All images
must share one size (resizing needs the resident path); the channel count is `channels`, else
that of the first image (1 for grayscale modes, 3 otherwise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from . import files


def image_paths(root: Path) -> tuple[list, list | None]:
    """(paths in a stable order, labels or None), as `load_dataset` orders a folder."""
    paths, labels, _ = files._scan(Path(root))
    return paths, labels


class ImageFiles(torch.utils.data.Dataset):
    """root : a folder of images; rows : the subset of its (sorted) images to expose, or None."""

    def __init__(self, root, rows=None, *, channels: int | None = None):
        paths, labels = image_paths(Path(root))
        rows = np.arange(len(paths)) if rows is None else np.asarray(rows, dtype=np.int64)
        self.paths = [paths[i] for i in rows]
        self.labels = None if labels is None else torch.tensor([labels[i] for i in rows], dtype=torch.int64)
        first = files._open_image(self.paths[0])
        self.channels = channels or (1 if files._is_gray(first) else 3)
        self.shape = None
        self.shape = tuple(self._pixels(first, self.paths[0]).shape)

    def __len__(self) -> int:
        return len(self.paths)

    def _pixels(self, im, path) -> torch.Tensor:
        """A PIL image -> (C, H, W) uint8, checked against the first image's shape."""
        a = np.array(im.convert("L" if self.channels == 1 else "RGB"), dtype=np.uint8)
        x = torch.from_numpy(a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy())
        if self.shape is not None and tuple(x.shape) != self.shape:
            raise DataError(f"images differ in size: {path} is {tuple(x.shape)}, the first is {tuple(self.shape)} "
                            "(streaming cannot resize: pass stream=False with resize)")
        return x

    def __getitem__(self, i: int):
        x = self._pixels(files._open_image(self.paths[i]), self.paths[i])
        return x if self.labels is None else (x, self.labels[i])
