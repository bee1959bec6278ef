"""`make demo` as a new user meets it: a fresh clone, the README's command, timed; then seed 1.

    python scripts/time_fresh_demo.py [--keep DIR]

1. `git clone` of this repository's HEAD into a temporary folder (committed files only).
2. `make install` there, timed (pip's cache makes a repeat faster than a first install).
3. `make demo` there, timed: `ae data fetch mnist` and `ae reproduce --recipe fast --out reproduce-demo`
   (install is already done, so this is the data and the reproduction), into an empty data folder
   ($AUTOENCODERS_DATA, as on a new machine: MNIST unpacked and the data's baselines computed again).
4. `ae reproduce --recipe fast --seed 1 --out reproduce-seed1` in the clone, timed (the baselines cached by 3).
Writes docs/results/demo-fresh.json (the wall times, the load average before and after each step,
the CPU and its bf16 support, each reproduction's wall time and training seconds per experiment:
the README's first section) and copies each reproduction's results.json to
docs/results/demo-seed{0,1}.json; then scripts/docs_generate.py rewrites the README's section.
Run it on a quiet machine: the README states the load it was measured under.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
sys.path.insert(0, str(ROOT / "src"))
from autoencoders.fileio import write_json  # noqa: E402
from autoencoders.training.setup import native_bf16  # noqa: E402


def timed(step: str, argv: list[str], cwd: Path, log: dict, env: dict | None = None) -> None:
    """Run `argv` in `cwd`, recording its wall seconds and the load average around it in `log`."""
    print(f"+ {' '.join(argv)}", flush=True)
    before = os.getloadavg()[0]
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, env=env)
    log[step] = {"seconds": round(time.perf_counter() - start, 1), "load_before": round(before, 2),
                 "load_after": round(os.getloadavg()[0], 2)}
    print(f"  {step}: {log[step]}", flush=True)


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    line = next((row for row in text.splitlines() if row.startswith("model name")), "")
    return line.split(":", 1)[-1].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="clone into this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    clone = args.keep or Path(tempfile.mkdtemp(prefix="fresh-demo-"))
    if clone.exists() and any(clone.iterdir()):
        raise SystemExit(f"{clone} is not empty")
    import torch

    log = {"commit": subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True).strip(),
           "cpu": cpu_model(), "cores": os.cpu_count(), "native_bf16": native_bf16(torch.device("cpu")),
           "date": time.strftime("%Y-%m-%d %H:%M"), "fresh_data": True, "steps": {}}
    data = Path(tempfile.mkdtemp(prefix="fresh-demo-data-"))
    env = {**os.environ, "AUTOENCODERS_DATA": str(data)}
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        timed("install", ["make", "install"], clone, log["steps"])
        timed("demo", ["make", "demo"], clone, log["steps"], env)
        timed("seed1", [str(clone / ".venv" / "bin" / "ae"), "reproduce", "--recipe", "fast", "--seed", "1",
                        "--out", "reproduce-seed1", "--quiet"], clone, log["steps"], env)
        for seed, folder in ((0, "reproduce-demo"), (1, "reproduce-seed1")):
            results = json.loads((clone / folder / "results.json").read_text())
            results["command"] = results["command"].replace(f"{clone}/", "")  # no local paths in a committed file
            write_json(RESULTS / f"demo-seed{seed}.json", results)
            log[f"seed{seed}"] = {"wall_seconds": results["wall_seconds"], "threads": results["environment"]["threads"],
                                  "train_seconds": {e["key"]: e["train_seconds"] for e in results["experiments"]},
                                  "targets_met": all(e["target"]["reached"] for e in results["experiments"])}
        write_json(RESULTS / "demo-fresh.json", log)
    finally:
        shutil.rmtree(data, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(clone, ignore_errors=True)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "docs_generate.py")], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
