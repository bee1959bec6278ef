"""What `ae reproduce` measured, typed: the one schema of `results.json`.

`reproduce` (pipeline.py) builds a `Results`, writes it with `Results.write` (`dataclasses.asdict`)
and renders the report from it (sections.py reads its attributes); `Results.load` reads a
`results.json` back and checks every key and type against these classes, so a stale or edited
file fails naming the key instead of deep in a renderer. docs/results.md is a results.json as a
page, written by `python -m autoencoders.report.results docs/results.md RESULTS_JSON`
(tests/test_results.py checks it is current).
"""

from __future__ import annotations

import dataclasses
import numbers
import sys
import types
import typing
from dataclasses import dataclass, field

from ..errors import DataError
from ..fileio import read_json, write_json, write_text

Figure = tuple[str, str]  # (path relative to the report folder, caption)


@dataclass(kw_only=True)
class Quality:
    """Reconstruction metrics of a baseline on the test set (evaluation.metrics.reconstruction_metrics)."""

    bce: float | None  # None where targets leave [0, 1]
    mse: float
    psnr: float
    ssim: float | None


@dataclass(kw_only=True)
class Probes:
    """Test accuracies of classifiers fit on training codes (evaluation.probes.probes)."""

    linear_probe: float
    linear_probe_converged: bool  # False: it stopped at its iteration limit (a lower bound)
    knn_probe: float


@dataclass(kw_only=True)
class PCABaseline(Quality):
    components: int  # as many as the code has numbers (or all the image's)
    probes: Probes | None = None  # the same probes on the PCA codes


@dataclass(kw_only=True)
class JPEGBaseline(Quality):
    n: int  # test images encoded
    payload_bytes: float  # mean payload per image (the file less its shareable headers)
    file_bytes: float
    over_budget: float  # fraction of images whose payload exceeds the budget even at quality 1

    @property
    def fits(self) -> bool:
        """Whether JPEG fits the budget (for most images): only then is it a baseline."""
        return self.over_budget <= 0.5


@dataclass(kw_only=True)
class Baselines:
    """Baselines with the code's budget: PCA with as many components, JPEG with as many bytes."""

    pca: PCABaseline
    jpeg_float32: JPEGBaseline  # 4 bytes per code number
    jpeg_8bit: JPEGBaseline  # 1 byte per code number


@dataclass(kw_only=True)
class Metrics:
    """A run's metrics on the whole test split (api.Run.evaluate)."""

    split: str
    n: int
    model: str
    loss: float
    terms: dict[str, float]  # the loss's named parts (evaluate's `loss_<name>` keys)
    bce: float | None
    mse: float
    psnr: float
    ssim: float | None
    code_mean: float
    code_abs_mean: float
    dead_units: float
    near_zero_fraction: float
    input_psnr: float | None = None  # a denoiser's noisy input against its clean target
    input_ssim: float | None = None

    @classmethod
    def from_evaluation(cls, evaluation: dict) -> Metrics:
        terms = {k[len("loss_"):]: v for k, v in evaluation.items() if k.startswith("loss_")}
        return cls(terms=terms, **{k: v for k, v in evaluation.items() if not k.startswith("loss_")})


@dataclass(kw_only=True)
class Likelihood:
    """A VAE's likelihood bounds on the first `n` test images (nats per image)."""

    elbo: float
    iw_bound: float  # importance-weighted bound L_k
    k: int
    n: int
    bits_per_dim: float
    active_units: int
    kl: float
    kl_per_dim: list[float]


@dataclass(kw_only=True)
class TargetResult:
    """An experiment's quality target (presets.Target) measured on the test set."""

    metric: str
    value: float
    measured: float
    reached: bool


