"""Train the runs of `ae reproduce --profile full` one experiment at a time, with exactly the
configurations reproduce uses, so a later `ae reproduce --profile full --recipe both` (or
`--no-train`) reuses them. Interrupted runs resume.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/full_runs.py RECIPE [EXPERIMENTS] [--out reproduce]
    e.g.  scripts/full_runs.py article dense,sparse,deep,vae,lstm,conv
          scripts/full_runs.py modern denoise
One thread per process lets two such jobs share a 2-core machine without OpenMP spin-waiting.
"""

import argparse
import time

from autoencoders import api
from autoencoders.presets import RECIPES, get_profile, run_config, run_path, select

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", choices=["modern", "article"])
    parser.add_argument("experiments", nargs="?", help="comma-separated (default: all seven)")
    parser.add_argument("--out", default="reproduce")
    parser.add_argument("--data", default="mnist")
    args = parser.parse_args()
    recipe = RECIPES[args.recipe]
    for exp in select(args.experiments):
        start = time.time()
        config = run_config(exp, recipe, get_profile("full"), args.data)
        api.train(config, out=run_path(args.out, recipe, exp), resume="auto", quiet=True)
        print(f"{time.strftime('%T')} finished {args.recipe} {exp.key} in {time.time() - start:.0f} s", flush=True)
