"""In-place ReLU vs a fresh output tensor in the conv nets: ms per training step, same process.

    python bench/relu_inplace.py
The conv nets' activations are 128 x 32 x 28 x 28 floats (13 MB) per layer: allocating and
writing a second copy for each ReLU is memory traffic the step does not need (a ReLU after a
convolution may overwrite its input: the convolution's backward does not read its output).
Alternates the two variants three times per model so drift on a shared machine shows.

Result here (2 threads, 2026-11-27): conv 0.91x / 1.08x, conv-denoise 1.12x / 1.09x in two runs,
but a whole `ae bench` epoch of conv-denoise was 29.83 s with it vs 29.71 s without: not kept.
"""

import time

import torch

from autoencoders.registry import create_model
from autoencoders.training.trainer import fast_layout


def make_step(name: str, inplace: bool):
    torch.manual_seed(0)
    model = fast_layout(create_model(name, (1, 28, 28)), (1, 28, 28))
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = inplace
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x = torch.rand(128, 1, 28, 28)

    def step() -> float:
        out = model(x, x)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        return out.loss.item()

    return step


if __name__ == "__main__":
    torch.set_flush_denormal(True)
    for name in ("conv", "conv-denoise"):
        steps = {inplace: make_step(name, inplace) for inplace in (False, True)}
        assert steps[False]() == steps[True](), "in-place ReLU must not change the loss"
        times = {False: [], True: []}
        for _ in range(3):
            for inplace, step in steps.items():
                step()
                start = time.perf_counter()
                for _ in range(8):
                    step()
                times[inplace].append((time.perf_counter() - start) / 8 * 1000)
        best = {k: sorted(v)[1] for k, v in times.items()}  # median of 3
        print(f"{name:<13} fresh {best[False]:6.1f} ms/step  in-place {best[True]:6.1f} ms/step  "
              f"x{best[False] / best[True]:.2f}", flush=True)
