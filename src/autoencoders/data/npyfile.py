"""A .npy reader that checks the header against the bytes actually there before reading data.

numpy's own reader trusts the header: a few damaged bytes that claim a 23 TiB array make it try
to allocate that, random bytes are reported as "pickled data", and an object array inside an
.npz only fails later, when the member is first read. Here the header is parsed, the dtype and
size are checked against the stream's length and this machine's memory, and only then is the
data read into a buffer of exactly the promised size.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
from numpy.lib import format as npformat

from ..errors import DataError

MAGIC = b"\x93NUMPY"
_PICKLE = b"\x80"  # protocol 2+ pickles start with PROTO (0x80)


def read_array(f, size: int, where: str) -> np.ndarray:
    """Read one .npy stream of `size` bytes from binary file `f` (a file or a zip member)."""
    head = f.read(len(MAGIC))
    if head != MAGIC:
        raise DataError(f"cannot read {where}: not a numpy array (the .npy magic bytes are missing)"
                        + ("; it looks like a pickle, which is never loaded (unsafe)" if head[:1] == _PICKLE
                           else ""))
    version = tuple(f.read(2))
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise DataError(f"cannot read {where}: unknown .npy format version {version}")
    reader = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
    with warnings.catch_warnings():  # a damaged header is parsed as Python literals: its escape
        warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))  # warnings are noise
        shape, fortran, dtype = reader(f)
    _check_dtype(dtype, where)
    need = math.prod(shape) * dtype.itemsize
    available = size - (f.tell() if f.seekable() else len(MAGIC) + 2)  # bytes after the header
    if need > available:
        raise DataError(f"cannot read {where}: the header promises {shape} {dtype} ({need:,} bytes) but only "
                        f"{max(available, 0):,} bytes follow: the file is truncated or damaged")
    _check_memory(need, where)
    buffer = bytearray(need)
    _read_into(f, memoryview(buffer), where)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _check_dtype(dtype: np.dtype, where: str) -> None:
    if dtype.hasobject:
        raise DataError(f"cannot read {where}: an array of Python objects, which would need unpickling (unsafe; "
                        "never loaded): save numbers, e.g. np.asarray(x, dtype=np.float32)")
    if dtype.kind not in "biuf" or dtype.subdtype is not None:
        raise DataError(f"cannot read {where}: unsupported dtype {dtype}: use a plain numeric array "
                        "(uint8, integers or floats), not strings or structured records")


def _check_memory(need: int, where: str) -> None:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > total:
        raise DataError(f"cannot read {where}: the array needs {need / 2**30:.1f} GiB, more than this machine's "
                        f"{total / 2**30:.1f} GiB of memory")


def _read_into(f, view: memoryview, where: str) -> None:
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            raise DataError(f"cannot read {where}: the data ends after {done:,} of {len(view):,} bytes (truncated)")
        done += n
