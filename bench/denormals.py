"""`ae train` with denormals flushed on the calling thread only vs on every intra-op thread.

    python bench/denormals.py [--threads 2] [--epochs 5] [--rounds 2] [--nets vae,deep,dense,conv]
                              [--out bench/DENORMALS.md]

x86 CPUs compute on denormal floats (below 1.2e-38) through slow microcode. Adam's moments of
weights that rarely see a gradient, such as the first layer's weights of MNIST's blank border
pixels, decay through that range: after the first epoch tens of thousands of them sit there.
The flush-to-zero flags are per thread, and a thread inherits them only when it is created:
*calling thread* is `ae train` as it was before training/setup.py set them on the intra-op pool's
threads too (the pool's other threads went on computing denormals), *every thread* is `ae train`
as it is. Each run is a fresh process; the settings alternate within every round. The table gives
each setting's median seconds per epoch over rounds, for the first epoch and for the last (the
denormals pile up), the Adam state's denormal values after the last epoch (counted from the bits,
which flushing does not hide), and the last validation loss.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Counts the optimizer state's denormals after every epoch; DENORMALS_CALLING_THREAD_ONLY=1 flushes as before the fix.
LAUNCH = """
import os, sys, torch
from autoencoders.training import setup, trainer
if os.environ.get("DENORMALS_CALLING_THREAD_ONLY") == "1":
    setup._gomp_regions = lambda: []
epoch = trainer.Trainer.train_epoch
def counted(self, *args, **kwargs):
    means = epoch(self, *args, **kwargs)
    bits = [v.view(torch.int32) for s in self.optimizer.state.values() for v in s.values()
            if torch.is_tensor(v) and v.dtype == torch.float32 and v.dim()]
    n = sum(int((((b & 0x7F800000) == 0) & ((b & 0x007FFFFF) != 0)).sum()) for b in bits)
    print("denormals", n, file=sys.stderr, flush=True)
    return means
trainer.Trainer.train_epoch = counted
from autoencoders.cli import console
sys.exit(console())
"""
NETS = {  # bench/peers.py's settings: the article's batch sizes, Adam at 1e-3
    "vae": ["vae", "--batch-size", "100"],
    "deep": ["deep", "--batch-size", "256"],
    "dense": ["dense", "--batch-size", "256"],
    "conv": ["conv", "--batch-size", "128"],
}
SETTINGS = {"calling thread": "1", "every thread": "0"}


def run(net: str, setting: str, args, out: Path) -> dict:
    cmd = [sys.executable, "-c", LAUNCH, "train", *NETS[net], "--optimizer", "adam", "--lr", "1e-3",
           "--data", "mnist", "--epochs", str(args.epochs), "--quiet", "--offline", "--overwrite", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(args.threads),
           "GOMP_SPINCOUNT": "20000", "DENORMALS_CALLING_THREAD_ONLY": SETTINGS[setting]}
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    counts = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("denormals ")]
    return {"seconds": [r["seconds"] for r in history], "denormals": counts, "val_loss": history[-1]["val"]["loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--nets", default=",".join(NETS))
    parser.add_argument("--out", default="bench/DENORMALS.md")
    args = parser.parse_args()
    unknown = sorted(set(args.nets.split(",")) - set(NETS))
    if unknown:
        parser.error(f"--nets: unknown {', '.join(unknown)} (choose from {', '.join(NETS)})")
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for net in args.nets.split(","):
            runs: dict = {s: [] for s in SETTINGS}
            for _ in range(args.rounds):
                for setting in runs:
                    runs[setting].append(run(net, setting, args, Path(tmp) / net))
            rows.append({"net": net, "runs": runs, **{s: {
                "first_s": statistics.median(r["seconds"][0] for r in rs),
                "last_s": statistics.median(r["seconds"][-1] for r in rs),
                "mean_s": statistics.median(statistics.fmean(r["seconds"]) for r in rs),
                "denormals": max(r["denormals"][-1] for r in rs),
                "val_loss": rs[0]["val_loss"]} for s, rs in runs.items()}})
            print(net, {s: rows[-1][s] for s in runs}, flush=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "threads": args.threads, "epochs": args.epochs,
              "rounds": args.rounds, "load_at_start": load, "load_at_end": os.getloadavg()[0], "rows": rows}
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# Denormals flushed on the calling thread only vs on every thread (`bench/denormals.py`)",
        "",
        f"`python bench/denormals.py --threads {args.threads} --epochs {args.epochs} --rounds {args.rounds} "
        f"--nets {args.nets}`, {result['date']}; load average {load:.2f} at the start, "
        f"{result['load_at_end']:.2f} at the end. " + " ".join(__doc__.split("\n\n")[2].split()),
        "",
        "| net | s/epoch, first / last / mean: calling thread | every thread | mean ratio | "
        "denormals in Adam's state after the last epoch | last val loss |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        a, b = r["calling thread"], r["every thread"]
        lines.append(f"| {r['net']} | {a['first_s']:.2f} / {a['last_s']:.2f} / {a['mean_s']:.2f} | "
                     f"{b['first_s']:.2f} / {b['last_s']:.2f} / {b['mean_s']:.2f} | "
                     f"{a['mean_s'] / b['mean_s']:.2f}x | {a['denormals']:,} / {b['denormals']:,} | "
                     f"{a['val_loss']:.4f} / {b['val_loss']:.4f} |")
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
