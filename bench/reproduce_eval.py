"""Time `ae reproduce`'s evaluation phases on finished runs: `reproduce(OUT, train=False)` with a
timer around each phase (inclusive seconds and calls; nested phases overlap), wall and CPU seconds,
the threads the `ae` command would choose for this machine's load (cli/cpu.py) and the load.

    PYTHONPATH=src python bench/reproduce_eval.py OUT LABEL [JSON] [--profile demo] [--seed 0]
    python bench/reproduce_eval.py --table JSONL   # its lines as a markdown table (REPRODUCE_EVAL.md)

OUT holds the runs of `ae reproduce --recipe fast --out OUT` (`--seed`: the seed they ran with:
another seed is another config, which `reproduce` refuses). The data's own baselines are cached
in the data root (AUTOENCODERS_DATA, default ~/.cache/autoencoders): point it at a folder whose
`mnist/` links to the MNIST files and holds no `derived/` for a cold cache. Written for
bench/REPRODUCE_EVAL.md; it times older versions of the pipeline too (phases it does not find
are left out).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections import defaultdict

PHASES = ("Run.evaluate", "code_section", "probes (codes)", "target_section", "experiment_figures",
          "explorer_section", "_summary")


def table(path: str) -> str:
    """The runs of a JSONL file this script wrote, one column each: wall, CPU, load, the main phases."""
    runs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    lines = ["| | " + " | ".join(r["label"] for r in runs) + " |", "|---" * (len(runs) + 1) + "|",
             "| wall seconds | " + " | ".join(f"{r['wall_s']:.1f}" for r in runs) + " |",
             "| CPU seconds | " + " | ".join(f"{r['cpu_s']:.1f}" for r in runs) + " |",
             "| load (1 min) at the start | " + " | ".join(f"{r['loadavg_before'][0]:.2f}" for r in runs) + " |"]
    for phase in PHASES:
        lines.append(f"| `{phase}` | " + " | ".join(f"{r['phases'][phase][0]:.1f}" if phase in r["phases"] else "-"
                                                 for r in runs) + " |")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--table"]:
        print(table(sys.argv[2]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("label")
    parser.add_argument("json", nargs="?")
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from autoencoders.cli.cpu import configure

    chosen = configure()  # before torch loads, as the `ae` command does
    import torch

    from autoencoders import api
    from autoencoders.evaluation import baselines
    from autoencoders.report import figures, pipeline

    spent, calls = defaultdict(float), defaultdict(int)

    def wrap(owner, name, tag=None):
        if not hasattr(owner, name):
            return
        fn, tag = getattr(owner, name), tag or name

        @functools.wraps(fn)
        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[tag] += time.perf_counter() - t
                calls[tag] += 1

        setattr(owner, name, timed)

    for name in ("dataset_section", "matched_baselines", "run_experiment", "code_section", "likelihood_section",
                 "target_section", "experiment_figures", "explorer_section", "_summary", "train", "probes",
                 "dataset_figures"):
        wrap(pipeline, name, "probes (codes)" if name == "probes" else name)
    for name in ("pca_baseline", "jpeg_baseline", "mean_image", "entropy_floor"):
        wrap(baselines, name)
    wrap(figures, "latent_scatter")
    wrap(api.Run, "evaluate", "Run.evaluate")
    try:
        from autoencoders.data import derived
        from autoencoders.report import data_baselines as rb
    except ImportError:  # the pipeline before the cache
        pass
    else:
        for name in ("__init__", "section", "matched", "pca", "jpeg", "pixel_tsne"):
            wrap(rb.DataBaselines, name, f"DataBaselines.{name}")
        wrap(rb, "probes", "probes (data)")
        wrap(derived, "checksum")

    load0 = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    pipeline.reproduce(args.out, profile=args.profile, recipe="fast", seed=args.seed, quiet=True, train=False)
    report = {"label": args.label, "profile": args.profile, "seed": args.seed,
              "wall_s": round(time.perf_counter() - wall, 1),
              "cpu_s": round(time.process_time() - cpu, 1), "threads": torch.get_num_threads(), "chosen": chosen,
              "loadavg_before": [round(x, 2) for x in load0], "loadavg_after": [round(x, 2) for x in os.getloadavg()],
              "phases": {k: [round(v, 2), calls[k]] for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}}
    print(json.dumps(report))
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
