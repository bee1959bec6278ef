"""Ctrl-C during `ae train`, many times in a row: every process must end within a few seconds.

Each try starts `ae train` on scikit-learn's digits (no download), sends SIGINT after a random
delay (start-up, mid-epoch, checkpointing, TensorBoard writing all get hit), and times the exit.
A run folder left behind must still load when it holds a checkpoint. Prints one line per try and
a summary; exits 1 when any try took longer than --limit seconds or left a broken run.

    python scripts/interrupt_soak.py --tries 50 --limit 5
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = ["train", "dense", "--data", "digits", "--epochs", "400", "--batch-size", "32", "--quiet"]


def one_try(out: Path, delay: float, limit: float) -> dict:
    cmd = [sys.executable, "-m", "autoencoders", *TRAIN, "--out", str(out)]
    # a shell's background job starts with SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: give the child the default disposition, as a terminal's Ctrl-C meets it
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=max(limit * 6, 30))
        hung = False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        hung = True
    seconds = time.perf_counter() - sent
    loads = _loads(out) if (out / "model.safetensors").exists() else None
    err = proc.stderr.read().strip().splitlines()
    keep = 1 if proc.returncode == 130 and not hung else 25  # the whole story of anything unusual
    return {"delay": round(delay, 2), "exit_s": round(seconds, 2), "rc": proc.returncode, "hung": hung,
            "loads": loads, "stderr": err[-keep:]}


def _loads(out: Path) -> bool:
    done = subprocess.run([sys.executable, "-m", "autoencoders", "evaluate", str(out), "--json"],
                          capture_output=True, text=True)
    return done.returncode == 0 and "bce" in json.loads(done.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tries", type=int, default=50)
    ap.add_argument("--limit", type=float, default=5.0, help="seconds an interrupted process may take to end")
    ap.add_argument("--max-delay", type=float, default=6.0, help="interrupt after 0.3..this many seconds")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.tries):
            r = one_try(Path(tmp) / f"run{i}", rng.uniform(0.3, args.max_delay), args.limit)
            results.append(r)
            print(json.dumps(r), flush=True)
    slow = [r for r in results if r["hung"] or r["exit_s"] > args.limit]
    odd = [r for r in results if r["rc"] != 130]
    broken = [r for r in results if r["loads"] is False]
    worst = max(r["exit_s"] for r in results)
    print(f"{len(results)} interrupts: slowest exit {worst:.2f} s, {len(slow)} over {args.limit:g} s "
          f"({sum(r['hung'] for r in results)} hung), {len(odd)} not exit code 130, "
          f"{len(broken)} left a run that does not load")
    return 1 if slow or broken or odd else 0


if __name__ == "__main__":
    sys.exit(main())
