"""The vendored browser runtime (onnxruntime-web, pinned) and its integrity check.

The page runs the toolkit's own ONNX exports with onnxruntime-web's wasm backend, inlined so
that the page opens from file:// with nothing fetched: the ESM bundle (the Emscripten glue is
inside it) becomes part of the page's module script, and the SIMD .wasm (kept gzip-compressed
in vendor/) is passed to `ort.env.wasm.wasmBinary` after the browser decompresses it.
`scripts/vendor_onnxruntime_web.sh` re-obtains the files with `npm pack` and verifies them;
every page build verifies them again here, against the same pinned sha256.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from ..errors import DataError

VERSION = "1.30.0"
BUNDLE = "ort.wasm.bundle.min.mjs"
WASM_GZ = "ort-wasm-simd-threaded.wasm.gz"
# sha256 of the files as they are in the npm package (the .wasm before our gzip)
SHA256 = {
    BUNDLE: "11e64bd8ffe11bd1a2a2f0d6275fdfbbba7262f0b76b99b53d228a8a22ef3d90",
    WASM_GZ: "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2",
}
_EXPORT = re.compile(r"export\{([^}]*)\};?\s*$")


@dataclass(frozen=True)
class Runtime:
    """What the page inlines: `script` defines `const ort = {...}`; `wasm_gzip_base64` is the .wasm."""

    version: str
    script: str
    wasm_gzip_base64: str
    sha256: dict


def load_runtime() -> Runtime:
    """Read the vendored files, check their sha256, and return them ready to inline."""
    bundle = _vendored(BUNDLE)
    _check(BUNDLE, bundle)
    packed = _vendored(WASM_GZ)
    try:
        wasm = gzip.decompress(packed)
    except (OSError, EOFError) as e:
        raise DataError(f"{_where(WASM_GZ)}: not a valid gzip file ({e}); "
                        "re-run scripts/vendor_onnxruntime_web.sh") from None
    _check(WASM_GZ, wasm)
    return Runtime(VERSION, as_classic_module(bundle.decode("utf-8")),
                   base64.b64encode(packed).decode("ascii"), dict(SHA256))


def as_classic_module(bundle: str) -> str:
    """The ESM bundle with its final `export{a as B,...}` turned into `const ort={B:a,...};`.

    An inline module script cannot be imported from, so the page's own code follows the bundle
    in the same script and reaches the runtime through `ort`. The source-map comment goes too.
    """
    text = re.sub(r"\n//# sourceMappingURL=\S*\s*$", "\n", bundle)
    match = _EXPORT.search(text)
    if match is None:
        raise DataError(f"{_where(BUNDLE)}: no final export statement; is it onnxruntime-web {VERSION}?")
    pairs = [part.strip().split(" as ") for part in match.group(1).split(",")]
    names = ",".join(f"{p[-1]}:{p[0]}" for p in pairs)
    return text[: match.start()] + f"const ort={{{names}}};\n"


def _vendored(name: str) -> bytes:
    path = resources.files(__package__) / "vendor" / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{_where(name)} is missing; run scripts/vendor_onnxruntime_web.sh") from None


def _check(name: str, data: bytes) -> None:
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256[name]:
        raise DataError(f"{_where(name)}: sha256 {got} does not match the pinned {SHA256[name]} "
                        f"(onnxruntime-web {VERSION}); re-run scripts/vendor_onnxruntime_web.sh")


def _where(name: str) -> str:
    return f"autoencoders/explore/vendor/{name}"
