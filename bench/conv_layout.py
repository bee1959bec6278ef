"""Channels-last vs contiguous (NCHW) weights for the conv nets: ms per training step, same process.

    OMP_NUM_THREADS=1 python bench/conv_layout.py
Alternates the two layouts twice per model so drift on a shared machine shows up in the numbers.
"""

import time

import torch

from autoencoders.registry import create_model


def ms_per_step(name: str, batch: int, channels_last: bool, steps: int = 10) -> float:
    torch.manual_seed(0)
    model, x = create_model(name, (1, 28, 28)), torch.rand(batch, 1, 28, 28)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for i in range(steps + 3):  # 3 warm-up steps
        if i == 3:
            start = time.perf_counter()
        out = model(x)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps * 1000


if __name__ == "__main__":
    torch.set_flush_denormal(True)
    for name in ("conv", "conv-denoise"):
        for layout in (False, True, False, True):
            label = "channels_last" if layout else "contiguous"
            print(f"{name:<13} {label:<14} {ms_per_step(name, 128, layout):7.1f} ms/step", flush=True)
