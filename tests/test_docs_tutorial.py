"""docs/tutorial.md: its commands run (on digits), its `ae train` lines are the fast recipe that
`ae reproduce` trained its figures with, and every figure it shows is committed and made by a command."""

import dataclasses
import importlib.util
import json
import re

import pytest
import torch

import docpages
from autoencoders.api import load_config
from autoencoders.presets import EXPERIMENTS, FAST, PROFILES, run_config
from autoencoders.registry import model_defaults

PAGE = "tutorial.md"


def _script():
    spec = importlib.util.spec_from_file_location("tutorial_figures", docpages.ROOT / "scripts" / "tutorial_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _comparable(config) -> dict:
    """A configuration less what training resolves (device, data path, input shape, model defaults),
    its precision decided as training decides it ("auto": bf16 where this CPU computes it natively)."""
    from autoencoders.training.setup import resolve_precision

    d = dataclasses.asdict(config)
    d["train"].pop("device")
    d["train"]["precision"] = resolve_precision(config.train.precision, torch.device("cpu"))
    d["data"].pop("stream")
    d["model"].pop("input_shape")
    d["model"]["options"] = model_defaults(config.model.name) | d["model"]["options"]
    return json.loads(json.dumps(d))  # tuples as lists, as config.json has them


@pytest.mark.slow
def test_commands_run_on_digits_with_the_fast_recipe(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ran = []
    for block in docpages.blocks(PAGE, "bash"):
        if block.runs:
            ran += docpages.run_ae(block.code, swaps={"mnist": "digits"})
    trained = {argv[argv.index("--out") + 1].removeprefix("runs/"): argv for argv in ran if argv[1] == "train"}
    assert sorted(trained) == sorted(e.key for e in EXPERIMENTS), "one `ae train` line per experiment"
    for exp in EXPERIMENTS:
        ours = load_config(tmp_path / "runs" / exp.key)
        recipe = run_config(exp, FAST, PROFILES["demo"], "digits", seed=0)
        assert _comparable(ours) == _comparable(recipe), " ".join(trained[exp.key])
    for argv in ran:
        for arg in argv:
            if arg.endswith(".png"):
                assert (tmp_path / arg).read_bytes()[:4] == b"\x89PNG", arg


def test_every_figure_is_committed_small_and_made_by_a_command():
    script = _script()
    made = {a for argv in script.tutorial_commands() for a in argv if a.endswith(".png")}
    made |= set(script.FROM_REPORT.values())
    shown = re.findall(r"!\[[^\]]*\]\(figures/tutorial/([^)]+)\)", docpages.page_text(PAGE))
    assert shown and set(shown) <= made, set(shown) - made
    for name in shown:
        path = script.FIGURES / name
        assert path.exists(), f"{path}: run scripts/tutorial_figures.py"
        assert path.stat().st_size < 200_000, name


def test_script_points_commands_at_the_reproduce_runs(tmp_path):
    argv = _script().on_the_run(["ae", "codes", "runs/conv", "-o", "conv-codes.png"], tmp_path)
    assert argv[2] == str(tmp_path / "runs" / "fast-conv") and argv[4].endswith("docs/figures/tutorial/conv-codes.png")
