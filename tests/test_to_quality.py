"""`ae bench --to-quality`: stops at the target, says when it was not reached, writes the table."""

import dataclasses
import json

import pytest

from autoencoders import presets
from autoencoders.benchmark.to_quality import run_to_quality, time_to_quality
from autoencoders.errors import ConfigError
from autoencoders.presets import FAST, MODERN, Recipe, Target


def _dense(target: Target):
    return dataclasses.replace(presets.select("dense")[0], target=target)


def test_stops_at_the_first_epoch_that_meets_the_target():
    row = time_to_quality(_dense(Target("bce", 0.9)), MODERN, data="digits")
    assert row["reached"] and row["epochs"] == 1 and len(row["trace"]) == 1
    assert row["value"] <= 0.9 and row["seconds"] > 0


def test_an_unreached_target_is_reported_after_the_time_cap_or_the_fast_budget():
    row = time_to_quality(_dense(Target("bce", 0.0)), MODERN, data="digits", max_seconds=0.0)
    assert not row["reached"] and row["epochs"] == 1
    row = time_to_quality(_dense(Target("bce", 0.0)), FAST, data="digits", max_seconds=0.0)
    assert not row["reached"] and row["epochs"] == row["budget_epochs"] == 2  # its own budget, uncapped


def test_the_cap_follows_the_recipes_budget_not_its_name():
    mine = Recipe("mine", fast_budget=True)  # the fast budget under a constant lr: uncapped, as its budget is short
    row = time_to_quality(_dense(Target("bce", 0.0)), mine, data="digits", max_seconds=0.0)
    assert row["recipe"] == "mine" and row["epochs"] == row["budget_epochs"] == 2 and row["schedule"] == "constant"
    row = time_to_quality(_dense(Target("bce", 0.0)), Recipe("fast"), data="digits", max_seconds=0.0)
    assert row["epochs"] == 1 and row["budget_epochs"] > 1  # the article's budget: capped, whatever its name


def test_table_has_one_column_per_recipe(tmp_path, monkeypatch):
    monkeypatch.setattr(presets, "EXPERIMENTS", (_dense(Target("bce", 0.9)),))
    out = tmp_path / "TQ.md"
    rows = run_to_quality(None, (FAST, MODERN, Recipe("mine", fast_budget=True)), data="digits", out_md=out,
                          log=lambda s: None)
    assert [r["recipe"] for r in rows] == ["fast", "modern", "mine"]
    text = out.read_text()
    assert "| experiment | target (test set) | fast | modern | mine |" in text and "| dense | bce <= 0.9" in text
    cells = next(line for line in text.splitlines() if line.startswith("| dense")).split(" | ")[2:]
    assert [c.startswith("**") for c in cells] == [True, False, True]  # bold: the recipes on the fast budget
    assert json.loads(out.with_suffix(".json").read_text())["rows"][0]["experiment"] == "dense"


def test_only_is_checked_while_parsing(tmp_path, capsys, exit_code):
    out = tmp_path / "t.md"
    assert exit_code(["bench", "--to-quality", "--only", "vae,vae", "--data", "digits", "--max-seconds", "1",
                      "-o", str(out)]) == 2
    assert "argument --only: experiment 'vae' is named twice in 'vae,vae'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("recipes,twice", [("fast,fast", "fast"), ("both,modern", "modern"),
                                           ("all,article", "article")])
def test_recipes_are_checked_while_parsing_each_once(tmp_path, capsys, exit_code, recipes, twice):
    out = tmp_path / "t.md"
    assert exit_code(["bench", "--to-quality", "--recipes", recipes, "--data", "digits", "--max-seconds", "1",
                      "-o", str(out)]) == 2
    assert f"argument --recipes: recipe '{twice}' is named twice in '{recipes}'" in capsys.readouterr().err
    assert not out.exists()


def test_recipes_listed_expands_the_sets_in_order():
    assert [r.name for r in presets.recipes_listed("fast, both")] == ["fast", "modern", "article"]
    with pytest.raises(ConfigError, match="unknown recipe"):
        presets.recipes_listed("fast,quick")
