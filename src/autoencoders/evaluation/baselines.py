"""Baselines that give an autoencoder's numbers meaning: mean image, entropy floor, PCA, JPEG.

The article says a shallow autoencoder learns roughly PCA, and that autoencoders are poor general
compressors; these functions answer both with numbers at the same code size / byte budget.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from sklearn.decomposition import PCA

from .metrics import reconstruction_metrics


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def mean_image(train, test) -> dict:
    """Reconstruct every test image as the mean training image: the floor any model must beat."""
    mean = torch.as_tensor(_np(train).mean(0, keepdims=True))
    test = torch.as_tensor(_np(test))
    return reconstruction_metrics(mean.expand_as(test).clamp(1e-7, 1 - 1e-7), test)


def entropy_floor(test) -> float:
    """Mean per-pixel binary entropy of the targets (nats): the lowest per-pixel BCE possible.

    BCE against grey-level targets is not a likelihood: even a perfect reconstruction scores this,
    not 0.
    """
    p = torch.as_tensor(_np(test)).double().clamp(1e-12, 1 - 1e-12)
    return float(-(p * p.log() + (1 - p) * (1 - p).log()).mean())


def pca_baseline(train, test, n_components: int, *, seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """Reconstruction metrics of PCA with `n_components`, plus (train codes, test codes) for probes."""
    shape = _np(test).shape
    flat_train, flat_test = _np(train).reshape(len(train), -1), _np(test).reshape(shape[0], -1)
    pca = PCA(n_components=n_components, random_state=seed).fit(flat_train)
    test_codes = pca.transform(flat_test)
    recon = np.clip(pca.inverse_transform(test_codes), 0, 1).reshape(shape)
    metrics = reconstruction_metrics(torch.as_tensor(recon, dtype=torch.float32), torch.as_tensor(_np(test)))
    return metrics, pca.transform(flat_train), test_codes


def jpeg_payload(data: bytes) -> int:
    """Bytes of entropy-coded image data: the file minus its headers and tables.

    JPEG's tables (~300 bytes here) are the same for every image at one quality and could be
    shared (JPEG's "abbreviated" format), so the fair per-image cost is the payload.
    """
    sos = data.find(b"\xff\xda")
    if sos < 0:
        return len(data)
    header_len = int.from_bytes(data[sos + 2 : sos + 4], "big")
    return len(data) - (sos + 2 + header_len) - 2  # minus the end-of-image marker


def jpeg_round_trip(image: np.ndarray, max_bytes: int) -> tuple[np.ndarray, int, int]:
    """The best-quality JPEG of one (C, H, W) image in [0, 1] whose payload fits `max_bytes`.

    Binary search over quality (payload grows with quality); quality 1 when nothing fits.
    Returns (decoded image, payload bytes, whole-file bytes).
    """
    arr = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    pil = Image.fromarray(arr[0] if arr.shape[0] == 1 else np.moveaxis(arr, 0, -1))
    lo, hi, best = 1, 95, None
    while lo <= hi:
        quality = (lo + hi) // 2
        data = _encode_jpeg(pil, quality)
        if jpeg_payload(data) <= max_bytes:
            best, lo = data, quality + 1
        else:
            hi = quality - 1
    data = best if best is not None else _encode_jpeg(pil, 1)
    decoded = np.asarray(Image.open(io.BytesIO(data)), dtype=np.float32) / 255.0
    decoded = decoded[None] if decoded.ndim == 2 else np.moveaxis(decoded, -1, 0)
    return decoded, jpeg_payload(data), len(data)


def _encode_jpeg(pil: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def jpeg_baseline(test, max_bytes: int, *, n: int | None = 1000) -> dict:
    """Reconstruction metrics of JPEG with `max_bytes` of payload per image (first `n` test images).

    test : (N, C, H, W) in [0, 1].
    """
    images = _np(test)[:n]
    decoded, payload, whole = zip(*(jpeg_round_trip(img, max_bytes) for img in images))
    recon = torch.as_tensor(np.stack(decoded), dtype=torch.float32)
    metrics = reconstruction_metrics(recon.clamp(1e-7, 1 - 1e-7), torch.as_tensor(images))
    metrics.update(n=len(images), payload_bytes=float(np.mean(payload)), file_bytes=float(np.mean(whole)),
                   over_budget=float(np.mean(np.array(payload) > max_bytes)))
    return metrics
