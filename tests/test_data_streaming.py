"""Data that does not fit: memory-mapped .npy and image folders streamed; 8-bit data kept as uint8."""

import numpy as np
import pytest
import torch

import autoencoders as ae
from autoencoders.config import DataConfig
from autoencoders.data import NpyRows, Resident, load_dataset
from autoencoders.data.batches import as_float, compact
from autoencoders.data.splits import load_run_data, should_stream

FAST = dict(epochs=2, batch_size=32, validation="0.2", quiet=True)


@pytest.fixture(scope="module")
def npy(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("npy") / "pixels.npy"
    np.save(path, rng.integers(0, 256, size=(200, 8, 8), dtype=np.uint8))
    return path


def test_8bit_data_is_kept_as_uint8_and_converted_exactly():
    x = torch.from_numpy(np.arange(256, dtype=np.uint8).reshape(4, 1, 8, 8)).float().div_(255.0)
    small = compact(x)
    assert small.dtype == torch.uint8 and torch.equal(as_float(small), x)
    digits = load_dataset("digits", "train").images  # sixteenths: not 8-bit
    assert compact(digits).dtype == torch.float32
    assert Resident(x).x.dtype == torch.uint8


def test_memory_budget_chooses_the_path(npy):
    assert should_stream(DataConfig(name=str(npy), memory_budget=1e-6))
    assert not should_stream(DataConfig(name=str(npy), memory_budget=1.0))
    assert not should_stream(DataConfig(name="digits", memory_budget=1e-6))  # built-ins always fit
    assert should_stream(DataConfig(name=str(npy), stream=True, memory_budget=1.0))
    data = load_run_data(DataConfig(name=str(npy), validation="0.2", stream=True), "cpu", 0)
    assert isinstance(data.train.dataset, NpyRows) and len(data.train) == 160 and len(data.val) == 40


def test_streamed_npy_trains_as_the_resident_copy(npy):
    opts = dict(FAST, noise="gaussian:0.3", code_size=4)
    resident = ae.train("dense", data=str(npy), stream=False, **opts)
    streamed = ae.train("dense", data=str(npy), stream=True, **opts)
    assert [r["train"] for r in resident.history] == [r["train"] for r in streamed.history]
    clean = dict(FAST, code_size=4, binarize="dynamic")
    a = ae.train("dense", data=str(npy), stream=False, **clean).history
    b = ae.train("dense", data=str(npy), stream=True, **clean).history
    assert [r["train"] for r in a] == [r["train"] for r in b]


def test_fixed_noise_streams_one_copy_per_sample(npy):
    from autoencoders.data import Streamed
    from autoencoders.data.batches import Presentation, generator
    from autoencoders.data.noise import parse_noise

    source = Streamed(NpyRows(npy), Presentation(parse_noise("gaussian:0.5"), noise_fixed=True), workers=0)
    first = [b.input for b in source.epoch(generator("cpu", 1), 50, 4)]
    again = [b.input for b in source.epoch(generator("cpu", 1), 50, 4)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_image_folder_streams(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / label / f"{i}.png")
    run = ae.train("dense", data=str(tmp_path), stream=True, code_size=4, **FAST)
    resident = ae.train("dense", data=str(tmp_path), stream=False, code_size=4, **FAST)
    assert [r["train"] for r in run.history] == [r["train"] for r in resident.history]


def test_run_split_is_loaded_once_per_run(monkeypatch):
    from autoencoders import api

    run = ae.train("dense", data="digits", epochs=1, limit=64, quiet=True)
    calls = []
    real = api.load_split
    monkeypatch.setattr(api, "load_split", lambda *a: calls.append(a) or real(*a))
    assert run.split("test") is run.split("test") and len(calls) == 1


def test_cli_stream_flag_and_refusals(npy, tmp_path):
    import json

    from autoencoders.cli import main
    from autoencoders.errors import ConfigError

    out = tmp_path / "run"
    assert main(["train", "dense", "--data", str(npy), "--validation", "0.2", "--stream", "true", "--epochs", "1",
                 "--code-size", "4", "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["data"]["stream"] is True
    with pytest.raises(ConfigError, match="stream=True needs"):
        should_stream(DataConfig(name="digits", stream=True))


def _batches(path, stream: bool, **options) -> list:
    """Every training batch of one seeded epoch and every validation batch, resident or streamed."""
    from autoencoders.data.batches import generator

    data = load_run_data(DataConfig(name=str(path), validation="0.2", stream=stream, **options), "cpu", 0)
    if stream:
        data.train.workers = data.val.workers = 0
    train = list(data.train.epoch(generator("cpu", 1), 8, -(-len(data.train) // 8)))
    return [(b.input, b.label) for b in train + list(data.val.fixed_batches(0, 8))]


def _same_batches(path, **options) -> None:
    resident, streamed = _batches(path, False, **options), _batches(path, True, **options)
    assert len(resident) == len(streamed)
    for (a, la), (b, lb) in zip(resident, streamed):
        assert a.dtype == b.dtype == torch.float32 and torch.equal(a, b)
        assert (la is None and lb is None) or torch.equal(la, lb)


LEVELS = np.random.default_rng(2).integers(0, 256, size=(30, 4, 4))
UNIT = np.random.default_rng(3).random((30, 4, 4))
SAME_BOTH_WAYS = {
    "uint8": LEVELS.astype(np.uint8),
    "uint16": LEVELS.astype(np.uint16),
    "int64": LEVELS.astype(np.int64),
    "float32 in 0..1": UNIT.astype(np.float32),
    "float64 in 0..1": UNIT,
    "big-endian float32": UNIT.astype(">f4"),
    "big-endian uint16": LEVELS.astype(">u2"),
    "bool": LEVELS > 127,
    "channels-last uint8": np.random.default_rng(4).integers(0, 256, size=(30, 5, 6, 3), dtype=np.uint8),
}


@pytest.mark.parametrize("kind", SAME_BOTH_WAYS)
def test_a_npy_streams_as_it_loads_resident(kind, tmp_path):
    np.save(tmp_path / "x.npy", SAME_BOTH_WAYS[kind])
    _same_batches(tmp_path / "x.npy")


def _npy_bytes(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _pickled(path):
    np.save(path, np.array([None, 1], dtype=object), allow_pickle=True)


REFUSED_BOTH_WAYS = {
    "float32 in 0..255": lambda p: np.save(p, LEVELS.astype(np.float32)),
    "uint16 past 255": lambda p: np.save(p, (LEVELS * 257).astype(np.uint16)),
    "negative int64": lambda p: np.save(p, LEVELS - 1),
    "NaN": lambda p: np.save(p, np.where(LEVELS == 3, np.nan, UNIT)),
    "infinity": lambda p: np.save(p, np.where(LEVELS == 3, np.inf, UNIT)),
    "empty": lambda p: np.save(p, np.zeros((0, 4, 4), np.uint8)),
    "2-D": lambda p: np.save(p, UNIT.reshape(30, 16)),
    "a single number": lambda p: np.save(p, np.float32(0.5)),
    "truncated": lambda p: p.write_bytes(_npy_bytes(LEVELS.astype(np.uint8))[:200]),
    "object": _pickled,
    "random bytes": lambda p: p.write_bytes(bytes(range(256)) * 4),
}


@pytest.mark.parametrize("kind", REFUSED_BOTH_WAYS)
def test_a_npy_refused_resident_is_refused_streamed(kind, tmp_path):
    from autoencoders.errors import DataError

    path = tmp_path / "x.npy"
    REFUSED_BOTH_WAYS[kind](path)
    messages = []
    for stream in (False, True):
        with pytest.raises(DataError, match="x.npy") as info:
            load_run_data(DataConfig(name=str(path), validation="0.2", stream=stream), "cpu", 0)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_a_streamed_npy_is_range_checked_once_in_chunks(tmp_path, monkeypatch):
    from autoencoders.data import npyfile
    from autoencoders.errors import DataError

    x = UNIT.astype(np.float32)
    x[-1, -1, -1] = 2.0  # only the file's last value is out of range
    np.save(tmp_path / "x.npy", x)
    monkeypatch.setattr(npyfile, "CHUNK_BYTES", 64)  # 64 bytes at a time: 30 chunks
    with pytest.raises(DataError, match=r"float pixels range \[.*, 2\]"):
        NpyRows(tmp_path / "x.npy")
    x[-1, -1, -1] = 1.0
    np.save(tmp_path / "x.npy", x)
    reads = []
    real = npyfile.chunks
    monkeypatch.setattr(npyfile, "chunks", lambda *a, **k: reads.append(a) or real(*a, **k))
    load_run_data(DataConfig(name=str(tmp_path / "x.npy"), validation="0.2", stream=True), "cpu", 0)
    assert len(reads) == 1  # one scan for both splits


def _image_folder(root, arrays, suffix: str):
    from PIL import Image

    root.mkdir()
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(root / f"{i:02d}{suffix}")
    return root


IMAGE_KINDS = {
    "8-bit": (lambda r: r.integers(0, 256, (4, 4), dtype=np.uint8), ".png", "L"),
    "16-bit": (lambda r: r.integers(0, 65536, (4, 4)).astype(np.uint16), ".png", "I;16"),
    "float in 0..1": (lambda r: r.random((4, 4), dtype=np.float32), ".tif", "F"),
    "float in 0..255": (lambda r: (255 * r.random((4, 4))).astype(np.float32), ".tif", "F"),
}


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_an_image_folder_streams_as_it_loads_resident(kind, tmp_path):
    from PIL import Image

    make, suffix, mode = IMAGE_KINDS[kind]
    rng = np.random.default_rng(5)
    root = _image_folder(tmp_path / "images", [make(rng) for _ in range(12)], suffix)
    with Image.open(next(root.iterdir())) as im:
        assert im.mode == mode
    _same_batches(root)
    _same_batches(root, channels=3)


def test_a_colour_image_after_a_grey_first_one_is_an_error_when_streamed(tmp_path):
    from PIL import Image

    from autoencoders.errors import DataError

    rng = np.random.default_rng(6)
    root = _image_folder(tmp_path / "images", [rng.integers(0, 256, (4, 4), dtype=np.uint8)] * 5, ".png")
    Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(root / "99.png")
    assert load_dataset(str(root)).images.shape[1] == 3  # resident: not every image is grey
    with pytest.raises(DataError, match=r"99.png is in colour .* --channels 3"):
        _batches(root, True)
    _same_batches(root, channels=3)


def _sparse_npy(path, n: int):
    """A uint8 (n, 8, 8) .npy whose data is a hole: as large as it says, instantly, and no disk used."""
    path.write_bytes(_npy_bytes(np.zeros((1, 8, 8), np.uint8)).replace(b"(1, 8, 8)", f"({n}, 8, 8)".encode())[:128])
    with open(path, "r+b") as f:
        f.truncate(128 + n * 64)
    return path


def test_default_budget_respects_the_process_address_space_limit(tmp_path):
    import resource

    from autoencoders.data.memory import _field_kib
    from autoencoders.data.splits import memory_budget

    path = _sparse_npy(tmp_path / "big.npy", 2**20)  # 64 MiB of pixels: 320 MiB resident
    assert not should_stream(DataConfig(name=str(path), memory_budget=1.0))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    in_use = _field_kib("/proc/self/status", "VmSize")
    try:
        resource.setrlimit(resource.RLIMIT_AS, (in_use + 2**28, hard))  # 256 MiB more than in use
        assert memory_budget(None) <= 2**27
        assert should_stream(DataConfig(name=str(path)))
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_default_budget_respects_a_cgroup_memory_limit(tmp_path, monkeypatch):
    from autoencoders.data import memory
    from autoencoders.data.splits import memory_budget

    (tmp_path / "memory.max").write_text(f"{2**30}\n")
    (tmp_path / "memory.current").write_text(f"{2**29}\n")
    monkeypatch.setattr(memory, "CGROUP", tmp_path)
    assert memory_budget(None) <= 2**28 and memory.limit_bytes() <= 2**30
    (tmp_path / "memory.max").write_text("max\n")  # no limit
    assert "its cgroup's memory limit" not in memory._limits()


def test_running_out_of_memory_loading_resident_is_a_data_error(npy, monkeypatch, tmp_path, capsys):
    from autoencoders.cli import main
    from autoencoders.data import files

    def no_memory(x, path):
        raise MemoryError

    monkeypatch.setattr(files, "unit_range", no_memory)
    argv = ["train", "dense", "--data", str(npy), "--stream", "false", "--validation", "0.2", "--epochs", "1",
            "--code-size", "4", "--quiet", "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "pixels.npy: not enough memory to load it resident" in err and "--stream true" in err
    assert "internal error" not in err
