"""The article's experiments as data: every recipe's config validates; the fast recipe is what
docs/fast-recipe.md says (one-cycle Adam, its own short budget, on all training images); a recipe
trains as its fields say, whatever its name."""

import pytest

from autoencoders.errors import ConfigError
from autoencoders.evaluation.quality import HIGHER_IS_BETTER
from autoencoders.presets import (
    EXPERIMENTS,
    FAST,
    MODERN,
    RECIPES,
    Recipe,
    epochs_for,
    get_profile,
    recipes_named,
    run_config,
    run_path,
    select,
)


@pytest.mark.parametrize("recipe", RECIPES.values(), ids=RECIPES)
@pytest.mark.parametrize("profile", ["demo", "full", "quick", "tiny"])
def test_every_recipe_and_profile_gives_a_valid_config(recipe, profile):
    for exp in EXPERIMENTS:
        config = run_config(exp, recipe, get_profile(profile), "mnist")  # validates
        assert config.train.epochs >= 1


def test_fast_recipe_is_one_cycle_adam_on_its_own_budget():
    demo = get_profile("demo")
    for exp in EXPERIMENTS:
        config = run_config(exp, FAST, demo, "mnist")
        t = config.train
        assert (t.optimizer, t.schedule, t.epochs) == ("adam", "onecycle", exp.fast.epochs)
        assert (t.batch_size, t.lr, t.clip_grad) == (exp.fast.batch_size, exp.fast.lr, exp.fast.clip_grad)
        assert config.data.limit is None and config.data.validation == "test"
        assert exp.fast.epochs < epochs_for(exp, demo, MODERN)  # fewer epochs than the article's
        assert exp.target.metric in HIGHER_IS_BETTER


def test_recipe_sets_and_unknown_names():
    assert recipes_named("both") == (RECIPES["modern"], RECIPES["article"])
    assert recipes_named("all") == tuple(RECIPES.values()) and [r.name for r in RECIPES.values()] == list(RECIPES)
    assert recipes_named("fast") == (FAST,)
    with pytest.raises(ConfigError, match="fast"):
        recipes_named("fats")


def test_select_names_each_experiment_once():
    assert [e.key for e in select(" conv,dense")] == ["conv", "dense"]
    with pytest.raises(ConfigError, match="experiment 'dense' is named twice in 'dense,conv,dense'"):
        select("dense,conv,dense")
    with pytest.raises(ConfigError, match="empty experiment name in 'dense,'"):
        select("dense,")
    with pytest.raises(ConfigError, match="did you mean 'dense'"):
        select("dens")


def test_a_recipe_trains_as_its_fields_say_not_as_its_name():
    (denoise,) = select("denoise")
    mine = Recipe("mine", optimizer="rmsprop", fast_budget=True, schedule="cosine", noise_fixed=True)
    config = run_config(denoise, mine, get_profile("demo"), "mnist")
    t, fast = config.train, denoise.fast
    assert (t.optimizer, t.schedule, t.epochs, t.batch_size, t.lr, t.clip_grad) == (
        "rmsprop", "cosine", fast.epochs, fast.batch_size, fast.lr, fast.clip_grad)
    assert config.data.noise_fixed and config.data.noise == "gaussian:0.5"
    # the article's optimizer and budget at its default lr, fresh noise: whatever the recipe is called
    plain = run_config(denoise, Recipe("fast", optimizer=None), get_profile("demo"), "mnist")
    assert (plain.train.optimizer, plain.train.schedule, plain.train.epochs) == ("adadelta", "constant", 100)
    assert (plain.train.batch_size, plain.train.learning_rate, plain.train.clip_grad) == (denoise.batch_size, 1.0, None)
    assert not plain.data.noise_fixed
    # the fast recipe's fields under another name give the fast recipe's config
    twin, demo = Recipe("twin", fast_budget=True, schedule="onecycle"), get_profile("demo")
    for exp in EXPERIMENTS:
        assert run_config(exp, twin, demo, "mnist") == run_config(exp, FAST, demo, "mnist")


def test_recipes_are_objects_and_a_run_folder_is_named_once(tmp_path):
    with pytest.raises(ConfigError, match="Recipe"):
        run_config(EXPERIMENTS[0], "fast", get_profile("demo"), "mnist")
    assert run_path(tmp_path, Recipe("mine"), EXPERIMENTS[0]) == tmp_path / "runs" / "mine-dense"


def test_report_and_benchmark_share_the_presets_and_import_neither_each_other():
    import re
    import subprocess
    import sys
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "src" / "autoencoders"
    for folder, other in (("report", "benchmark"), ("benchmark", "report")):
        for path in (package / folder).rglob("*.py"):
            assert not re.search(rf"from \.\.{other}\b|import autoencoders\.{other}\b", path.read_text()), path
    assert not re.search(r"from \.(report|benchmark)\b", (package / "presets.py").read_text())
    code = "import sys, autoencoders.presets; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
