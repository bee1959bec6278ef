"""Ship a trained model or its codes to other tools: ONNX, TorchScript, and code tables.

Parts: "encoder" maps x (B, *input_shape) to codes z (B, ...); "decoder" maps z to probabilities
(B, *input_shape) (sigmoid applied); "autoencoder" maps x to its reconstruction probabilities.
The batch dimension is dynamic in both formats; files are written atomically.

ONNX goes through `torch.onnx.export(..., dynamo=True)`, the exporter PyTorch >= 2.9 makes the
default (it needs `onnxscript`: `pip install 'autoencoders[export]'`); the older TorchScript-based
exporter is deprecated there. TorchScript uses `torch.jit.trace`, which PyTorch 2.13 also marks
deprecated (it warns, and still works): prefer ONNX for new deployments.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import ConfigError, unknown
from .fileio import atomic_path, write_npy

PARTS = ("encoder", "decoder", "autoencoder")
FORMATS = {".onnx": "onnx", ".pt": "torchscript", ".pts": "torchscript", ".ts": "torchscript"}
TABLES = {".npy": "npy", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_NAMES = {"encoder": ("x", "z"), "decoder": ("z", "probabilities"), "autoencoder": ("x", "probabilities")}
_REGISTRIES: dict = {}  # (the registry class, its arguments) -> the ONNX registry built once (_shared_registry)
_EXPORTING = threading.Lock()  # one export at a time holds the shared registry in place


class Part(nn.Module):
    """One part of an autoencoder as a plain `forward(tensor) -> tensor` module (what exporters need)."""

    def __init__(self, model: nn.Module, part: str):
        super().__init__()
        if part not in PARTS:
            raise ConfigError(unknown("part", part, PARTS))
        self.model, self.part = model, part

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.part == "encoder":
            return self.model.encode(x)
        if self.part == "decoder":
            return self.model.decode(x)
        return self.model.decode(self.model.encode(x))


def example_input(model: nn.Module, part: str, batch: int = 2) -> torch.Tensor:
    """A (batch, ...) input of the part's shape: images for encoder/autoencoder, codes for decoder.

    batch=2, not 1: exporters may specialize a dimension whose example size is 1.
    """
    x = torch.rand(batch, *model.input_shape, generator=torch.Generator().manual_seed(0))
    if part != "decoder":
        return x
    with torch.no_grad():
        return model.encode(x)


def export_model(model, path, *, part: str = "autoencoder", format: str | None = None,
                 metadata: dict | None = None) -> Path:
    """Write `part` of `model` (an Autoencoder, or an `api.Run`) to `path` as ONNX or TorchScript.

    format: "onnx" or "torchscript"; None infers it from the suffix (.onnx; .pt, .pts, .ts).
    metadata: {name: text} carried in the file (ONNX metadata_props; TorchScript extra files), e.g.
        the run's anomaly calibration. The model is exported from a CPU copy in eval mode; the file
        runs on any device.
    """
    path = Path(path)
    format = format or _infer(path.suffix, FORMATS, "export format", "onnx or torchscript")
    if format not in ("onnx", "torchscript"):
        raise ConfigError(unknown("export format", format, ("onnx", "torchscript")))
    net = model if isinstance(model, nn.Module) else model.model  # an Autoencoder or a Run
    module = Part(copy.deepcopy(net).cpu().eval(), part).eval()
    example = example_input(module.model, part)
    (_onnx if format == "onnx" else _torchscript)(module, example, path, dict(metadata or {}))
    return path


def _onnx(module: Part, example: torch.Tensor, path: Path, metadata: dict) -> None:
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter's dependency: fail early and clearly)
    except ImportError:
        raise ConfigError("ONNX export needs onnx and onnxscript: "
                          "pip install 'autoencoders[export]'") from None
    inp, out = _NAMES[module.part]
    batch = torch.export.Dim("batch")
    with _EXPORTING, _shared_registry(), _quiet_exporter():
        program = torch.onnx.export(module, (example,), dynamo=True, verbose=False, input_names=[inp],
                                    output_names=[out], dynamic_shapes=({0: batch},))
    with atomic_path(path) as tmp:
        program.save(str(tmp), external_data=False)  # one self-contained file (small models)
        if metadata:
            import onnx

            proto = onnx.load(str(tmp))
            onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props}, **metadata})
            onnx.save(proto, str(tmp))


def _torchscript(module: Part, example: torch.Tensor, path: Path, metadata: dict) -> None:
    with torch.no_grad():
        traced = torch.jit.trace(module, example)
    with atomic_path(path) as tmp:
        torch.jit.save(traced, str(tmp), _extra_files=metadata)


@contextlib.contextmanager
def _shared_registry():
    """Within: torch's ONNX registry (every aten operator's ONNX function, read from torchlib) built
    once per process instead of once per export (~1 s each; an explorer page exports 14 graphs).

    `torch.onnx.export` builds it with `ONNXRegistry.from_torchlib(opset_version=...)` and changes
    it only for a `custom_translation_table`, which `export_model` never passes, so one registry
    serves every export. An internal name, so where torch's differs (no such class or classmethod)
    this does nothing and each export builds its own, as without it; the original is put back after.
    """
    try:
        from torch.onnx._internal.exporter._registration import ONNXRegistry
    except ImportError:
        yield
        return
    build = ONNXRegistry.__dict__.get("from_torchlib")
    if not isinstance(build, classmethod):
        yield
        return

    def shared(cls, *args, **kwargs):
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in _REGISTRIES:
            _REGISTRIES[key] = build.__func__(cls, *args, **kwargs)
        return _REGISTRIES[key]

    ONNXRegistry.from_torchlib = classmethod(shared)
    try:
        yield
    finally:
        ONNXRegistry.from_torchlib = build


@contextlib.contextmanager
def _quiet_exporter():
    """Notes from inside the exporter that users can do nothing about: its log of optional operators
    ('torchvision is not installed') and warnings torch raises on its own code (pytree classes,
    traced LSTMs)."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
            # torch's own traced graphs (LSTM exports): a deprecation inside torch, and a note that
            # nn.LSTM's flattened weights are plain attributes, which the exporter handles
            warnings.filterwarnings("ignore", message=".*_check_is_size.*", category=FutureWarning)
            warnings.filterwarnings("ignore", message=".*were assigned during export.*", category=UserWarning)
            yield
    finally:
        log.setLevel(level)


