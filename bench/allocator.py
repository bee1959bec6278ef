"""`ae train` with glibc's default malloc thresholds vs raised ones: does the allocator cost time?

    python bench/allocator.py [--threads 2] [--epochs 2] [--rounds 3] [--out bench/ALLOCATOR.md]

A conv net's step allocates and frees megabyte-sized activations and gradients; glibc's malloc
serves blocks above its mmap threshold with fresh mmap()s and returns free memory at its heap's
top past its trim threshold, so a step could pay a page fault for every 4 KiB page it touches.
glibc raises both thresholds itself when such a block is freed (up to 32 MiB). *default* runs `ae
train` as it is; *raised* calls mallopt(M_MMAP_THRESHOLD, 32 MiB) and mallopt(M_TRIM_THRESHOLD,
256 MiB) before the `ae` program starts. Each run is a fresh process (the thresholds are
process-wide); settings alternate per round. The table gives each setting's median seconds per
epoch over rounds (every epoch counted, the first included, as the demo counts them) and the
process's minor page faults (data loading included), and the load average at the start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAISE = ("import ctypes; libc = ctypes.CDLL('libc.so.6'); "
         "assert libc.mallopt(-3, 32 << 20) == 1 and libc.mallopt(-1, 256 << 20) == 1; ")  # M_MMAP_, M_TRIM_THRESHOLD
LAUNCH = "import sys; from autoencoders.cli import console; sys.exit(console())"
NETS = {  # the fast recipe's flags (presets.py), the nets with the largest temporaries
    "denoise": ["conv-denoise", "--noise", "gaussian:0.5", "--batch-size", "128", "--lr", "2e-2",
                "--precision", "auto"],
    "lstm": ["lstm", "--as-sequence", "--batch-size", "256", "--lr", "1e-2", "--precision", "auto"],
    "conv": ["conv", "--batch-size", "128", "--lr", "2e-2", "--precision", "auto"],
}


def run(net: str, setting: str, args, out: Path) -> dict:
    cmd = [sys.executable, "-c", (RAISE if setting == "raised" else "") + LAUNCH, "train", *NETS[net],
           "--data", "mnist", "--epochs", str(args.epochs), "--quiet", "--offline", "--overwrite", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(args.threads),
           "GOMP_SPINCOUNT": "20000"}
    faults = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    return {"seconds": [r["seconds"] for r in history],
            "minor_faults": resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - faults}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nets", default=",".join(NETS))
    parser.add_argument("--out", default="bench/ALLOCATOR.md")
    args = parser.parse_args()
    unknown = sorted(set(args.nets.split(",")) - set(NETS))
    if unknown:
        parser.error(f"--nets: unknown {', '.join(unknown)} (choose from {', '.join(NETS)})")
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for net in args.nets.split(","):
            runs: dict = {"default": [], "raised": []}
            for _ in range(args.rounds):
                for setting in runs:
                    runs[setting].append(run(net, setting, args, Path(tmp) / net))
            rows.append({"net": net, "runs": runs, **{
                s: {"s_per_epoch": statistics.median(x for r in rs for x in r["seconds"]),
                    "minor_faults": statistics.median(r["minor_faults"] for r in rs)} for s, rs in runs.items()}})
            print(net, {s: rows[-1][s] for s in runs}, flush=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "threads": args.threads, "epochs": args.epochs,
              "rounds": args.rounds, "load_at_start": load, "load_at_end": os.getloadavg()[0], "rows": rows}
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# `ae train` with glibc's default malloc thresholds vs raised ones (`bench/allocator.py`)",
        "",
        f"`python bench/allocator.py --threads {args.threads} --epochs {args.epochs} --rounds {args.rounds}`, "
        f"{result['date']}; load average {load:.2f} at the start, {result['load_at_end']:.2f} at the end. "
        + " ".join(__doc__.split("\n\n")[2].split()),
        "",
        "| net | default s/epoch | raised s/epoch | default / raised | default minor faults | raised minor faults |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        d, s = r["default"], r["raised"]
        lines.append(f"| {r['net']} | {d['s_per_epoch']:.2f} | {s['s_per_epoch']:.2f} | "
                     f"{d['s_per_epoch'] / s['s_per_epoch']:.2f}x | {d['minor_faults']:,.0f} | "
                     f"{s['minor_faults']:,.0f} |")
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
