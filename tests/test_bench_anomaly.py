"""`ae bench --anomaly` on a tiny problem: the one-class protocol runs, its baselines are right, it writes its table."""

import json

import numpy as np
import pytest

from autoencoders.benchmark.anomaly import BASELINES, SCORES, baseline_scores, run_anomaly
from autoencoders.cli import build_parser
from autoencoders.presets import AnomalyRecipe


def test_baselines_on_separable_data():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(300, 40))
    test = np.r_[rng.normal(size=(50, 40)), rng.normal(size=(50, 40)) + 6]  # 50 normal, 50 far away
    scores = baseline_scores(train, test, seed=0)
    assert set(scores) == set(BASELINES)
    brute = np.sqrt(((test[:, None, :] - train[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(scores["knn-pixels"], brute, rtol=1e-6)
    for name, s in scores.items():
        assert s.shape == (100,) and s[50:].min() > s[:50].max(), name  # every anomaly above every normal


def test_one_class_protocol_writes_markdown_and_json(tmp_path):
    out = tmp_path / "A.md"
    result = run_anomaly("digits", classes=[3], seeds=1, out_md=out, recipe=AnomalyRecipe(epochs=2, batch_size=32),
                         log=lambda *_: None)
    row = result["rows"][0]
    assert row["class"] == 3 and row["n_train"] + 2 * row["n_cal"] >= 140  # 90% trained, 10% held out
    assert set(row["scores"]) == set(SCORES) and set(row["baselines"]) == set(BASELINES)
    assert all(0 <= v["auroc"] <= 1 and 0 <= v["auprc"] <= 1 for g in ("scores", "baselines") for v in row[g].values())
    assert json.loads(out.with_suffix(".json").read_text())["rows"] == result["rows"]
    text = out.read_text()
    mean_row = next(line for line in text.splitlines() if line.startswith("| **mean**"))
    assert f"**{row['scores']['mse']['auroc']:.3f}**" in mean_row and "Published" in text


def test_bench_anomaly_flags():
    flags = ["bench", "--anomaly", "--data", "fashion-mnist", "--classes", "0,3", "--seeds", "2"]
    args = build_parser().parse_args(flags)
    assert args.anomaly and args.classes == (0, 3) and args.seeds == 2
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--anomaly", "--classes", "0,-1"])
