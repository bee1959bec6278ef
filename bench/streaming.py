"""Streaming vs resident training throughput on MNIST, and a 20 GB-as-float32 memmap with bounded memory.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/streaming.py mnist [--workers 0 1] [--rounds 3] [--threads 1]
    .venv/bin/python bench/streaming.py big --path /work/big.npy [--steps 300] [--delete]

`mnist`: the dense net (batch 256) on MNIST's 60000 training images held resident (uint8 on the
device, one index slice per batch) vs read from a uint8 .npy through NpyRows + a DataLoader with
`--workers` processes. Each round trains every path for a warm-up epoch and a timed one (the
Trainer's own per-epoch seconds, no validation pass), paths alternating so that a busy machine's
load falls on all of them alike; samples/s is the median over rounds.
`big`: a uint8 .npy of >= 5e9 bytes (20 GB as float32; MNIST tiled) trained for `--steps` steps;
the run's data path is chosen by the default memory budget (half the memory available), and the
peak resident set size of this process and of its DataLoader workers is printed. Run each mode
in its own process: ru_maxrss is a lifetime peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from autoencoders.config import DataConfig, TrainConfig
from autoencoders.data import NpyRows, Resident, Streamed, load_dataset, load_run_data
from autoencoders.registry import create_model
from autoencoders.training import Trainer

ROWS_20GB = 6_377_552  # x 784 bytes = 5.0e9 bytes: 20.0e9 bytes as float32


def mnist_uint8() -> np.ndarray:
    """MNIST's training images as (60000, 1, 28, 28) uint8 (the loader's k / 255, back to k)."""
    return (load_dataset("mnist", "train").images * 255).round().to(torch.uint8).numpy()


def rate(source) -> float:
    """Samples/s of the epoch after a warm-up epoch, dense net, batch 256."""
    torch.manual_seed(0)
    model = create_model("dense", (1, 28, 28))
    history = Trainer(model, TrainConfig(epochs=2, batch_size=256, device="cpu")).fit(source)
    return len(source) / history[-1]["seconds"]


def bench_mnist(workers: list, rounds: int, tmp: Path) -> dict:
    x = mnist_uint8()
    path = tmp / "mnist-train-uint8.npy"
    np.save(path, x)
    sources = {"resident": Resident(torch.from_numpy(x))}
    sources.update({f"streamed_w{w}": Streamed(NpyRows(path), workers=w) for w in workers})
    rates: dict = {name: [] for name in sources}
    for _ in range(rounds):
        for name, source in sources.items():
            rates[name].append(rate(source))
    path.unlink()
    row = {"threads": torch.get_num_threads(), "rounds": rates}
    row.update({f"{name}_samples_s": statistics.median(r) for name, r in rates.items()})
    row.update({f"ratio_{name}": row[f"{name}_samples_s"] / row["resident_samples_s"] for name in sources})
    return row


def write_big(path: Path) -> None:
    """A uint8 (ROWS_20GB, 28, 28) .npy: MNIST tiled, written in 47 MB chunks through a memory map."""
    tile = mnist_uint8()[:, 0]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(ROWS_20GB, 28, 28))
    for start in range(0, ROWS_20GB, len(tile)):
        n = min(len(tile), ROWS_20GB - start)
        out[start : start + n] = tile[:n]
        if start % (20 * len(tile)) == 0:
            out.flush()
    out.flush()
    del out


def bench_big(path: Path, steps: int) -> dict:
    if not path.exists():
        start = time.perf_counter()
        write_big(path)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - start:.0f} s", flush=True)
    data = load_run_data(DataConfig(name=str(path), validation="0.001"), "cpu", 0)
    torch.manual_seed(0)
    trainer = Trainer(create_model("dense", data.sample_shape), TrainConfig(epochs=1, batch_size=256, device="cpu"),
                      max_steps=steps)
    start = time.perf_counter()
    history = trainer.fit(data.train)
    seconds = time.perf_counter() - start
    return {"file_bytes": path.stat().st_size, "float32_equivalent_gb": path.stat().st_size * 4 / 1e9,
            "path": type(data.train).__name__, "rows": len(data.train), "steps": trainer.state.step,
            "samples_s": trainer.state.step * 256 / seconds, "train_loss": history[-1]["train"]["loss"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("mnist", "big"))
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (1: the machine is shared)")
    parser.add_argument("--path", type=Path, default=Path("big-uint8.npy"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--delete", action="store_true", help="remove the big file afterwards")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.mode == "mnist":
        result = bench_mnist(args.workers, args.rounds, args.path.parent)
    else:
        result = bench_big(args.path, args.steps)
        if args.delete:
            args.path.unlink()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