@dataclass(kw_only=True)
class ExperimentResult:
    """One experiment trained under one recipe, measured."""

    key: str
    title: str
    recipe: str  # the recipe's name
    model: str
    article_loss: float | None
    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    train_limit: int | None  # training images used (None: all)
    train_seconds: float
    metrics: Metrics
    history: list[dict]  # the run's per-epoch records
    code_numel: int
    bce_code_8bit: float  # test BCE with the codes stored at 8 bits
    probes: Probes | None = None  # None without labels
    likelihood: Likelihood | None = None  # VAEs only
    target: TargetResult | None = None  # None without a target or off its data (presets.TARGET_DATA)
    baselines: Baselines | None = None  # None for a denoiser: its target is the clean image
    figures: list[Figure] = field(default_factory=list)


@dataclass(kw_only=True)
class DatasetResult:
    """Baselines that depend only on the data."""

    name: str
    n_train: int
    n_test: int
    shape: list[int]
    mean_image: Quality  # every test image reconstructed as the mean training image
    entropy_floor: float  # the BCE of a perfect reconstruction
    pixel_probes: Probes | None = None
    figures: list[Figure] = field(default_factory=list)


@dataclass(kw_only=True)
class Explorer:
    """The interactive page beside the report, or why there is none."""

    path: str | None = None
    bytes: int | None = None
    runs: list[str] = field(default_factory=list)
    skipped_runs: list[dict] = field(default_factory=list)  # [{'name', 'reason'}]
    skipped: str | None = None  # why no page was written


@dataclass(kw_only=True)
class Results:
    """Everything a report shows: `results.json`."""

    profile: str
    data: str
    recipes: list[str]  # the recipes' names, the first one's runs in the summary figure and explorer
    command: str
    environment: dict[str, str | int]
    dataset: DatasetResult
    experiments: list[ExperimentResult]
    not_run: list[str] = field(default_factory=list)  # "recipe key" of runs not finished (--no-train)
    summary_figure: Figure | None = None
    explorer: Explorer = field(default_factory=Explorer)
    wall_seconds: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Results:
        """A `to_dict()` (or a results.json) back as Results; DataError naming the first bad key."""
        return _load(cls, d, "results")

    def write(self, path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> Results:
        try:
            return cls.from_dict(read_json(path))
        except DataError as e:
            raise DataError(f"{path}: {e}") from None


def _load(hint, value, where: str):
    """`value` (from JSON) as `hint`: dataclasses from dicts, tuples from lists, every type checked."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise DataError(f"'{where}' must be an object, got {value!r:.80}")
        hints = typing.get_type_hints(hint)
        fields = {f.name: f for f in dataclasses.fields(hint)}
        extra = sorted(set(value) - set(fields))
        if extra:
            raise DataError(f"unknown key '{where}.{extra[0]}'")
        missing = [name for name, f in fields.items() if name not in value
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if missing:
            raise DataError(f"missing key '{where}.{missing[0]}'")
        return hint(**{k: _load(hints[k], v, f"{where}.{k}") for k, v in value.items()})
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _load(option, value, where)
            except DataError as e:
                errors.append(e)
        raise errors[0]
    if origin is list:
        if not isinstance(value, list):
            raise DataError(f"'{where}' must be a list, got {value!r:.80}")
        return [_load(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)] if args else list(value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise DataError(f"'{where}' must be a list of {len(args)}, got {value!r:.80}")
        return tuple(_load(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise DataError(f"'{where}' must be an object, got {value!r:.80}")
        return {k: _load(args[1], v, f"{where}.{k}") for k, v in value.items()} if args else dict(value)
    if hint is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    else:
        ok = isinstance(value, hint)
    if not ok:
        raise DataError(f"'{where}' must be {hint.__name__}, got {value!r:.80}")
    return value


def markdown(results: Results) -> str:
    """The results as a page (docs/results.md): how it was run, each experiment's target and number
    next to the article's, its epochs and training time, and the results table with its baselines."""
    from .render import to_markdown
    from .sections import results_page_blocks

    return to_markdown(results_page_blocks(results))


if __name__ == "__main__":  # python -m autoencoders.report.results docs/results.md RESULTS_JSON
    write_text(sys.argv[1], markdown(Results.load(sys.argv[2])))
