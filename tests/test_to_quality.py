"""`ae bench --to-quality`: stops at the target, says when it was not reached, writes the table."""

import dataclasses
import json

from autoencoders.benchmark.to_quality import run_to_quality, time_to_quality
from autoencoders.report import experiments
from autoencoders.report.experiments import Target


def _dense(target: Target):
    return dataclasses.replace(experiments.select("dense")[0], target=target)


def test_stops_at_the_first_epoch_that_meets_the_target():
    row = time_to_quality(_dense(Target("bce", 0.9)), "modern", data="digits")
    assert row["reached"] and row["epochs"] == 1 and len(row["trace"]) == 1
    assert row["value"] <= 0.9 and row["seconds"] > 0


def test_an_unreached_target_is_reported_after_the_time_cap_or_the_fast_budget():
    row = time_to_quality(_dense(Target("bce", 0.0)), "modern", data="digits", max_seconds=0.0)
    assert not row["reached"] and row["epochs"] == 1
    row = time_to_quality(_dense(Target("bce", 0.0)), "fast", data="digits", max_seconds=0.0)
    assert not row["reached"] and row["epochs"] == row["budget_epochs"] == 2  # its own budget, uncapped


def test_table_has_one_column_per_recipe(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "EXPERIMENTS", (_dense(Target("bce", 0.9)),))
    out = tmp_path / "TQ.md"
    rows = run_to_quality(None, ("fast", "modern"), data="digits", out_md=out, log=lambda s: None)
    assert [r["recipe"] for r in rows] == ["fast", "modern"]
    text = out.read_text()
    assert "| experiment | target (test set) | fast | modern |" in text and "| dense | bce <= 0.9" in text
    assert json.loads(out.with_suffix(".json").read_text())["rows"][0]["experiment"] == "dense"


def test_only_is_checked_while_parsing(tmp_path, capsys, exit_code):
    out = tmp_path / "t.md"
    assert exit_code(["bench", "--to-quality", "--only", "vae,vae", "--data", "digits", "--max-seconds", "1",
                      "-o", str(out)]) == 2
    assert "argument --only: experiment 'vae' is named twice in 'vae,vae'" in capsys.readouterr().err
    assert not out.exists()
