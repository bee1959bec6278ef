"""`ae bench --anomaly` on a tiny problem: the one-class protocol runs, its baselines are right, it writes its table."""

import json
import re
from pathlib import Path

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


def _longest_list(obj) -> int:
    if isinstance(obj, dict):
        return max((_longest_list(v) for v in obj.values()), default=0)
    if isinstance(obj, list):
        return max([len(obj), *(_longest_list(v) for v in obj)])
    return 0


def test_one_class_protocol_writes_markdown_json_and_figures(tmp_path):
    from autoencoders.data import load_dataset

    out, figures = tmp_path / "bench" / "A.md", tmp_path / "figures"
    recipe = AnomalyRecipe(epochs=2, batch_size=32)
    result = run_anomaly("digits", classes=[3, 5], seeds=1, out_md=out, recipe=recipe, figures=figures,
                         log=lambda *_: None)
    row = result["rows"][0]
    normal = int((load_dataset("digits", "train").labels == 3).sum())
    held = round(normal * recipe.calibration)  # the recipe's share held out, half of it sets the threshold
    assert row["class"] == 3 and row["n_train"] == normal - held and row["n_cal"] == held - held // 2
    assert row["n_test_normal"] == int((load_dataset("digits", "test").labels == 3).sum())
    assert set(row["scores"]) == set(SCORES) and set(row["baselines"]) == set(BASELINES)
    assert all(0 <= v["auroc"] <= 1 and 0 <= v["auprc"] <= 1 for g in ("scores", "baselines") for v in row[g].values())
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["rows"] == result["rows"] and saved["calibration"] == recipe.calibration
    assert _longest_list(saved) == 3  # the three figure paths: no per-sample arrays (360 test images)
    text = out.read_text()
    mean_row = next(line for line in text.splitlines() if line.startswith("| **mean**"))
    mean = np.mean([r["scores"]["mse"]["auroc"] for r in result["rows"]])
    assert f"**{mean:.3f}**" in mean_row and "Published" in text
    # the figures: of the first class run (digits has no FIGURE_CLASSES entry), at seed 0 only, linked
    assert sorted(p.name for p in figures.iterdir()) == [f"anomaly-digits-class3-{k}.png" for k in
                                                          ("images", "roc", "scores")]
    assert [Path(f).name for f in row["figures"]] == [f"anomaly-digits-class3-{k}.png" for k in
                                                      ("scores", "roc", "images")]
    assert "figures" not in result["rows"][1]
    for link in re.findall(r"\]\(([^)]+\.png)\)", text):
        assert (out.parent / link).is_file(), link
    assert "](../figures/anomaly-digits-class3-roc.png)" in text
    # the realised rate per class and seed, beside what these n lead one to expect
    table = text.split("## Realised false-positive rate per class and seed", 1)[1]
    line = next(x for x in table.splitlines() if x.startswith("| 3 |"))
    rate = row["scores"][result["default_score"]]["fpr@0.05"]
    assert f"{100 * rate:.1f}%" in line and f"| {row['n_cal']:,} | {row['n_test_normal']:,} |" in line
    assert re.search(r"At alpha 0.05: \d of 2 rates within 3.5-6.5%", table)


def test_bench_anomaly_flags():
    flags = ["bench", "--anomaly", "--data", "fashion-mnist", "--classes", "0,3", "--seeds", "2"]
    args = build_parser().parse_args(flags)
    assert args.anomaly and args.classes == (0, 3) and args.seeds == 2
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--anomaly", "--classes", "0,-1"])
