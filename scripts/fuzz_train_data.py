"""Fuzz the whole `ae train dense --data FILE` path for a while and count what escapes.

The inputs are tests/test_fuzz.py's: its seed files (.npy of images and of series, .npz with
labels or splits, a .csv series, image folders with a PNG or a float TIFF), its mutations
(bytes set, inserted, deleted, the file truncated) and its `ae train` options (the budget's
choice, --stream true/false, --window, a tiny --memory-budget), each run through `train_on`,
the CLI's entry, for one epoch. Unlike the test, which stops at the first foreign exception,
this keeps going and counts them (by type, with the first traceback of each).

    PYTHONPATH=src python scripts/fuzz_train_data.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from autoencoders import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_fuzz import BATCH, DATA_SEEDS, MUTATIONS, TRAIN_OPTIONS, train_on, write_mutated  # noqa: E402


def fuzz(seconds: float) -> tuple[int, collections.Counter, dict]:
    """(inputs run, foreign exceptions by type, the first traceback of each type) after `seconds`."""
    counts, foreign, first = collections.Counter(), collections.Counter(), {}

    @settings(BATCH, max_examples=10)  # small batches: the time limit is checked between them
    @given(name=st.sampled_from(sorted(DATA_SEEDS)), mutations=MUTATIONS, options=TRAIN_OPTIONS)
    def one(name, mutations, options):
        counts["inputs"] += 1
        with tempfile.TemporaryDirectory() as tmp:
            try:
                counts[f"exit {train_on(write_mutated(Path(tmp), name, mutations), options, Path(tmp) / 'run')}"] += 1
            except Exception as e:  # noqa: BLE001 - a foreign exception: what this script counts
                kind = f"{type(e).__name__} ({name})"
                foreign[kind] += 1
                first.setdefault(kind, f"{name} {mutations} {options}\n{traceback.format_exc()}")

    start = time.monotonic()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # each run's settings line
        while time.monotonic() - start < seconds:
            one()
    return counts, foreign, first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz (default 60)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # Pillow's warnings about the damaged tags it skips
    cli.build_parser = functools.cache(cli.build_parser)  # the same parser each run: 80 ms less per input
    start = time.monotonic()
    counts, foreign, first = fuzz(args.seconds)
    for kind, text in first.items():
        print(f"--- first {kind}:\n{text}", file=sys.stderr)
    exits = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if k != "inputs")
    print(f"{counts['inputs']} inputs in {time.monotonic() - start:.0f} s ({exits}); "
          f"{sum(foreign.values())} foreign exceptions" + (f": {dict(foreign)}" if foreign else ""))
    return 1 if foreign else 0


if __name__ == "__main__":
    sys.exit(main())
