"""The physical limit: this machine's matrix-multiply rate, its CPU and memory.

A model's FLOPs per sample are counted in evaluation/flops.py (the report's progress bar weighs
its experiments by them too); a training step is counted as 3x the forward FLOPs (backward ~2x forward).
"""

from __future__ import annotations

import platform
import resource
import time

import torch

from ..training.setup import cpu_flags, native_bf16


def matmul_peak(dtype=torch.float32, n: int = 2048, repeats: int = 5) -> float:
    """Best observed GFLOP/s of an n x n x n matmul in `dtype` (the roofline's compute roof)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)  # warm-up: thread pool, packing buffers
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_description() -> dict:
    flags = cpu_flags()
    return {
        "processor": _cpu_model() or platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "isa": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags],
        "torch": torch.__version__,
    }


def has_fast_bf16() -> bool:
    """Whether the CPU has bf16 arithmetic (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    return native_bf16(torch.device("cpu"))


def _cpu_model() -> str:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return ""
    line = next((row for row in text.splitlines() if row.startswith("model name")), "")
    return line.split(":", 1)[-1].strip()