def save_table(path, array, *, format: str | None = None) -> Path:
    """Write (N, ...) values as .npy (as is), or .csv / .parquet (flattened to columns z0..z{k-1}).

    format: "npy", "csv" or "parquet"; None infers it from the suffix. CSV floats keep 9
    significant digits (float32 round-trips exactly); parquet needs pyarrow
    (`pip install 'autoencoders[parquet]'`).
    """
    path, array = Path(path), np.asarray(array)
    format = format or _infer(path.suffix, TABLES, "table format", "npy, csv or parquet")
    if format not in ("npy", "csv", "parquet"):
        raise ConfigError(unknown("table format", format, ("npy", "csv", "parquet")))
    if format == "npy":
        write_npy(path, array)
        return path
    flat = array.reshape(len(array), -1)
    columns = [f"z{i}" for i in range(flat.shape[1])]
    with atomic_path(path) as tmp:
        if format == "csv":
            np.savetxt(tmp, flat, delimiter=",", header=",".join(columns), comments="", fmt="%.9g")
        else:
            _parquet(tmp, flat, columns)
    return path


def _parquet(path: Path, flat: np.ndarray, columns: list[str]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("parquet output needs pyarrow: pip install 'autoencoders[parquet]'") from None
    pq.write_table(pa.table({c: flat[:, i] for i, c in enumerate(columns)}), str(path))


def _infer(suffix: str, known: dict, kind: str, hint: str) -> str:
    if suffix.lower() not in known:
        raise ConfigError(f"cannot infer the {kind} from '{suffix or '(no suffix)'}' ({', '.join(known)}); "
                          f"pass --format ({hint})")
    return known[suffix.lower()]
