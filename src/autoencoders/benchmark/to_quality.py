"""Time to quality: training seconds until each experiment's test metric first reaches its target.

For each of the article's experiments and each recipe (fast, modern, article), one process trains
the recipe's configuration on the full training set and, after every epoch, measures the target
metric on the test set (evaluation/quality.py; the measurement is not counted as training time).
A run stops at the first epoch that meets the target, at the end of its recipe's budget, or (a
recipe on the article's budget, which runs to hours: modern, article) when its training time
passes `max_seconds` (then the table says "not reached"); a recipe on the experiments' fast budget
(`Recipe.fast_budget`: fast) runs it, short by design, and is the table's bold column. Wall time is
the sum of the epochs' seconds as the trainer records them (training plus its validation pass).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

from ..api import train
from ..evaluation.quality import HIGHER_IS_BETTER, UNITS, meets, quality
from ..fileio import write_json, write_text
from ..presets import RECIPES, Recipe, get_profile, run_config, select


def time_to_quality(exp, recipe: Recipe, *, data: str = "mnist", seed: int = 0, max_seconds: float = 600.0) -> dict:
    """Train one experiment under one recipe until its target is met; returns the measurements."""
    config = run_config(exp, recipe, get_profile("full"), data, seed)
    target = exp.target
    trace: list = []
    state = {"seconds": 0.0}

    def check(record, model, train_data):
        state["seconds"] += record["seconds"]
        value = quality(model, *train_data.validation()[:2], target.metric, seed=seed)
        # to the millisecond, as the trainer records epochs: a digits epoch takes a few of them
        trace.append({"epoch": record["epoch"], "seconds": round(state["seconds"], 3), "value": value})
        capped = not recipe.fast_budget and state["seconds"] > max_seconds
        return meets(value, target.metric, target.value) or capped

    train(config, quiet=True, on_epoch_end=check)
    last = trace[-1]
    reached = meets(last["value"], target.metric, target.value)
    return {"experiment": exp.key, "recipe": recipe.name, "metric": target.metric, "target": target.value,
            "reached": reached, "epochs": last["epoch"], "seconds": last["seconds"], "value": last["value"],
            "budget_epochs": config.train.epochs, "batch_size": config.train.batch_size,
            "optimizer": config.train.optimizer, "lr": config.train.learning_rate,
            "schedule": config.train.schedule, "trace": trace}


def run_to_quality(only: str | None = None, recipes=tuple(RECIPES.values()), *, data: str = "mnist", seed: int = 0,
                   max_seconds: float = 600.0, out_md="bench/TO_QUALITY.md", log=print) -> list[dict]:
    """Every (experiment, recipe) pair in one process; writes the Markdown table and JSON beside it
    after every pair, so an interrupted run keeps what it measured."""
    rows: list = []
    meta = {"started": time.strftime("%Y-%m-%d %H:%M"), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
            "max_seconds": max_seconds, "seed": seed, "data": data}
    for exp in select(only):
        for recipe in recipes:
            rows.append(time_to_quality(exp, recipe, data=data, seed=seed, max_seconds=max_seconds))
            log(summary_line(rows[-1]))
            write_json(Path(out_md).with_suffix(".json"), {"meta": meta, "rows": rows})
            write_text(Path(out_md), render_table(rows, meta, recipes))
    return rows


def summary_line(r: dict) -> str:
    state = "reached" if r["reached"] else "NOT reached"
    return (f"{r['experiment']:<8} {r['recipe']:<8} {state} {r['metric']} {r['value']:.4g} "
            f"(target {r['target']:g}) after {r['epochs']} epochs, {r['seconds']:.1f} s")


def _cell(r: dict | None, bold: bool) -> str:
    if r is None:
        return "-"
    if not r["reached"]:
        return f"not reached in {r['seconds']:.0f} s ({r['epochs']} ep., {r['value']:.4g})"
    spent = f"{r['seconds']:.1f} s"
    return f"**{spent}** ({r['epochs']} ep.)" if bold else f"{spent} ({r['epochs']} ep.)"


def render_table(rows: list[dict], meta: dict, recipes) -> str:
    """One row per experiment, one column per recipe with rows: seconds (epochs) to the test-set
    target, bold for a recipe on the fast budget (`recipes`: the Recipes that made the rows)."""
    fast = {r.name: r.fast_budget for r in recipes}
    names = list(dict.fromkeys(r["recipe"] for r in rows))
    by = {(r["experiment"], r["recipe"]): r for r in rows}
    lines = ["| experiment | target (test set) | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for key in dict.fromkeys(r["experiment"] for r in rows):
        first = next(r for r in rows if r["experiment"] == key)
        op = ">=" if HIGHER_IS_BETTER[first["metric"]] else "<="
        target = f"{first['metric']} {op} {first['target']:g} ({UNITS[first['metric']]})"
        cells = [_cell(by.get((key, name)), fast[name]) for name in names]
        lines.append(f"| {key} | {target} | " + " | ".join(cells) + " |")
    header = (f"# Time to quality\n\nTraining seconds until the test metric first reaches the target "
              f"(`ae bench --to-quality`), one process, {meta['threads']} threads, torch {meta['torch']}, "
              f"{meta['cpu']}, started {meta['started']}; a run stops at its target, its recipe's budget or "
              f"after {meta['max_seconds']:.0f} s of training.\n\n")
    return header + "\n".join(lines) + "\n\n```json\n" + json.dumps(meta) + "\n```\n"
