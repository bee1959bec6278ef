"""The physical limit: this machine's matrix-multiply rate, and a model's FLOPs per sample.

FLOPs are counted per layer by PyTorch's `FlopCounterMode` (matmuls and convolutions: forward
multiply-adds x 2); a training step is counted as 3x the forward FLOPs (backward ~2x forward).
"""

from __future__ import annotations

import functools
import platform
import resource
import time

import torch
from torch.utils.flop_counter import FlopCounterMode


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


def forward_flops(model: torch.nn.Module, sample: torch.Tensor) -> float:
    """Forward FLOPs per sample (matmul/conv multiply-adds x 2), counted on one batch.

    FlopCounterMode does not see inside PyTorch's fused LSTM/GRU kernels (it counts 0 for them),
    so recurrent layers are counted by hand: gates x hidden x (input + hidden) x 2 per step.
    """
    recurrent = {"n": 0}
    hooks = [m.register_forward_hook(functools.partial(_count_recurrent, total=recurrent))
             for m in model.modules() if isinstance(m, torch.nn.RNNBase)]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    return (counter.get_total_flops() + recurrent["n"]) / len(sample)


def _count_recurrent(module: torch.nn.RNNBase, inputs, output, total: dict) -> None:
    x = inputs[0]
    steps = x.shape[1] if module.batch_first else x.shape[0]
    batch = x.shape[0] if module.batch_first else x.shape[1]
    gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
    directions = 2 if module.bidirectional else 1
    width = module.input_size
    for _ in range(module.num_layers):
        total["n"] += 2 * gates * module.hidden_size * (width + module.hidden_size) * steps * batch * directions
        width = module.hidden_size * directions


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_description() -> dict:
    flags = _cpu_flags()
    return {
        "processor": _cpu_model() or platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "isa": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags],
        "torch": torch.__version__,
    }


def has_fast_bf16() -> bool:
    """Whether the CPU has bf16 arithmetic (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())


def _cpu_flags() -> set:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return set()
    line = next((row for row in text.splitlines() if row.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def _cpu_model() -> str:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return ""
    line = next((row for row in text.splitlines() if row.startswith("model name")), "")
    return line.split(":", 1)[-1].strip()
