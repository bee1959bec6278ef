"""The article's seven experiments, the recipes that train them and the profiles that size a run: data.

The report (`ae reproduce`), the benchmark (`ae bench --to-quality`) and the scripts import this
module, and it imports neither of them (nor torch). A recipe's behaviour is its fields (`Recipe`):
`run_config` reads them and never a recipe's name, which only labels its runs and columns; names
are looked up once, where a command line gives them (`recipes_named`, `get_profile`).

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
from pathlib import Path

from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
from .errors import ConfigError, unknown


@dataclass(frozen=True)
class Target:
    """The quality the fast recipe must reach on the test set (evaluation/quality.py's metrics)."""

    metric: str  # bce, psnr or elbo
    value: float


@dataclass(frozen=True)
class FastBudget:
    """An experiment's budget found by the search: the fewest epochs that reach its target."""

    epochs: int
    batch_size: int
    lr: float
    clip_grad: float | None = None  # the conv nets' peak lr diverged without it on some seeds (docs/fast-recipe.md)
    ema: float | None = None  # evaluate the weights' moving average (training/ema.py), where it paid
    precision: str = "fp32"  # "auto": bf16 where the CPU/GPU computes it natively, where that paid (bench/LEVERS.md)


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
    fast: FastBudget | None = None  # what a recipe with `fast_budget` trains on
    sparser_than: str | None = None  # the experiment whose mean code activation this one must stay below
    tsne_codes: bool = False  # a t-SNE of its test codes beside the raw pixels' (the article: the shallow net)

    @property
    def batch_size(self) -> int:
        """The article's batch size, registered with the model (one source for `ae train` too)."""
        from .registry import train_defaults

        return train_defaults(self.model).get("batch_size", TrainConfig.batch_size)


# Targets: the article's reported losses; for the experiments it reports none, our full-budget
# results less a margin (docs/reproduce.md: modern recipe PSNR 20.3 dB, LSTM 0.1210, VAE ELBO -150.46).
# Fast budgets: scripts/search_fast_recipe.py, bench/fast_recipe_search.jsonl, docs/fast-recipe.md
# (the bf16 rows of the conv nets and the LSTM: its "Round two").
EXPERIMENTS = (
    Experiment("dense", "Shallow dense 784-32-784", "dense", 50, 0.10, tsne_codes=True,
               target=Target("bce", 0.100), fast=FastBudget(2, 128, 1e-2)),
    Experiment("sparse", "Sparse (L1 on the code)", "sparse", 100, 0.11, sparser_than="dense",
               target=Target("bce", 0.110), fast=FastBudget(2, 128, 1e-2)),
    Experiment("deep", "Deep dense 128-64-32", "deep", 100, 0.097,
               target=Target("bce", 0.097), fast=FastBudget(4, 128, 1e-2)),
    Experiment("conv", "Convolutional", "conv", 50, 0.094,
               target=Target("bce", 0.094), fast=FastBudget(9, 128, 2e-2, clip_grad=3.0, precision="auto")),
    Experiment("denoise", "Denoising convolutional (gaussian 0.5)", "conv-denoise", 100,
               data={"noise": "gaussian:0.5"}, target=Target("psnr", 20.0),
               fast=FastBudget(10, 128, 2e-2, clip_grad=1.0, precision="auto")),
    # The article builds the LSTM autoencoder but never trains it; 20 epochs is our budget.
    Experiment("lstm", "Sequence-to-sequence LSTM (rows as steps)", "lstm", 20,
               article_optimizer="rmsprop", data={"as_sequence": True},
               target=Target("bce", 0.125), fast=FastBudget(8, 256, 1e-2, precision="auto")),
    # The article's VAE example: RMSprop, batch 100, 50 epochs.
    Experiment("vae", "Variational, 2-D latent", "vae", 50, article_optimizer="rmsprop",
               target=Target("elbo", -153.0), fast=FastBudget(16, 100, 1e-2)),
)

TARGET_DATA = "mnist"  # the targets are MNIST numbers; on other data a report shows none


@dataclass(frozen=True)
class Recipe:
    """How to train an experiment. Its fields say everything; its name only labels its runs
    (`run_path`), the report's columns and the benchmark's."""

    name: str
    optimizer: str | None = "adam"  # None: the experiment's own (the article's: Experiment.article_optimizer)
    # True: epochs, batch size, peak lr and gradient clipping from the experiment's FastBudget (the
    # search's, short by design); False: the article's epochs and batch size at the optimizer's default lr
    fast_budget: bool = False
    schedule: str = "constant"  # the learning rate over the steps (config.SCHEDULES)
    noise_fixed: bool = False  # a denoiser's one corrupted copy for the whole run (the article) vs fresh noise


FAST = Recipe("fast", fast_budget=True, schedule="onecycle")
MODERN = Recipe("modern")
ARTICLE = Recipe("article", optimizer=None, noise_fixed=True)
RECIPES = {r.name: r for r in (FAST, MODERN, ARTICLE)}
RECIPE_SETS = {"both": (MODERN, ARTICLE), "all": tuple(RECIPES.values())}  # `both`: the two of `make full`


def recipes_named(name: str) -> tuple[Recipe, ...]:
    """A recipe, or a set of them (`both`, `all`), by the name a command line gives."""
    if name in RECIPE_SETS:
        return RECIPE_SETS[name]
    if name not in RECIPES:
        raise ConfigError(unknown("recipe", name, tuple(RECIPES) + tuple(RECIPE_SETS)))
    return (RECIPES[name],)


def recipes_listed(text: str) -> tuple[Recipe, ...]:
    """The recipes of a comma-separated list of names and sets (`ae bench --recipes`), each once:
    a recipe named twice (`fast,fast`, `both,modern`) would train and report the same runs twice."""
    picked: list[Recipe] = []
    for name in (n.strip() for n in text.split(",")):
        if not name:
            raise ConfigError(f"empty recipe name in {text!r}; give names separated by commas, e.g. fast,modern "
                              f"(known: {', '.join((*RECIPES, *RECIPE_SETS))})")
        for recipe in recipes_named(name):
            if recipe in picked:
                raise ConfigError(f"recipe '{recipe.name}' is named twice in {text!r}; name each recipe once")
            picked.append(recipe)
    return tuple(picked)


@dataclass(frozen=True)
class AnomalyRecipe:
    """Anomaly detection, whole: the net, its training, the score and its calibration. Chosen once,
    on MNIST, by `ae bench --anomaly` (bench/ANOMALY.md), and applied unchanged to other data. The
    one place these values live: `ae train --recipe anomaly`, `AutoencoderDetector`'s defaults,
    the benchmark and evaluation/detection.py's DEFAULT_SCORE read them from ANOMALY.

    calibration : the share of the normal data held out, never trained on; half of it standardises
    a combined score's parts, the other half sets the conformal threshold. The threshold's own
    sampling error moves the realised false-positive rate by about sqrt(alpha (1 - alpha) / n) for
    n threshold scores: 0.3 of MNIST's ~6,000 images of a class gives n ~ 900, about 0.7 points at
    alpha 0.05, no more than the binomial error of the ~1,000 test images of a class that count the
    rate (10% gave n ~ 300: 1.3 points).
    """

    model: str = "conv"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-2
    schedule: str = "onecycle"
    noise: str | None = None
    score: str = "mse+lof+maha"  # evaluation/detection.py's parts; the best on MNIST (bench/ANOMALY.md)
    calibration: float = 0.3  # the seeded fraction of the normal training data held out to calibrate on
    alpha: float = 0.05  # the false-positive rate the stored calibration is set at (`ae score --fpr` changes it)

    def train_options(self) -> dict:
        """The training settings `ae.train` takes (flat options): epochs, batch size, lr, schedule,
        and the noise when there is one."""
        options = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr, "schedule": self.schedule}
        return options if self.noise is None else {**options, "noise": self.noise}


