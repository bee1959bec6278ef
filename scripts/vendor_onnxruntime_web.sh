#!/usr/bin/env bash
# Re-obtain the browser runtime that `ae explore` inlines into its page: onnxruntime-web's
# single-threaded wasm build (the ESM bundle with the Emscripten glue inside, and its SIMD .wasm).
#
#   scripts/vendor_onnxruntime_web.sh            # writes src/autoencoders/explore/vendor/
#
# `npm pack` downloads the pinned tarball through npm's own client, which checks the tarball
# against the registry's sha512 integrity; the two files taken from it are then checked
# against the sha256 pinned below (the same values as in src/autoencoders/explore/runtime.py,
# which checks them again every time a page is built). The .wasm is stored gzip-compressed
# (14 MB -> 3.7 MB); the page decompresses it in the browser (DecompressionStream).
set -euo pipefail
VERSION=1.30.0
BUNDLE=ort.wasm.bundle.min.mjs
BUNDLE_SHA256=11e64bd8ffe11bd1a2a2f0d6275fdfbbba7262f0b76b99b53d228a8a22ef3d90
WASM=ort-wasm-simd-threaded.wasm
WASM_SHA256=3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2

cd "$(dirname "$0")/.."
DEST=src/autoencoders/explore/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "onnxruntime-web@$VERSION" >/dev/null && tar xzf "onnxruntime-web-$VERSION.tgz")
check() {  # check FILE SHA256
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    if [ "$got" != "$2" ]; then
        echo "sha256 mismatch for $1: got $got, expected $2" >&2
        exit 1
    fi
}
check "$WORK/package/dist/$BUNDLE" "$BUNDLE_SHA256"
check "$WORK/package/dist/$WASM" "$WASM_SHA256"
mkdir -p "$DEST"
cp "$WORK/package/dist/$BUNDLE" "$DEST/$BUNDLE"
gzip -9 -n -c "$WORK/package/dist/$WASM" > "$DEST/$WASM.gz"
gunzip -c "$DEST/$WASM.gz" > "$WORK/roundtrip.wasm"
check "$WORK/roundtrip.wasm" "$WASM_SHA256"
echo "onnxruntime-web $VERSION vendored into $DEST ($(du -sh "$DEST" | cut -f1))"
