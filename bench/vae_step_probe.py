"""Where the dense VAE's eager step loses to Keras-JAX: each matmul inside the step against the
same call on the same tensors again, and Adam's Python wrapper against its fused kernel.

    python bench/vae_step_probe.py [--threads 2] [--steps 40] [--out bench/VAE_STEP.md]

The article's VAE (784-256-2-256-784, batch 100, fused Adam) trains on real MNIST batches with
denormals flushed on every thread (training/setup.py), as `ae train vae` does. During `--steps`
steps after a warm-up, a TorchDispatchMode times every aten.mm of the backward pass as it runs
("in the step") and then once more at once on the same tensors ("again"); the medians per shape
and strides are the table. Then the optimizer's `step()` is timed against `torch._fused_adam_`
(with the step counters' increment) on the same lists: the difference is the wrapper's Python.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from autoencoders.data.datasets import load_dataset  # noqa: E402
from autoencoders.models.variational import DenseVAE  # noqa: E402
from autoencoders.training.setup import flush_denormals  # noqa: E402

BATCH = 100


class TimedMatmuls(TorchDispatchMode):
    def __init__(self, record):
        super().__init__()
        self.record = record

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is not torch.ops.aten.mm.default:
            return func(*args, **(kwargs or {}))
        start = time.perf_counter()
        out = func(*args)
        mid = time.perf_counter()
        func(*args)
        key = (tuple(args[0].shape), args[0].stride(), tuple(args[1].shape), args[1].stride())
        self.record[key].append((mid - start, time.perf_counter() - mid))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--out", default="bench/VAE_STEP.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = load_dataset("mnist", "train", offline=True).images.float()
    torch.manual_seed(0)
    model = DenseVAE((1, 28, 28), (256,), 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    perm = torch.randperm(len(images))
    batches = (images[perm[i * BATCH:(i + 1) * BATCH]] for i in range(len(images) // BATCH))
    record: dict = defaultdict(list)
    wrapper, kernel = [], []
    with flush_denormals():
        for i in range(100 + args.steps):
            x = next(batches)
            out = model(x, x)
            opt.zero_grad(set_to_none=True)
            with TimedMatmuls(record) if i >= 100 else contextlib.nullcontext():
                out.loss.backward()
            start = time.perf_counter()
            opt.step()
            wrapper.append(time.perf_counter() - start)
        params = list(model.parameters())
        state = [opt.state[p] for p in params]
        lists = ([p for p in params], [p.grad for p in params], [s["exp_avg"] for s in state],
                 [s["exp_avg_sq"] for s in state], [], [s["step"] for s in state])
        for _ in range(args.steps):
            start = time.perf_counter()
            torch._foreach_add_(lists[5], 1)
            torch._fused_adam_(*lists, amsgrad=False, lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0,
                               eps=1e-8, maximize=False)
            kernel.append(time.perf_counter() - start)
    us = lambda v: statistics.median(v) * 1e6  # noqa: E731
    lines = ["# The dense VAE's eager step, probed (`bench/vae_step_probe.py`)", "",
             f"`python bench/vae_step_probe.py --threads {args.threads} --steps {args.steps}`, "
             f"{time.strftime('%Y-%m-%d %H:%M')}, torch {torch.__version__}. "
             + " ".join(__doc__.split("\n\n")[2].split()), "",
             "| aten.mm of the backward (shapes, strides) | in the step, us | again at once, us | ratio |",
             "|---|---|---|---|"]
    for (sa, ta, sb, tb), times in sorted(record.items(), key=lambda kv: -us([t[0] for t in kv[1]])):
        first, again = us([t[0] for t in times]), us([t[1] for t in times])
        lines.append(f"| {sa} {ta} @ {sb} {tb} | {first:.0f} | {again:.0f} | {first / again:.2f}x |")
    lines += ["", f"Adam's `step()`: {us(wrapper):.0f} us; `torch._fused_adam_` with the step counters' "
              f"increment on the same lists: {us(kernel):.0f} us.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
