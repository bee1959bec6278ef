"""IDX reader/writer: round trips, and every kind of bad file gives a DataError naming it."""

import gzip
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoencoders.data.idx import decode_idx, encode_idx, read_idx, write_idx
from autoencoders.errors import DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "plain.gz", array, compress=False)
    write_idx(tmp_path / "packed.idx", array, compress=True)
    assert (tmp_path / "packed.idx").read_bytes()[:2] == b"\x1f\x8b"
    for name in ("plain.gz", "packed.idx"):
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_known_header_bytes():
    data = encode_idx(np.zeros((2, 3), dtype=np.uint8))
    assert data[:4] == b"\x00\x00\x08\x02"
    assert struct.unpack(">II", data[4:12]) == (2, 3)
    assert len(data) == 12 + 6


def _write(tmp_path, data: bytes, name="bad.idx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_wrong_magic(tmp_path):
    path = _write(tmp_path, b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match="wrong magic number") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_unsupported_dtype_code(tmp_path):
    path = _write(tmp_path, b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match="unsupported IDX dtype code 0x07") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_truncated_data_says_expected_and_got(tmp_path):
    data = encode_idx(np.zeros((4, 5), dtype=np.int16))
    path = _write(tmp_path, data[:-3])
    with pytest.raises(DataError, match=r"truncated IDX file.*needs 40 bytes of data, got 37") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_truncated_header(tmp_path):
    path = _write(tmp_path, b"\x00\x00\x08\x03" + struct.pack(">I", 2))
    with pytest.raises(DataError, match="truncated IDX header: 3 dimensions need 16 bytes, got 8"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = _write(tmp_path, encode_idx(np.zeros(3, dtype=np.uint8)) + b"xx")
    with pytest.raises(DataError, match="2 trailing bytes") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_truncated_gzip(tmp_path):
    packed = gzip.compress(encode_idx(np.arange(100, dtype=np.uint8)))
    path = _write(tmp_path, packed[:-10], "cut.gz")
    with pytest.raises(DataError, match="corrupt gzip") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot read IDX file .*nope"):
        read_idx(tmp_path / "nope")


def test_unwritable_dtype(tmp_path):
    with pytest.raises(DataError, match="cannot store dtype int64"):
        write_idx(tmp_path / "x.idx", np.zeros(2, dtype=np.int64))
    assert not (tmp_path / "x.idx").exists()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_raise_anything_else(data):
    _decode_or_data_error(data)


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x01]),
       dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 4), min_size=0, max_size=70),
       body=st.binary(max_size=64), gz=st.booleans())
def test_plausible_headers_never_raise_anything_else(code, dims, body, gz):
    """Random bodies behind well-formed headers reach the size checks (and numpy's limits)."""
    data = struct.pack(">HBB", 0, code, len(dims) % 256) + struct.pack(f">{len(dims)}I", *dims) + body
    _decode_or_data_error(gzip.compress(data) if gz else data)


def _decode_or_data_error(data: bytes) -> None:
    try:
        array = decode_idx(data, source="fuzz")
    except DataError as e:
        assert "fuzz" in str(e)
        return
    assert isinstance(array, np.ndarray)
    with tempfile.TemporaryDirectory() as tmp:  # the file path agrees with the bytes path
        path = Path(tmp) / "f"
        path.write_bytes(data)
        np.testing.assert_array_equal(read_idx(path), array)
