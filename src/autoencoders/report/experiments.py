"""The article's seven experiments as data: model, budget, and the three recipes that train them.

`article` is the article's own settings (Adadelta at Keras 1's lr=1.0, its batch sizes and epoch
counts, one fixed noisy copy for denoising); `modern` is ours (Adam, fresh noise every batch) on
the article's budget; `fast` is Adam under a one-cycle schedule with the fewest epochs that reach
the article's numbers, found by `scripts/search_fast_recipe.py` on a held-out part of the training
set (docs/fast-recipe.md). A profile sets the data, the budget's scale and the evaluation's size:
`demo` is the recipe's own budget with an evaluation of seconds, `full` the same budget with the
evaluation behind reported numbers, `quick` a 10,000-image smoke run, `tiny` seconds for the tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ..errors import ConfigError, unknown


@dataclass(frozen=True)
class Target:
    """The quality the fast recipe must reach on the test set (evaluation/quality.py's metrics)."""

    metric: str  # bce, psnr or elbo
    value: float


@dataclass(frozen=True)
class FastRecipe:
    """Adam under a one-cycle schedule: the budget that reaches the target soonest."""

    epochs: int
    batch_size: int
    lr: float
    clip_grad: float | None = None  # the denoiser's peak lr diverged once without it (docs/fast-recipe.md)


@dataclass(frozen=True)
class Experiment:
    key: str
    title: str
    model: str
    epochs: int  # the article's budget (ours where the article trains nothing: lstm)
    article_loss: float | None = None  # test per-pixel BCE the article reports
    article_optimizer: str = "adadelta"
    options: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    target: Target | None = None
    fast: FastRecipe | None = None
    sparser_than: str | None = None  # the experiment whose mean code activation this one must stay below
    tsne_codes: bool = False  # a t-SNE of its test codes beside the raw pixels' (the article: the shallow net)

    @property
    def batch_size(self) -> int:
        """The article's batch size, registered with the model (one source for `ae train` too)."""
        from ..registry import train_defaults

        return train_defaults(self.model).get("batch_size", TrainConfig.batch_size)


# Targets: the article's reported losses; for the experiments it reports none, our full-budget
# results less a margin (README: modern recipe PSNR 20.3 dB, LSTM 0.1210, VAE ELBO -150.46).
# Fast recipes: scripts/search_fast_recipe.py, bench/fast_recipe_search.jsonl, docs/fast-recipe.md.
EXPERIMENTS = (
    Experiment("dense", "Shallow dense 784-32-784", "dense", 50, 0.10, tsne_codes=True,
               target=Target("bce", 0.100), fast=FastRecipe(2, 128, 1e-2)),
    Experiment("sparse", "Sparse (L1 on the code)", "sparse", 100, 0.11, sparser_than="dense",
               target=Target("bce", 0.110), fast=FastRecipe(2, 128, 1e-2)),
    Experiment("deep", "Deep dense 128-64-32", "deep", 100, 0.097,
               target=Target("bce", 0.097), fast=FastRecipe(4, 128, 1e-2)),
    Experiment("conv", "Convolutional", "conv", 50, 0.094,
               target=Target("bce", 0.094), fast=FastRecipe(8, 128, 2e-2)),
    Experiment("denoise", "Denoising convolutional (gaussian 0.5)", "conv-denoise", 100,
               data={"noise": "gaussian:0.5"}, target=Target("psnr", 20.0),
               fast=FastRecipe(12, 128, 2e-2, clip_grad=1.0)),
    # The article builds the LSTM autoencoder but never trains it; 20 epochs is our budget.
    Experiment("lstm", "Sequence-to-sequence LSTM (rows as steps)", "lstm", 20,
               article_optimizer="rmsprop", data={"as_sequence": True},
               target=Target("bce", 0.125), fast=FastRecipe(8, 256, 1e-2)),
    # The article's VAE example: RMSprop, batch 100, 50 epochs.
    Experiment("vae", "Variational, 2-D latent", "vae", 50, article_optimizer="rmsprop",
               target=Target("elbo", -153.0), fast=FastRecipe(16, 100, 1e-2)),
)

TARGET_DATA = "mnist"  # the targets are MNIST numbers; on other data a report shows none
RECIPES = ("fast", "modern", "article")
RECIPE_SETS = {"both": ("modern", "article"), "all": RECIPES}  # `both`: the two of `make full`


def recipes_named(name: str) -> tuple[str, ...]:
    """A recipe, or a set of them (`both`, `all`), as a tuple of recipe names."""
    if name in RECIPE_SETS:
        return RECIPE_SETS[name]
    if name not in RECIPES:
        raise ConfigError(unknown("recipe", name, RECIPES + tuple(RECIPE_SETS)))
    return (name,)


@dataclass(frozen=True)
class Profile:
    name: str
    epoch_fraction: float  # of the article's budget
    max_epochs: int | None
    limit: int | None  # training images used (None: all)
    probe_samples: int  # training codes the probes fit on
    tsne_samples: int
    iw_k: int  # importance samples for the VAE's likelihood bound (5000 for reported numbers)
    iw_images: int  # test images it is computed on
    jpeg_images: int  # test images the JPEG baseline encodes


PROFILES = {
    "demo": Profile("demo", 1.0, None, None, 5000, 1000, 500, 1000, 1000),
    "full": Profile("full", 1.0, None, None, 10000, 2000, 5000, 2000, 2000),
    "quick": Profile("quick", 0.2, 10, 10000, 5000, 1000, 100, 1000, 1000),
    "tiny": Profile("tiny", 0.0, 1, 512, 500, 150, 5, 100, 100),
}


def select(only: str | None) -> tuple[Experiment, ...]:
    """The experiments named in a comma-separated list (all when None), each named once: a
    repeated name would train and report the same experiment twice."""
    if only is None:
        return EXPERIMENTS
    keys = {e.key: e for e in EXPERIMENTS}
    picked = []
    for key in (k.strip() for k in only.split(",")):
        if not key:
            raise ConfigError(f"empty experiment name in {only!r}; give names separated by commas, "
                              f"e.g. dense,conv (known: {', '.join(keys)})")
        if key not in keys:
            raise ConfigError(unknown("experiment", key, keys))
        if keys[key] in picked:
            raise ConfigError(f"experiment '{key}' is named twice in {only!r}; name each experiment once")
        picked.append(keys[key])
    return tuple(picked)


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ConfigError(unknown("profile", name, PROFILES))
    return PROFILES[name]


def epochs_for(exp: Experiment, profile: Profile, recipe: str = "modern") -> int:
    """The recipe's epoch budget (the article's, or the fast recipe's own), scaled by the profile."""
    budget = exp.fast.epochs if recipe == "fast" else exp.epochs
    epochs = max(1, round(budget * profile.epoch_fraction))
    return min(epochs, profile.max_epochs) if profile.max_epochs else epochs


def run_config(exp: Experiment, recipe: str, profile: Profile, data: str, seed: int = 0) -> RunConfig:
    """The RunConfig of one experiment under one recipe and profile."""
    if recipe not in RECIPES:
        raise ConfigError(unknown("recipe", recipe, RECIPES))
    article = recipe == "article"
    data_cfg = DataConfig(name=data, limit=profile.limit, noise_fixed=article and "noise" in exp.data, **exp.data)
    train_cfg = TrainConfig(epochs=epochs_for(exp, profile, recipe), batch_size=exp.batch_size, seed=seed,
                            optimizer=exp.article_optimizer if article else "adam")
    if recipe == "fast":
        train_cfg = dataclasses.replace(train_cfg, batch_size=exp.fast.batch_size, lr=exp.fast.lr,
                                        schedule="onecycle", clip_grad=exp.fast.clip_grad)
    return RunConfig(data_cfg, ModelConfig(exp.model, dict(exp.options)), train_cfg)
