"""The conv nets' training step as their modules read vs as the toolkit computes it, same process.

    python bench/conv_last_layer.py [--threads 2] [--steps 40] [--rounds 3] [--out bench/CONV_LAYERS.md]

*modules as written*: every layer in order: conv, ReLU, max-pool in the encoder; conv, ReLU,
nearest 2x upsampling, ..., the last conv on the upsampled 28x28 map in the decoder.
*toolkit*: the same functions with the same weights, computed as models/conv.py does: the ReLU
after the pooling (they commute) and the last upsampling + conv at the low resolution
(`upsample_conv`). Both in bf16 autocast (where the fast recipe trains the conv nets, on a CPU
with native bf16) and fp32, channels-last, fused Adam, the fast recipe's batch of 128, random
MNIST-shaped data. Variants alternate per round so drift in the machine's load falls on both;
the table gives the median over rounds and the load average at the start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from step_variants import ms_per_step as timed_steps  # bench/, beside this file

from autoencoders.registry import create_model
from autoencoders.training.setup import fast_layout

SHAPE = (1, 28, 28)
WHAT = " ".join(__doc__.split("\n\n")[2].split())  # the docstring's account of the two variants
BATCH = 128


def as_written(model) -> None:
    """Make `model` run its modules in their written order (every upsampling materialised)."""
    encoder, decoder = model.encoder, model.decoder

    def encode(x):
        for conv, pool, relu in zip(*[iter(encoder)] * 3):
            x = pool(relu(conv(x)))
        return x

    def decode(z):
        h, w = decoder.size
        return decoder.body(z)[..., :h, :w]

    encoder.forward, decoder.forward = encode, decode


def ms_per_step(name: str, variant: str, precision: str, steps: int) -> float:
    """ms per training step of `name` as `variant` computes it (bench/step_variants.py's timer)."""
    torch.manual_seed(0)
    model = fast_layout(create_model(name, SHAPE), SHAPE)
    if variant == "modules as written":
        as_written(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    data = torch.rand(16 * BATCH, *SHAPE)

    def step(i: int) -> None:
        x = data[(i % 15) * BATCH:][:BATCH]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(x, x)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()

    return timed_steps(step, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="bench/CONV_LAYERS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    load = os.getloadavg()[0]
    variants = ("modules as written", "toolkit")
    rows = []
    for name in ("conv", "conv-denoise"):
        for precision in ("bf16", "fp32"):
            times: dict = {v: [] for v in variants}
            for _ in range(args.rounds):
                for v in variants:
                    times[v].append(ms_per_step(name, v, precision, args.steps))
            ms = {v: statistics.median(t) for v, t in times.items()}
            rows.append({"net": name, "precision": precision, "ms": ms, "rounds": times,
                         "speedup": ms[variants[0]] / ms[variants[1]]})
            print(rows[-1], flush=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "torch": torch.__version__, "threads": args.threads,
              "isa": torch.backends.cpu.get_cpu_capability(), "load_at_start": load,
              "load_at_end": os.getloadavg()[0], "rows": rows}
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# The conv nets' step as their modules read vs as the toolkit computes it (`bench/conv_last_layer.py`)",
        "",
        f"`python bench/conv_last_layer.py --threads {args.threads}`, {result['date']}; torch {torch.__version__}, "
        f"{args.threads} thread(s), ISA {result['isa']}; load average {load:.2f} at the start, "
        f"{result['load_at_end']:.2f} at the end. Median of {args.rounds} alternating rounds of {args.steps} steps "
        f"at batch {BATCH}. {WHAT}",
        "",
        "| net | precision | modules as written ms/step | toolkit ms/step | speed-up |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['net']} | {r['precision']} | {r['ms'][variants[0]]:.1f} | {r['ms'][variants[1]]:.1f} "
                     f"| {r['speedup']:.2f}x |")
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
