"""The article's seven experiments as data: model, budget, and the two recipes that train them.

`article` is the article's own settings (Adadelta at Keras 1's lr=1.0, its batch sizes and epoch
counts, one fixed noisy copy for denoising); `modern` is ours (Adam, fresh noise every batch).
A profile scales the budget: `full` is the article's, `quick` a few minutes on 2 CPU cores,
`tiny` a seconds-long smoke run for the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ..errors import ConfigError, unknown


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

    @property
    def batch_size(self) -> int:
        """The article's batch size, registered with the model (one source for `ae train` too)."""
        from ..registry import train_defaults

        return train_defaults(self.model).get("batch_size", TrainConfig.batch_size)


EXPERIMENTS = (
    Experiment("dense", "Shallow dense 784-32-784", "dense", 50, 0.10),
    Experiment("sparse", "Sparse (L1 on the code)", "sparse", 100, 0.11),
    Experiment("deep", "Deep dense 128-64-32", "deep", 100, 0.097),
    Experiment("conv", "Convolutional", "conv", 50, 0.094),
    Experiment("denoise", "Denoising convolutional (gaussian 0.5)", "conv-denoise", 100,
               data={"noise": "gaussian:0.5"}),
    # The article builds the LSTM autoencoder but never trains it; 20 epochs is our budget.
    Experiment("lstm", "Sequence-to-sequence LSTM (rows as steps)", "lstm", 20,
               article_optimizer="rmsprop", data={"as_sequence": True}),
    # The article's VAE example: RMSprop, batch 100, 50 epochs.
    Experiment("vae", "Variational, 2-D latent", "vae", 50, article_optimizer="rmsprop"),
)

RECIPES = ("article", "modern")


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
    "full": Profile("full", 1.0, None, None, 10000, 2000, 5000, 2000, 2000),
    "quick": Profile("quick", 0.2, 10, 10000, 5000, 1000, 100, 1000, 1000),
    "tiny": Profile("tiny", 0.0, 1, 512, 500, 150, 5, 100, 100),
}


def select(only: str | None) -> tuple[Experiment, ...]:
    """The experiments named in a comma-separated list (all when None)."""
    if not only:
        return EXPERIMENTS
    keys = {e.key: e for e in EXPERIMENTS}
    picked = []
    for key in only.split(","):
        if key.strip() not in keys:
            raise ConfigError(unknown("experiment", key.strip(), keys))
        picked.append(keys[key.strip()])
    return tuple(picked)


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ConfigError(unknown("profile", name, PROFILES))
    return PROFILES[name]


def epochs_for(exp: Experiment, profile: Profile) -> int:
    epochs = max(1, round(exp.epochs * profile.epoch_fraction))
    return min(epochs, profile.max_epochs) if profile.max_epochs else epochs


def run_config(exp: Experiment, recipe: str, profile: Profile, data: str, seed: int = 0) -> RunConfig:
    """The RunConfig of one experiment under one recipe and profile."""
    if recipe not in RECIPES:
        raise ConfigError(unknown("recipe", recipe, RECIPES))
    article = recipe == "article"
    data_cfg = DataConfig(name=data, limit=profile.limit, noise_fixed=article and "noise" in exp.data, **exp.data)
    train_cfg = TrainConfig(epochs=epochs_for(exp, profile), batch_size=exp.batch_size, seed=seed,
                            optimizer=exp.article_optimizer if article else "adam")
    return RunConfig(data_cfg, ModelConfig(exp.model, dict(exp.options)), train_cfg).validate()
