"""A folder of images as a streaming Dataset: each image is decoded when a batch asks for it.

The folder is scanned and every image decoded as `load_dataset` does it (data/files.py: optional
class sub-folders give labels; `files.decode` is the one pixel decoder, so 8-bit, 16-bit and float
images stream as they load resident, bitwise). Samples come back as float32 (C, H, W) in [0, 1].
All images must share one size (resizing needs the resident path); the channel count is
`channels`, else that of the first image (1 when it is grey, 3 otherwise): where the resident
path would see a colour image later in the folder and take 3, streaming stops with an error.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from . import files


def image_paths(root: Path) -> tuple[list, list | None]:
    """(paths in a stable order, labels or None), as `load_dataset` orders a folder."""
    paths, labels, _ = files.scan(Path(root))
    return paths, labels


class ImageFiles(torch.utils.data.Dataset):
    """root : a folder of images; rows : the subset of its (sorted) images to expose, or None."""

    def __init__(self, root, rows=None, *, channels: int | None = None):
        paths, labels = image_paths(Path(root))
        rows = np.arange(len(paths)) if rows is None else np.asarray(rows, dtype=np.int64)
        self.paths = [paths[i] for i in rows]
        self.labels = None if labels is None else torch.tensor([labels[i] for i in rows], dtype=torch.int64)
        first = files.open_image(self.paths[0])
        self.first, self.inferred = self.paths[0], channels is None
        self.channels = files.channels_of([self.first], [first]) if channels is None else channels
        self.shape = None
        self.shape = tuple(self._pixels(first, self.paths[0]).shape)

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, rows) -> "ImageFiles":
        """These rows of this dataset (a hold-out split), with its channels and shape, not scanned again."""
        part = copy.copy(self)
        part.paths = [self.paths[i] for i in rows]
        part.labels = None if self.labels is None else self.labels[torch.as_tensor(np.asarray(rows, dtype=np.int64))]
        return part

    def _pixels(self, im, path) -> torch.Tensor:
        """A PIL image -> (C, H, W) float32, decoded as resident, checked against the first image."""
        if self.inferred and self.channels == 1 and files.channels_of([path], [im]) != 1:
            raise DataError(f"{path} is in colour but the first image, {self.first}, is grey: streaming takes the "
                            "channel count from the first image; pass --channels 3 (channels=3)")
        x = torch.from_numpy(files.decode(path, im, self.channels))
        if self.shape is not None and tuple(x.shape) != self.shape:
            raise DataError(f"images differ in size: {path} is {tuple(x.shape)}, the first is {tuple(self.shape)} "
                            "(streaming cannot resize: pass stream=False with resize)")
        return x

    def __getitem__(self, i: int):
        x = self._pixels(files.open_image(self.paths[i]), self.paths[i])
        return x if self.labels is None else (x, self.labels[i])
