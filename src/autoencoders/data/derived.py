"""Values computed from a dataset alone (baselines, projections), cached beside it, keyed by its content.

`ae reproduce` measures the data's own baselines (the mean image, probes and a t-SNE of raw
pixels, PCA and JPEG at a code's size) for every report, and they depend on nothing but the data
and a few settings: they are computed once and kept in `derived_dir(name)` (beside a built-in's
files in the data root, `~/.cache/autoencoders/mnist/derived/`). An entry is found by its key,
a JSON object that must hold everything the value depends on: the `checksum` of each split it
reads (sha256 of the arrays as loaded, so changed files, other loader options or another resize
are other keys), the settings, the libraries' versions. Each entry is one JSON file (`<kind>-<hash
of the key>.json`: the key itself, the value, and for each array its .npy file's name and sha256),
written after its arrays, each through a temporary file renamed into place. On reading, the whole
key is compared and every array's header and checksum checked; anything torn, damaged, stale or
unreadable is no entry: the value is computed again and rewritten, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import DataError
from ..fileio import read_json, write_json, write_npy
from . import npyfile
from .datasets import BUILTINS
from .sources import cache_dir

FORMAT = 1  # of the entry files; another format is no entry
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, DataError)
_CHECKSUMS: dict[tuple, str] = {}  # per process: (id, version) of a split's tensors -> their checksum


def checksum(split) -> str:
    """sha256 of a split's arrays as loaded: images and labels, each with its dtype and shape.

    Computed once per tensor in a process (about 0.2 s for MNIST's training images, 188 MB as
    float32) and remembered while the tensors live and are not changed in place.
    """
    images, labels = split.images, split.labels
    key = tuple((id(t), t._version) for t in (images, labels) if t is not None)
    if key in _CHECKSUMS:
        return _CHECKSUMS[key]
    digest = hashlib.sha256()
    for name, tensor in (("images", images), ("labels", labels)):
        if tensor is None:
            digest.update(f"{name}:none;".encode())
            continue
        array = np.ascontiguousarray(tensor.detach().cpu().numpy())
        digest.update(f"{name}:{array.dtype.str}:{list(array.shape)};".encode())
        digest.update(memoryview(array).cast("B"))
    _CHECKSUMS[key] = value = digest.hexdigest()
    for tensor in (images, labels):  # a new tensor may reuse a dead one's id
        if tensor is not None:
            weakref.finalize(tensor, _CHECKSUMS.pop, key, None)
    return value


def derived_dir(name: str, data_dir=None) -> Path:
    """Where values derived from dataset `name` are cached: in a built-in's own folder of the data
    root (`cache_dir`), users' files all in `files/derived` (entries are keyed by content)."""
    root = cache_dir(data_dir)
    return root / name / "derived" if name in BUILTINS else root / "files" / "derived"


def cached(folder: Path | None, kind: str, key: dict, compute: Callable[[], tuple[Any, dict]],
           check: Callable[[Any, dict], None] | None = None) -> tuple[Any, dict[str, np.ndarray]]:
    """(value, arrays) of `kind` under `key`, from `folder` when a sound entry is there, else from
    `compute()` (stored then). `value` is anything JSON holds, `arrays` a dict of named numeric
    numpy arrays. `check(value, arrays)` may raise (DataError, ValueError, ...) to refuse an entry
    read back. `folder=None` computes without a cache. A folder that cannot be written warns once
    per call and the value is still returned."""
    if folder is None:
        return compute()
    key = json.loads(json.dumps(key, sort_keys=True))  # as it reads back
    path = Path(folder) / f"{kind}-{_digest(key)}.json"
    found = read_entry(path, kind, key)
    if found is not None:
        try:
            if check is not None:
                check(*found)
            return found
        except _UNREADABLE:
            pass
    value, arrays = compute()
    try:
        write_entry(path, kind, key, value, arrays)
    except OSError as e:
        warnings.warn(f"could not cache {kind} in {folder}: {e}", RuntimeWarning, stacklevel=2)
    return value, arrays


def read_entry(path: Path, kind: str, key: dict) -> tuple[Any, dict[str, np.ndarray]] | None:
    """The entry at `path` if it is whole and made for exactly `key`; None otherwise."""
    try:
        entry = read_json(path)
        if entry["format"] != FORMAT or entry["kind"] != kind or entry["key"] != key:
            return None
        arrays = {name: _read_array(path.parent / meta["file"], meta) for name, meta in entry["arrays"].items()}
        return entry["value"], arrays
    except _UNREADABLE:
        return None


def write_entry(path: Path, kind: str, key: dict, value, arrays: dict) -> None:
    """Write the arrays, then the JSON that names them (each atomically): a crash in between
    leaves an entry that is missing or does not match its arrays, so it is recomputed."""
    stem = path.name[: -len(".json")]
    metas = {}
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        file = f"{stem}.{name}.npy"
        write_npy(path.parent / file, array)
        metas[name] = {"file": file, "dtype": array.dtype.str, "shape": list(array.shape),
                       "sha256": hashlib.sha256(memoryview(array).cast("B")).hexdigest()}
    write_json(path, {"format": FORMAT, "kind": kind, "key": key, "value": value, "arrays": metas})


def _read_array(path: Path, meta: dict) -> np.ndarray:
    with open(path, "rb") as f:
        array = npyfile.read_array(f, os.fstat(f.fileno()).st_size, str(path))
    array = np.ascontiguousarray(array)
    if (array.dtype.str != meta["dtype"] or list(array.shape) != meta["shape"]
            or hashlib.sha256(memoryview(array).cast("B")).hexdigest() != meta["sha256"]):
        raise DataError(f"{path}: not the array its entry describes")
    return array


def _digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
