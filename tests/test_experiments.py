"""The article's experiments as data: every recipe's config validates; the fast recipe is what
docs/fast-recipe.md says (one-cycle Adam, its own short budget, on all training images)."""

import pytest

from autoencoders.errors import ConfigError
from autoencoders.evaluation.quality import HIGHER_IS_BETTER
from autoencoders.report.experiments import (
    EXPERIMENTS,
    RECIPES,
    epochs_for,
    get_profile,
    recipes_named,
    run_config,
    select,
)


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("profile", ["demo", "full", "quick", "tiny"])
def test_every_recipe_and_profile_gives_a_valid_config(recipe, profile):
    for exp in EXPERIMENTS:
        config = run_config(exp, recipe, get_profile(profile), "mnist")  # validates
        assert config.train.epochs >= 1


def test_fast_recipe_is_one_cycle_adam_on_its_own_budget():
    demo = get_profile("demo")
    for exp in EXPERIMENTS:
        config = run_config(exp, "fast", demo, "mnist")
        t = config.train
        assert (t.optimizer, t.schedule, t.epochs) == ("adam", "onecycle", exp.fast.epochs)
        assert (t.batch_size, t.lr, t.clip_grad) == (exp.fast.batch_size, exp.fast.lr, exp.fast.clip_grad)
        assert config.data.limit is None and config.data.validation == "test"
        assert exp.fast.epochs < epochs_for(exp, demo, "modern")  # fewer epochs than the article's
        assert exp.target.metric in HIGHER_IS_BETTER


def test_recipe_sets_and_unknown_names():
    assert recipes_named("both") == ("modern", "article")
    assert recipes_named("all") == RECIPES
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
