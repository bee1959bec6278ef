"""The one .npy reader: the header is checked against the bytes actually there before any data is read.

numpy's own reader trusts the header: a few damaged bytes that claim a 23 TiB array make it try
to allocate that, random bytes are reported as "pickled data", and an object array inside an
.npz only fails later, when the member is first read. Here the header is parsed, the dtype and
size are checked against the stream's length (and, to read it whole, this process's memory), and
only then is the data read into a buffer of exactly the promised size. Every .npy the toolkit
reads, whole or row by row, goes through `read_header`.
"""

from __future__ import annotations

import math
import tokenize
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.lib import format as npformat

from ..errors import DataError
from . import memory

MAGIC = b"\x93NUMPY"
_PICKLE = b"\x80"  # protocol 2+ pickles start with PROTO (0x80)
CHUNK_BYTES = 1 << 24  # what `chunks` reads at a time
# What numpy's header parser (Python literals, via ast) raises for a damaged header.
_PARSE_ERRORS = (ValueError, SyntaxError, tokenize.TokenError, MemoryError, RecursionError, OverflowError,
                 TypeError, KeyError)


@dataclass(frozen=True)
class Header:
    """What a checked .npy header promises: shape, dtype, Fortran order, and where the data starts."""

    shape: tuple
    dtype: np.dtype
    fortran: bool
    offset: int  # bytes before the data (for a stream that cannot tell: a lower bound)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_header(f, size: int, where: str) -> Header:
    """The header of one .npy stream of `size` bytes from binary file `f`, checked; `f` is left at the data."""
    head = f.read(len(MAGIC))
    if head != MAGIC:
        raise DataError(f"cannot read {where}: not a numpy array (the .npy magic bytes are missing)"
                        + ("; it looks like a pickle, which is never loaded (unsafe)" if head[:1] == _PICKLE
                           else ""))
    version = tuple(f.read(2))
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise DataError(f"cannot read {where}: unknown .npy format version {version}")
    reader = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
    try:
        with warnings.catch_warnings():  # a damaged header is parsed as Python literals: its escape
            warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))  # warnings are noise
            shape, fortran, dtype = reader(f)
    except _PARSE_ERRORS as e:
        raise DataError(f"cannot read {where}: a damaged .npy header ({type(e).__name__}: {e})") from None
    _check_dtype(dtype, where)
    if any(n < 0 for n in shape):
        raise DataError(f"cannot read {where}: the header's shape {shape} has a negative size (damaged)")
    header = Header(tuple(shape), dtype, bool(fortran), f.tell() if f.seekable() else len(MAGIC) + 2)
    available = size - header.offset  # bytes after the header
    if header.nbytes > available:
        raise DataError(f"cannot read {where}: the header promises {shape} {dtype} ({header.nbytes:,} bytes) but "
                        f"only {max(available, 0):,} bytes follow: the file is truncated or damaged")
    return header


def read_array(f, size: int, where: str) -> np.ndarray:
    """Read one .npy stream of `size` bytes from binary file `f` (a file or a zip member) whole."""
    header = read_header(f, size, where)
    _check_memory(header.nbytes, where)
    buffer = bytearray(header.nbytes)
    _read_into(f, memoryview(buffer), where)
    return np.frombuffer(buffer, dtype=header.dtype).reshape(header.shape, order="F" if header.fortran else "C")


def chunks(f, header: Header, where: str, chunk_bytes: int = CHUNK_BYTES):
    """The data of a .npy file (`f` positioned at it) as flat arrays of at most `chunk_bytes`, in order:
    to look at every value of a file that may not fit in memory."""
    step = max(1, chunk_bytes // header.dtype.itemsize) * header.dtype.itemsize
    buffer = bytearray(min(step, header.nbytes))
    left = header.nbytes
    while left:
        view = memoryview(buffer)[: min(step, left)]
        _read_into(f, view, where)
        left -= len(view)
        yield np.frombuffer(view, dtype=header.dtype)


def _check_dtype(dtype: np.dtype, where: str) -> None:
    if dtype.hasobject:
        raise DataError(f"cannot read {where}: an array of Python objects, which would need unpickling (unsafe; "
                        "never loaded): save numbers, e.g. np.asarray(x, dtype=np.float32)")
    if dtype.kind not in "biuf" or dtype.subdtype is not None:
        raise DataError(f"cannot read {where}: unsupported dtype {dtype}: use a plain numeric array "
                        "(uint8, integers or floats), not strings or structured records")


def _check_memory(need: int, where: str) -> None:
    limit = memory.limit_bytes()
    if need > limit:
        raise DataError(f"cannot read {where}: the array needs {need / 2**30:.1f} GiB, more than the "
                        f"{limit / 2**30:.1f} GiB this process may use ({memory.describe_limit()})")


def _read_into(f, view: memoryview, where: str) -> None:
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            raise DataError(f"cannot read {where}: the data ends after {done:,} of {len(view):,} bytes (truncated)")
        done += n
