"""IDX files (the MNIST format): a 4-byte magic, big-endian uint32 dimensions, big-endian data.

Files may be gzipped or plain; we tell them apart by the gzip magic bytes, never by the file
name, because mirrors and hand-copied caches do not agree on names. Every problem with the bytes
is reported as a DataError naming the file: callers can then say "delete it and fetch again".
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import write_bytes

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian numpy dtype (Y. LeCun's format description).
DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in DTYPES.items()}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or plain) into a native-endian, writable array."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read IDX file {path}: {e.strerror or e}") from e
    return decode_idx(data, source=str(path))


def decode_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes (gzipped or plain); `source` names them in error messages."""
    data = maybe_gunzip(data, source)
    dtype, dims, offset = _parse_header(data, source)
    expected = math.prod(dims) * dtype.itemsize
    got = len(data) - offset
    if got < expected:
        raise DataError(
            f"{source}: truncated IDX file: the header {tuple(dims)} needs {expected} bytes "
            f"of data, got {got}"
        )
    if got > expected:
        raise DataError(
            f"{source}: {got - expected} trailing bytes after the IDX data: the header "
            f"{tuple(dims)} needs {expected} bytes, got {got}"
        )
    try:
        array = np.frombuffer(data, dtype=dtype, offset=offset).reshape(dims)
    except ValueError as e:  # more than 64 dims, or dims whose product overflows
        raise DataError(f"{source}: numpy cannot hold the IDX shape {tuple(dims)}: {e}") from e
    return array.astype(dtype.newbyteorder("="))  # a copy: native order and writable


def write_idx(path: str | os.PathLike, array, *, compress: bool | None = None) -> None:
    """Write `array` as IDX, atomically; gzipped when `compress` (default: name ends in .gz)."""
    path = Path(path)
    data = encode_idx(array)
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        data = gzip.compress(data, mtime=0)  # mtime=0: the same array gives the same bytes
    write_bytes(path, data)


def encode_idx(array) -> bytes:
    """The IDX bytes of `array` (uint8, int8, int16, int32, float32 or float64; 1-255 dims)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        known = ", ".join(str(dt.newbyteorder("=")) for dt in DTYPES.values())
        raise DataError(f"IDX cannot store dtype {array.dtype}; use one of: {known}")
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise DataError(f"IDX cannot store shape {array.shape}: 1-255 dims, each < 2**32")
    code = _CODES[native]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(DTYPES[code], copy=False).tobytes(order="C")


def maybe_gunzip(data: bytes, source: str) -> bytes:
    """Decompress if `data` starts with the gzip magic; any corrupt gzip becomes a DataError."""
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{source}: corrupt gzip data: {e}") from e


def _parse_header(data: bytes, source: str) -> tuple[np.dtype, list[int], int]:
    """Return (dtype, dims, data offset) after checking magic, type code and header length."""
    if len(data) < 4:
        raise DataError(f"{source}: truncated IDX file: {len(data)} bytes, the magic alone needs 4")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DataError(
            f"{source}: wrong magic number 0x{data[:4].hex()}: an IDX file starts with two "
            "zero bytes (is this an IDX file?)"
        )
    if code not in DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in DTYPES)
        raise DataError(f"{source}: unsupported IDX dtype code 0x{code:02X}; known: {known}")
    if ndim == 0:
        raise DataError(f"{source}: IDX header declares 0 dimensions")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DataError(
            f"{source}: truncated IDX header: {ndim} dimensions need {offset} bytes, "
            f"got {len(data)}"
        )
    dims = list(struct.unpack(f">{ndim}I", data[4:offset]))
    return DTYPES[code], dims, offset
