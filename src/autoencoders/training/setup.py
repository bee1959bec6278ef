"""What a training step runs on: the device, the optimizer, precision, memory layout, denormals."""

from __future__ import annotations

import contextlib
import ctypes
import functools

import torch

from ..config import TrainConfig
from ..errors import TrainingError


def resolve_device(name: str) -> torch.device:
    """"auto" -> cuda when available, else cpu; "cuda" without a device is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda: no CUDA device is available here (use --device cpu or auto)")
    return torch.device(name)


def make_optimizer(model: torch.nn.Module, config) -> torch.optim.Optimizer:
    """Adam (default), RMSprop or Adadelta at the config's learning rate.

    `config` is a TrainConfig (or a RunConfig, whose `train` is used). Multi-tensor
    implementations: on CPU PyTorch defaults to a loop of small ops per parameter, and fused Adam's
    one kernel is faster (`bench/step_variants.py` measures it); where it is not available, foreach is used.
    """
    tc: TrainConfig = getattr(config, "train", config)
    cls = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "adadelta": torch.optim.Adadelta}
    kwargs = {"eps": 1e-7} if tc.optimizer == "rmsprop" else {}  # Keras's epsilon
    make = functools.partial(cls[tc.optimizer], list(model.parameters()), lr=tc.learning_rate, **kwargs)
    if tc.optimizer == "adam":
        try:
            return make(fused=True)
        except (RuntimeError, TypeError):  # device or PyTorch version without fused Adam
            pass
    return make(foreach=True)


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX (elsewhere oneDNN emulates bf16, slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


@functools.cache
def cpu_flags() -> frozenset:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            line = next((row for row in f if row.startswith("flags")), "")
    except OSError:
        return frozenset()
    return frozenset(line.split(":", 1)[-1].split())


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> "bf16" where `native_bf16(device)`, else "fp32"; fp32 and bf16 stay as asked.

    Decided once, at the start of a run; config.json records the outcome, so a folder says which
    ran and a resumed run keeps it on any machine (bf16 where not native is slower, never wrong)."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def autocast(device: torch.device, precision: str):
    """The one mixed-precision path: bf16 autocast when asked (precision resolved), a no-op otherwise."""
    if precision not in ("fp32", "bf16"):
        raise TrainingError(f"precision {precision!r} must be resolved to fp32 or bf16 first (resolve_precision)")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def fast_layout(model: torch.nn.Module, sample_shape: tuple) -> torch.nn.Module:
    """Channels-last weights for image inputs: oneDNN's convolutions are faster in NHWC on CPUs
    (`bench/conv_layout.py` measures it). Only 4-D parameters change layout; values, and so
    results, do not."""
    return model.to(memory_format=torch.channels_last) if len(sample_shape) == 3 else model


@contextlib.contextmanager
def flush_denormals():
    """Denormal floats are very slow on x86 CPUs and training never needs them: Adam's moments of
    weights that rarely see a gradient (MNIST's blank border pixels) decay through the denormal
    range, and without flushing a dense VAE's epochs grow slower epoch after epoch
    (bench/DENORMALS.md). The flag is per thread and a thread inherits it only when it is created,
    so it is set on every thread of the OpenMP pools too, which exist by the time training starts."""
    changed = _on_every_thread(torch.set_flush_denormal, True)
    try:
        yield
    finally:
        if changed:
            _on_every_thread(torch.set_flush_denormal, False)


def _on_every_thread(set_flag, on: bool) -> bool:
    """set_flag(on) on the calling thread and on each thread of every libgomp OpenMP pool in the
    process (one parallel region each): PyTorch's CPU wheels run their intra-op threads on their
    own libgomp, and scikit-learn's wheels load another. The calling thread only where ATen's
    threads are not OpenMP's. Returns set_flag's answer (False: the CPU has no such flag)."""
    supported = bool(set_flag(on))
    if supported and torch.get_num_threads() > 1:
        body = _GOMP_BODY(lambda _data: set_flag(on))
        for region in _gomp_regions():
            region(body, None, torch.get_num_threads(), 0)
    return supported


_GOMP_BODY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _gomp_regions() -> list:
    """GOMP_parallel(fn, data, threads, flags) of each libgomp loaded now (none unless ATen's
    threads are OpenMP's): looked up on every call, as a library imported later brings its own."""
    if "ATen parallel backend: OpenMP" not in _parallel_info():
        return []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            paths = sorted({line.split()[-1] for line in f if "libgomp" in line and "/" in line})
    except OSError:
        return []
    return [region for region in map(_gomp_parallel, paths) if region is not None]


@functools.cache
def _parallel_info() -> str:
    return torch.__config__.parallel_info()


@functools.cache
def _gomp_parallel(path: str):
    try:
        region = ctypes.CDLL(path).GOMP_parallel
    except (OSError, AttributeError):
        return None
    region.argtypes = [_GOMP_BODY, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    region.restype = None
    return region
