"""Run the benchmark suite and write bench/RESULTS.md and bench/RESULTS.json.

    python bench/run.py                 # every article model, MNIST, 3 measured epochs each
    python bench/run.py --models dense  # the same flags as `ae bench`
"""

import sys

from autoencoders.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
