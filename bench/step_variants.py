"""One training step, several ways, same process: which optimizations pay on this machine, and where
the time of a step goes.

    OMP_NUM_THREADS=1 python bench/step_variants.py [--models dense,conv] [--compile] [--out bench/STEPS.md]

For each model (MNIST-shaped random data, the article's batch size) it times the full step
(forward + loss + backward + optimizer) with Adam's three implementations — a loop of ops per
parameter (PyTorch's CPU default), `foreach` (multi-tensor), `fused` (one kernel; what the trainer
uses) — and, with --compile, `torch.compile` of the model (first-call compile time reported
apart), *compiled step*: the model and Adam's step both compiled (`torch.compile(optimizer.step)`
over foreach Adam: forward, backward and the update each their own graph), and *whole step*: the
trainer's `--compile` (training/compiled_step.py: forward, backward and Adam's update in one graph).
Variants alternate twice so drift on a shared machine shows. Then one profile of the
trainer's variant splits the step into matmul/conv, loss, optimizer and other elementwise work.
The step's FLOPs over the time its matmuls/convolutions alone take is the fraction of the measured
peak those kernels reach: a bound on the whole step that no optimization of the glue can beat.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

from autoencoders.benchmark import machine
from autoencoders.benchmark.suite import cases
from autoencoders.config import TrainConfig
from autoencoders.evaluation.flops import forward_flops
from autoencoders.registry import create_model
from autoencoders.training.compiled_step import CompiledStep
from autoencoders.training.trainer import fast_layout

BATCH = {name: batch for name, (batch, _) in cases().items()}  # the article's batch sizes, as `ae bench`
SHAPE = {"conv": (1, 28, 28), "conv-denoise": (1, 28, 28), "lstm": (28, 28)}
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::convolution", "mkldnn_convolution",
              "aten::convolution_backward", "mkldnn_rnn", "aten::linear_backward")
LOSS_OPS = ("log_sigmoid", "binary_cross_entropy", "sigmoid_backward")
VARIANTS = {  # name: (Adam's implementation, model compiled, optimizer step compiled, the whole step compiled)
    "loop": ("loop", False, False, False), "foreach": ("foreach", False, False, False),
    "fused": ("fused", False, False, False), "compiled": ("fused", True, False, False),
    "compiled step": ("foreach", True, True, False), "whole step": ("fused", False, False, True),
}
COMPILED = ("compiled", "compiled step", "whole step")  # timed only with --compile (slow to build)


def make_step(name: str, adam: str, compiled: bool = False, compiled_optimizer: bool = False, whole: bool = False):
    torch.manual_seed(0)
    shape = SHAPE.get(name, (784,))
    model = fast_layout(create_model(name, shape), shape)
    impl = {"foreach": False} if adam == "loop" else {adam: True}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **impl)
    data = torch.rand(4096, *shape)
    bs = BATCH[name]
    if whole:  # the trainer's `--compile` (training/compiled_step.py): forward, backward and update, one graph
        whole_step = CompiledStep(model, optimizer, TrainConfig(compile=True, device="cpu"), torch.device("cpu"))
        return lambda i: whole_step(*(data[(i * bs) % (len(data) - bs):][:bs],) * 2)
    forward = torch.compile(model) if compiled else model
    update = torch.compile(optimizer.step) if compiled_optimizer else optimizer.step

    def step(i: int) -> None:
        x = data[(i * bs) % (len(data) - bs):][:bs]
        out = forward(x, x)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        update()

    return step


def ms_per_step(step, steps: int) -> float:
    for i in range(3):
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    return (time.perf_counter() - start) / steps * 1000


def breakdown(name: str, steps: int) -> dict:
    """Self CPU time of the trainer's step, grouped: matmul/conv, loss, optimizer, other."""
    step = make_step(name, "fused")
    for i in range(3):
        step(i)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(steps):
            step(i)
    groups = {"matmul/conv": 0.0, "loss": 0.0, "optimizer": 0.0, "other": 0.0}
    for event in prof.key_averages():
        if event.key.startswith("Optimizer.") or "_fused_adam" in event.key:
            group = "optimizer"
        elif any(op in event.key for op in MATMUL_OPS):
            group = "matmul/conv"
        elif any(op in event.key for op in LOSS_OPS):
            group = "loss"
        else:
            group = "other"
        groups[group] += event.self_cpu_time_total
    total = sum(groups.values())
    return {k: v / total for k, v in groups.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="dense,sparse,deep,vae,conv,conv-denoise,lstm")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to build)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", default="bench/STEPS.md")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    variants = [v for v in VARIANTS if args.compile or v not in COMPILED]
    peak = machine.matmul_peak()
    print(f"matmul peak {peak:.0f} GFLOP/s", flush=True)
    rows = []
    for name in args.models.split(","):
        times: dict = {v: [] for v in variants}
        compile_s = {}
        steps = {v: make_step(name, *VARIANTS[v]) for v in variants}
        for v in (v for v in variants if v in COMPILED):
            start = time.perf_counter()
            steps[v](0)
            steps[v](1)  # the optimizer's first step builds its state: a second graph
            compile_s[v] = time.perf_counter() - start
        for _ in range(2):
            for v in variants:
                times[v].append(ms_per_step(steps[v], args.steps))
        ms = {v: statistics.median(t) for v, t in times.items()}
        shares = breakdown(name, max(5, args.steps // 2))
        shape = SHAPE.get(name, (784,))
        step_flops = 3 * forward_flops(create_model(name, shape), torch.rand(BATCH[name], *shape)) * BATCH[name]
        shares["step_peak"] = step_flops / (ms["fused"] / 1000) / (peak * 1e9)
        shares["kernel_peak"] = shares["step_peak"] / shares["matmul/conv"]
        rows.append((name, ms, compile_s, shares))
        print(name, {v: round(t, 2) for v, t in ms.items()}, {k: round(s, 2) for k, s in shares.items()}, flush=True)
    write_markdown(args.out, variants, rows, peak)


def write_markdown(path: str, variants: list, rows: list, peak: float) -> None:
    head = ["model", "batch"] + [f"{v} ms/step" for v in variants] + ["fused vs loop"]
    if "compiled" in variants:
        head += [f"{v} vs fused" for v in COMPILED] + ["compile s (model / step / whole)"]
    head += ["matmul/conv", "loss", "optimizer", "other", "step % of peak", "matmul/conv kernels % of peak"]
    lines = [
        "# One training step, several ways (`bench/step_variants.py`)",
        "",
        f"{time.strftime('%Y-%m-%d')}; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"ISA {torch.backends.cpu.get_cpu_capability()}; measured matmul peak {peak:.0f} GFLOP/s. Median of "
        "2 alternating rounds. matmul/conv ... other split the fused step's self CPU time (torch.profiler); "
        "the last column is the step's FLOPs (3x forward) over the matmul/conv time alone.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, ms, compile_s, shares in rows:
        cells = [name, str(BATCH[name])] + [f"{ms[v]:.2f}" for v in variants]
        cells.append(f"{ms['loop'] / ms['fused']:.2f}x")
        if "compiled" in variants:
            cells += [f"{ms['fused'] / ms[v]:.2f}x" for v in COMPILED]
            cells.append(" / ".join(f"{compile_s[v]:.0f}" for v in COMPILED))
        cells += [f"{shares[k]:.0%}" for k in ("matmul/conv", "loss", "optimizer", "other")]
        cells += [f"{shares['step_peak']:.1%}", f"{shares['kernel_peak']:.1%}"]
        lines.append("| " + " | ".join(cells) + " |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