ANOMALY = AnomalyRecipe()
# Recipes `ae train --recipe NAME` takes: a whole use of a model, training to calibration.
TRAIN_RECIPES = {"anomaly": ANOMALY}


def train_recipe(name: str) -> AnomalyRecipe:
    """The recipe `ae train --recipe NAME` names."""
    if name not in TRAIN_RECIPES:
        hint = (f"; '{name}' is a recipe of `ae reproduce` / `ae bench` (the article's experiments)"
                if name in RECIPES or name in RECIPE_SETS else "")
        raise ConfigError(unknown("recipe", name, TRAIN_RECIPES) + hint)
    return TRAIN_RECIPES[name]


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


# demo's evaluation takes seconds, full's is the one behind reported numbers (docs/reproduce.md has
# what each size costs and changes, measured on MNIST); the data's own baselines are cached
# (report/data_baselines.py), the models' metrics always cover the whole test split.
PROFILES = {
    "demo": Profile("demo", 1.0, None, None, 2000, 500, 100, 1000, 1000),
    "full": Profile("full", 1.0, None, None, 10000, 2000, 5000, 2000, 2000),
    "quick": Profile("quick", 0.2, 10, 10000, 2000, 500, 100, 1000, 1000),
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


def epochs_for(exp: Experiment, profile: Profile, recipe: Recipe) -> int:
    """The recipe's epoch budget (the article's, or the experiment's fast one), scaled by the profile."""
    budget = _fast(exp, recipe).epochs if recipe.fast_budget else exp.epochs
    epochs = max(1, round(budget * profile.epoch_fraction))
    return min(epochs, profile.max_epochs) if profile.max_epochs else epochs


def run_config(exp: Experiment, recipe: Recipe, profile: Profile, data: str, seed: int = 0) -> RunConfig:
    """The RunConfig of one experiment under one recipe and profile: the recipe's fields decide."""
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"a recipe is a presets.Recipe (RECIPES[name] or recipes_named(name)), got {recipe!r}")
    data_cfg = DataConfig(name=data, limit=profile.limit, noise_fixed=recipe.noise_fixed and "noise" in exp.data,
                          **exp.data)
    train_cfg = TrainConfig(epochs=epochs_for(exp, profile, recipe), batch_size=exp.batch_size, seed=seed,
                            optimizer=recipe.optimizer or exp.article_optimizer, schedule=recipe.schedule)
    if recipe.fast_budget:
        fast = _fast(exp, recipe)
        train_cfg = dataclasses.replace(train_cfg, batch_size=fast.batch_size, lr=fast.lr, clip_grad=fast.clip_grad,
                                        ema=fast.ema, precision=fast.precision)
    return RunConfig(data_cfg, ModelConfig(exp.model, dict(exp.options)), train_cfg)


def _fast(exp: Experiment, recipe: Recipe) -> FastBudget:
    if exp.fast is None:
        raise ConfigError(f"recipe '{recipe.name}' trains on a fast budget, and experiment '{exp.key}' has none")
    return exp.fast


def run_path(out, recipe: Recipe, exp: Experiment) -> Path:
    """The folder of one experiment's run under one recipe inside a reproduce output folder."""
    return Path(out) / "runs" / f"{recipe.name}-{exp.key}"
