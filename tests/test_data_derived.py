"""data/derived.py: values derived from a dataset, cached beside it, keyed by its content, never trusted torn."""

import json

import numpy as np
import pytest
import torch

from autoencoders.data import Split, derived
from autoencoders.data.derived import cached, checksum, derived_dir


def split(images, labels=None):
    return Split(images, labels, {})


class Counter:
    """compute() for `cached`: counts its calls, returns a value and an array."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"score": 0.25, "n": 3, "name": "x"}, {"points": np.arange(12, dtype=np.float32).reshape(6, 2)}


def only_entry(folder):
    (path,) = folder.glob("*.json")
    return path


def test_second_call_reads_the_entry_and_gives_the_same_value(tmp_path):
    compute = Counter()
    first = cached(tmp_path, "thing", {"seed": 0}, compute)
    second = cached(tmp_path, "thing", {"seed": 0}, compute)
    assert compute.calls == 1
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1]["points"], second[1]["points"])
    assert second[1]["points"].dtype == np.float32


def test_another_key_is_another_entry(tmp_path):
    compute = Counter()
    cached(tmp_path, "thing", {"seed": 0}, compute)
    cached(tmp_path, "thing", {"seed": 1}, compute)
    cached(tmp_path, "other", {"seed": 0}, compute)
    assert compute.calls == 3
    assert len(list(tmp_path.glob("*.json"))) == 3


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "a list", "another key"])
def test_a_damaged_entry_is_recomputed_and_rewritten(tmp_path, damage):
    compute = Counter()
    cached(tmp_path, "thing", {"seed": 0}, compute)
    path = only_entry(tmp_path)
    text = path.read_text()
    path.write_text({"truncated": text[: len(text) // 2], "garbage": "\x00\xff{{not json", "empty": "",
                     "a list": "[1, 2]", "another key": text.replace('"seed": 0', '"seed": 7')}[damage])
    value, arrays = cached(tmp_path, "thing", {"seed": 0}, compute)
    assert compute.calls == 2
    assert value == {"score": 0.25, "n": 3, "name": "x"}
    assert json.loads(path.read_text())["key"] == {"seed": 0}  # rewritten whole
    cached(tmp_path, "thing", {"seed": 0}, compute)
    assert compute.calls == 2


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing", "other values"])
def test_a_damaged_array_is_recomputed_and_rewritten(tmp_path, damage):
    compute = Counter()
    cached(tmp_path, "thing", {"seed": 0}, compute)
    (npy,) = tmp_path.glob("*.npy")
    data = npy.read_bytes()
    if damage == "missing":
        npy.unlink()
    elif damage == "other values":  # a whole, readable array that is not the one the entry describes
        np.save(npy, np.zeros((6, 2), np.float32))
    else:
        npy.write_bytes(data[: len(data) - 8] if damage == "truncated" else b"\x93NUMPY garbage" + data[40:])
    _, arrays = cached(tmp_path, "thing", {"seed": 0}, compute)
    assert compute.calls == 2
    np.testing.assert_array_equal(arrays["points"], np.arange(12, dtype=np.float32).reshape(6, 2))
    assert npy.read_bytes() == data


def test_a_check_that_refuses_the_entry_recomputes(tmp_path):
    compute = Counter()
    cached(tmp_path, "thing", {}, compute)

    def check(value, arrays):
        raise ValueError("not what this caller reads")

    cached(tmp_path, "thing", {}, compute, check)
    assert compute.calls == 2


def test_no_folder_computes_every_time_and_an_unwritable_one_warns(tmp_path):
    compute = Counter()
    cached(None, "thing", {}, compute)
    cached(None, "thing", {}, compute)
    assert compute.calls == 2
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    with pytest.warns(RuntimeWarning, match="could not cache"):
        value, _ = cached(blocked / "derived", "thing", {}, compute)
    assert value["score"] == 0.25


def test_checksum_follows_the_content_of_images_and_labels():
    x, y = torch.rand(20, 1, 4, 4), torch.arange(20) % 3
    base = checksum(split(x, y))
    assert checksum(split(x.clone(), y.clone())) == base  # content, not identity
    changed = x.clone()
    changed[3, 0, 1, 2] += 1e-6
    assert checksum(split(changed, y)) != base
    assert checksum(split(x, (y + 1) % 3)) != base
    assert checksum(split(x, None)) != base
    assert checksum(split(x.double(), y)) != base  # the dtype is part of it
    assert checksum(split(x.reshape(20, 16), y)) != base  # and the shape


def test_checksum_is_computed_once_per_tensor_and_again_after_an_in_place_change(monkeypatch):
    x, y = torch.rand(10, 3), torch.arange(10)
    data = split(x, y)
    first = checksum(data)
    hashed = []
    real = derived.hashlib.sha256
    monkeypatch.setattr(derived.hashlib, "sha256", lambda *a: hashed.append(1) or real(*a))
    assert checksum(data) == first and not hashed  # remembered
    x[0, 0] += 1.0  # in place: torch bumps the tensor's version
    assert checksum(data) != first and hashed


def test_derived_values_live_beside_the_data(tmp_path):
    assert derived_dir("mnist", tmp_path) == tmp_path / "mnist" / "derived"
    assert derived_dir("digits", tmp_path) == tmp_path / "digits" / "derived"
    assert derived_dir(str(tmp_path / "mine.npy"), tmp_path) == tmp_path / "files" / "derived"
