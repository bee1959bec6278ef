"""Seconds per epoch of `ae train` under each CPU threading choice, on a quiet and a loaded machine.

    .venv/bin/python bench/busy_machine.py [--models dense,conv] [--rounds 3] [-o bench/BUSY.md]

Each configuration runs `python -m autoencoders train MODEL --data mnist` in a fresh process (the
OpenMP settings are read when PyTorch loads) with the environment below; "auto" sets nothing and
lets `ae` choose (cli/cpu.py). "loaded" runs the same with one pure-Python busy loop per
`--load` core alongside. Rounds interleave the configurations so that drift in the machine's
other load hits them all alike; the table gives the median over rounds of each run's median
epoch (epochs after the first) and its ratio to the default (2 spinning threads) measured in
the same run.
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

CONFIGS = {
    "default (all threads, libgomp spin)": {"OMP_NUM_THREADS": str(os.cpu_count())},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_NUM_THREADS": str(os.cpu_count()), "OMP_WAIT_POLICY": "PASSIVE"},
    "GOMP_SPINCOUNT=20000": {"OMP_NUM_THREADS": str(os.cpu_count()), "GOMP_SPINCOUNT": "20000"},
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "auto (ae's choice)": {},
}
MODEL_ARGS = {  # model: (epochs, extra flags): enough batches per epoch to time
    "dense": (3, ["--batch-size", "256"]),
    "conv": (2, ["--batch-size", "128", "--limit", "20000"]),
}
KNOBS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def epoch_seconds(model: str, env_extra: dict) -> float:
    epochs, flags = MODEL_ARGS[model]
    env = {k: v for k, v in os.environ.items() if k not in KNOBS} | env_extra
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "autoencoders", "train", model, "--data", "mnist", "--epochs", str(epochs),
               "--quiet", "--out", f"{tmp}/run", *flags]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        history = [json.loads(line) for line in Path(tmp, "run", "history.jsonl").read_text().splitlines()]
    return statistics.median(r["seconds"] for r in history[1:])


def start_load(cores: int) -> list:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]


def measure(models, rounds: int, load: int) -> dict:
    results: dict = {}
    for scenario, cores in (("quiet", 0), ("loaded", load)):
        procs = start_load(cores)
        try:
            time.sleep(1.0 if procs else 0.0)
            for _ in range(rounds):
                for model in models:
                    for name, env in CONFIGS.items():
                        results.setdefault(scenario, {}).setdefault(model, {}).setdefault(name, []).append(
                            epoch_seconds(model, env))
        finally:
            for p in procs:
                p.kill()
    return results


def render(results: dict, meta: dict) -> str:
    lines = [f"# `ae train` on a quiet and a loaded machine\n\n`python bench/busy_machine.py` ({meta}). "
             "Median seconds per epoch over rounds; in brackets the ratio to the default in the same "
             "scenario (below 1 is faster).\n",
             "| scenario | model | " + " | ".join(CONFIGS) + " |", "|---|---|" + "---|" * len(CONFIGS)]
    for scenario, by_model in results.items():
        for model, by_config in by_model.items():
            base = statistics.median(by_config[next(iter(CONFIGS))])
            cells = [f"{statistics.median(v):.2f} s ({statistics.median(v) / base:.2f})" for v in by_config.values()]
            lines.append(f"| {scenario} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="dense,conv")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", type=int, default=1, help="busy cores in the loaded scenario")
    parser.add_argument("-o", "--output", default="bench/BUSY.md")
    args = parser.parse_args()
    meta = {"cores": os.cpu_count(), "rounds": args.rounds, "load_cores": args.load,
            "started": time.strftime("%Y-%m-%d %H:%M")}
    results = measure(args.models.split(","), args.rounds, args.load)
    Path(args.output).write_text(render(results, meta))
    Path(args.output).with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(Path(args.output).read_text())
