"""Two `ae train` started in the same second: the threads each takes and its seconds per epoch.

    .venv/bin/python bench/same_second.py [--rounds 3] [--epochs 3] [-o bench/SAME_SECOND.md]

Each round starts two `python -m autoencoders train conv --data mnist --limit 20000` processes
back to back (milliseconds apart, no OMP_* variable set) under each way of choosing threads
(cli/cpu.py), one way after the other:
  start-up only   today's choice before the registry: the idle cores alone, once (the registry
                  switched off, so nothing claimed and nothing re-checked);
  registry        the claims registry at start-up, no re-check after epochs;
  registry + re-check   what `ae` does: the registry and `rebalance` after every epoch.
With --assume-idle each process's start-up sample reads every core idle, as both would on a quiet
machine (for a machine that other jobs never leave quiet); the re-checks measure the real load.
Every round gets a fresh $XDG_RUNTIME_DIR, so no other `ae` of the machine takes part. Per
process: the threads chosen at start-up and held at the end, the median seconds of its epochs
after the first (the first includes start-up and, for a re-check, runs before any), and its
wall time. The table gives medians over rounds; the load (1-minute load average, and the idle
cores over 1 s just before each pair starts) is recorded with them.
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

SRC = str(Path(__file__).resolve().parents[1] / "src")  # this checkout's code, in the children too
sys.path.insert(0, SRC)
from autoencoders.cli import cpu  # noqa: E402

PATCHES = {  # how each way is switched on, inside the `ae` process before its console starts
    "start-up only": "cpu.registry_path = lambda *a, **k: None",
    "registry": "cpu.rebalance = lambda *a, **k: None",
    "registry + re-check": "",
}
LAUNCH = """
import json, os, sys
from autoencoders.cli import console, cpu
{patch}
if os.environ.get("BENCH_ASSUME_IDLE"):
    cpu.idle_cores = lambda *a, **k: float(os.cpu_count())
sys.argv[0] = "ae"
code = console()
import torch
with open(os.environ["BENCH_THREADS_FILE"], "w") as f:
    json.dump({{"start": int(os.environ["OMP_NUM_THREADS"]), "end": torch.get_num_threads()}}, f)
sys.exit(code)
"""
KNOBS = cpu.USER_KNOBS


def pair(way: str, epochs: int, limit: int, assume_idle: bool) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Path(tmp, "runtime")
        runtime.mkdir(mode=0o700)
        env = {k: v for k, v in os.environ.items() if k not in KNOBS} | {"XDG_RUNTIME_DIR": str(runtime),
                                                                           "PYTHONPATH": SRC}
        if assume_idle:
            env["BENCH_ASSUME_IDLE"] = "1"
        procs, begun = [], time.monotonic()
        for i in range(2):
            cmd = [sys.executable, "-c", LAUNCH.format(patch=PATCHES[way]), "train", "conv", "--data", "mnist",
                   "--epochs", str(epochs), "--batch-size", "128", "--limit", str(limit), "--quiet",
                   "--out", f"{tmp}/run{i}"]
            procs.append(subprocess.Popen(cmd, env=env | {"BENCH_THREADS_FILE": f"{tmp}/threads{i}.json"},
                                          stdout=subprocess.DEVNULL))
        walls = []
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"{way}: ae train failed ({p.returncode})")
            walls.append(time.monotonic() - begun)
        out = []
        for i in range(2):
            history = [json.loads(line) for line in Path(tmp, f"run{i}", "history.jsonl").read_text().splitlines()]
            threads = json.loads(Path(tmp, f"threads{i}.json").read_text())
            out.append({"threads": threads, "epoch_seconds": [r["seconds"] for r in history],
                        "median_epoch": statistics.median(r["seconds"] for r in history[1:]), "wall": walls[i]})
        return out


def measure(rounds: int, epochs: int, limit: int, assume_idle: bool) -> list[dict]:
    results = []
    for r in range(rounds):
        for way in PATCHES:
            load = {"loadavg_1min": float(Path("/proc/loadavg").read_text().split()[0]),
                    "idle_cores": round(cpu.idle_cores(1.0) or 0.0, 2)}
            results.append({"round": r, "way": way, **load, "processes": pair(way, epochs, limit, assume_idle)})
            print(json.dumps(results[-1]), flush=True)
    return results


def render(results: list[dict], meta: dict) -> str:
    lines = [f"# Two `ae train` started in the same second\n\n`python bench/same_second.py` ({meta}). "
             "Per way of choosing threads, medians over rounds: the threads of the process that "
             "claimed first and of the second (start-up -> end), each one's median seconds per "
             "epoch after the first, and the wall time until both were done. Load: the 1-minute "
             "load average and the idle cores (of "
             f"{os.cpu_count()}) just before each pair started.\n",
             "| way | threads (first, second) | s/epoch first | s/epoch second | both done | load avg | idle cores |",
             "|---|---|---|---|---|---|---|"]
    for way in PATCHES:
        rows = [r for r in results if r["way"] == way]
        procs = [sorted(r["processes"], key=lambda p: -p["threads"]["start"]) for r in rows]  # first claimant first
        shown = sorted({", ".join(f"{p['threads']['start']}->{p['threads']['end']}" for p in ps) for ps in procs})
        med = [statistics.median(ps[i]["median_epoch"] for ps in procs) for i in range(2)]
        wall = statistics.median(max(p["wall"] for p in ps) for ps in procs)
        lines.append(f"| {way} | {'; '.join(shown)} | {med[0]:.2f} s | {med[1]:.2f} s | {wall:.1f} s | "
                     f"{statistics.median(r['loadavg_1min'] for r in rows):.2f} | "
                     f"{statistics.median(r['idle_cores'] for r in rows):.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=20000)
    parser.add_argument("--assume-idle", action="store_true", help="start-up samples read every core idle")
    parser.add_argument("-o", "--output", default="bench/SAME_SECOND.md")
    args = parser.parse_args()
    meta = {"cores": os.cpu_count(), "rounds": args.rounds, "epochs": args.epochs, "limit": args.limit,
            "assume_idle": args.assume_idle, "started": time.strftime("%Y-%m-%d %H:%M")}
    results = measure(args.rounds, args.epochs, args.limit, args.assume_idle)
    Path(args.output).write_text(render(results, meta))
    Path(args.output).with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(Path(args.output).read_text())
