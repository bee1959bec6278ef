"""The README's anomaly table says what bench/ANOMALY*.json measured (numbers come from the command)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ROWS = {  # README row -> (group, name) in the benchmark's JSON
    "ours: `mse+lof+maha`": ("scores", "mse+lof+maha"), "ours: `knn`": ("scores", "knn"),
    "ours: `bce`": ("scores", "bce"), "LOF on pixels": ("baselines", "lof"),
    "kNN on pixels": ("baselines", "knn-pixels"), "PCA-32 reconstruction": ("baselines", "pca-32"),
}


def readme_rows() -> dict:
    section = (ROOT / "README.md").read_text().split("## Anomaly detection", 1)[1].split("\n## ", 1)[0]
    return {cells[0]: cells[1:] for line in section.splitlines() if line.startswith("| ")
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}


@pytest.mark.parametrize("row", list(ROWS))
def test_readme_anomaly_row_is_the_benchmarks(row):
    found = {k: v for k, v in readme_rows().items() if k.startswith(row)}
    assert len(found) == 1, row
    cells = next(iter(found.values()))
    group, name = ROWS[row]
    for cell, stem in zip(cells, ("ANOMALY", "ANOMALY_fashion-mnist")):
        rows = json.loads((ROOT / "bench" / f"{stem}.json").read_text())["rows"]
        assert cell == f"{np.mean([r[group][name]['auroc'] for r in rows]):.3f}", (row, stem)


def test_readme_names_the_seeds_the_json_holds():
    seeds = {r["seed"] for r in json.loads((ROOT / "bench" / "ANOMALY.json").read_text())["rows"]}
    section = (ROOT / "README.md").read_text().split("## Anomaly detection", 1)[1]
    assert re.search(rf"--data mnist --seeds {len(seeds)}`", section)
