"""Atomic writes: all or nothing, and ordinary permissions."""

import os
import stat

import pytest

from autoencoders.fileio import atomic_path, read_json, write_json


def test_write_json_round_trip_and_permissions(tmp_path):
    path = tmp_path / "a.json"
    write_json(path, {"x": [1, 2]})
    assert read_json(path) == {"x": [1, 2]}
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
