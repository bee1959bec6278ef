"""The tutorial's figures and the README's and tutorial's numbers, from one real run on MNIST.

    PYTHONPATH=src nice -n 19 python scripts/tutorial_figures.py [--out reproduce-tutorial] [--seed 0]

1. `ae reproduce --recipe fast --seed N --out OUT` (what `make demo` runs; finished runs are reused):
   it trains the seven runs with exactly the settings of docs/tutorial.md's `ae train` lines
   (tests/test_docs_tutorial.py checks that) and writes OUT/results.json.
2. Seed 0 only: every other `ae` command of docs/tutorial.md's runnable blocks, in order, on
   those runs: `runs/KEY` becomes `OUT/runs/fast-KEY`, and a `NAME.png` argument becomes
   `docs/figures/tutorial/NAME.png`. Then two of the report's own figures are copied beside them.
3. OUT/results.json is copied to docs/results/demo-seed{N}.json (its `command` with paths made
   relative to the repository), and scripts/docs_generate.py
   rewrites the generated tables (README.md's results, the tutorial's). Figures above 150 KB are
   saved again as 256-colour PNGs.

Seed 1 (`--seed 1 --out reproduce-seed1`) only adds docs/results/demo-seed1.json. About 15-60
minutes per seed on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures" / "tutorial"
RESULTS = ROOT / "docs" / "results"
# the report's figures the tutorial shows too: report name -> tutorial name
FROM_REPORT = {"fast-conv-curves.png": "conv-curves.png"}

sys.path.insert(0, str(ROOT / "tests"))
import docpages  # noqa: E402  (the one parser of the pages' code blocks)
from autoencoders.fileio import write_json  # noqa: E402


def tutorial_commands() -> list[list[str]]:
    """The runnable `ae` lines of docs/tutorial.md, in order."""
    return [argv for b in docpages.blocks("tutorial.md", "bash") if b.runs for argv in docpages.ae_lines(b.code)]


def on_the_run(argv: list[str], out: Path) -> list[str]:
    """A tutorial command pointed at the reproduce run's folders and the docs' figure folder."""
    mapped = []
    for arg in argv:
        if m := re.fullmatch(r"runs/([\w-]+)", arg):
            arg = str(out / "runs" / f"fast-{m[1]}")
        elif arg.endswith(".png"):
            arg = str(FIGURES / arg)
        mapped.append(arg)
    return mapped


def ae(*args: str) -> None:
    print("+ ae", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "autoencoders", *args], check=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="reproduce folder (default: reproduce-tutorial, "
                        "or reproduce-seed1 for --seed 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = (args.out or Path("reproduce-tutorial" if args.seed == 0 else f"reproduce-seed{args.seed}")).resolve()
    ae("reproduce", "--recipe", "fast", "--seed", str(args.seed), "--out", str(out))
    if args.seed == 0:
        FIGURES.mkdir(parents=True, exist_ok=True)
        for argv in tutorial_commands():
            if argv[1] not in ("train", "data"):
                ae(*on_the_run(argv, out)[1:])
        for name, target in FROM_REPORT.items():
            shutil.copyfile(out / "figures" / name, FIGURES / target)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = json.loads((out / "results.json").read_text())
    results["command"] = results["command"].replace(f"{ROOT}/", "")  # no local paths in a committed file
    write_json(RESULTS / f"demo-seed{args.seed}.json", results)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "docs_generate.py")], check=True, cwd=ROOT)
    for png in sorted(FIGURES.glob("*.png")):
        shrink(png)
        print(f"{png.relative_to(ROOT)}: {png.stat().st_size // 1024} KB")


def shrink(png: Path, limit: int = 150_000) -> None:
    """A figure above `limit` bytes becomes a 256-colour palette PNG (the figures are mostly grey)."""
    if png.stat().st_size <= limit:
        return
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(256)
    small.save(png, optimize=True)


if __name__ == "__main__":
    main()
