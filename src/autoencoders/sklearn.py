"""A scikit-learn transformer and an outlier detector around any registered autoencoder.

    from autoencoders.sklearn import AutoencoderTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(AutoencoderTransformer(code_size=16, random_state=0), LogisticRegression())
    clf.fit(X_train, y_train)            # X: (n_samples, n_features) in [0, 1]

By scikit-learn's rules: `__init__` only stores parameters; `fit` validates X, builds the network
from X.shape and trains it with `ae.train` (the toolkit's one way in, over its one epoch loop)
on X held resident; learned state ends in `_`. Not imported by
`import autoencoders` (scikit-learn is slow to import).

Scale. Every network ends in a sigmoid and trains on per-pixel BCE (or MSE, with
`model_options={"loss": "mse"}`) against targets in [0, 1]. With `scale="check"` (default) every
method that feeds X to the network raises ValueError naming the range it found when X leaves
[0, 1] (by more than 1e-6): put `MinMaxScaler(clip=True)` in front, or divide pixels by their
maximum. `scale="minmax"` instead learns each feature's training range in `fit` (`data_min_`,
`data_range_`), maps X into [0, 1] with it (clipping what lies beyond) and maps reconstructions
back in `inverse_transform`. `scale="none"` passes X as it is: only for models whose outputs are
not squashed, e.g. `model="lstm"` with `model_options={"output_activation": "linear", "loss": "mse"}`.

Novelty detection. `AutoencoderDetector().fit(X_normal)` on images (n, 1, 28, 28) in [0, 1] is
bench/ANOMALY.md's detector (conv net, score mse+lof+maha, a conformal threshold at `alpha`):
`predict` gives +1 / -1, `score_samples` higher = more normal, `p_values` conformal p-values.

Anomaly scores. `score_samples(X)` is the negative per-sample reconstruction error (scikit-learn's
convention: higher = more normal); `anomaly_score(X)` is the error itself (higher = more
anomalous), as `autoencoders.evaluation.anomaly.reconstruction_errors` computes it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
from .evaluation.anomaly import reconstruction_errors
from .models.base import batched
from .presets import ANOMALY
from .registry import create_model, model_defaults
from .training.trainer import resolve_device

SCALES = ("check", "minmax", "none")
CODE_OPTIONS = ("code_size", "latent_size")  # what `code_size` sets: the VAEs call it latent_size
RANGE_TOLERANCE = 1e-6  # float error of an upstream scaler (e.g. 1.0000001) is clipped, not refused


class _Inputs:
    """X in [0, 1] for the network (`scale`, `image_shape`, the learned `input_shape_` and range), and
    pickles that hold the network's weights as arrays (`module_`, rebuilt from `model_spec_`)."""

    def _fit_range(self, X: np.ndarray, shape: tuple | None = None) -> None:
        """Learn `input_shape_` (`shape`, else image_shape, else rows of n_features) and, for "minmax", the range."""
        shape = shape or (tuple(self.image_shape) if self.image_shape is not None else (X.shape[1],))
        if math.prod(shape) != X.shape[1]:
            raise ValueError(f"image_shape {shape} holds {math.prod(shape)} values, but X has "
                             f"{X.shape[1]} features")
        self.input_shape_ = shape
        if self.scale == "minmax":
            self.data_min_ = X.min(axis=0)
            span = X.max(axis=0) - self.data_min_
            self.data_range_ = np.where(span > 0, span, 1).astype(np.float32)

    def _checked_input(self, X) -> torch.Tensor:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return self._network_input(X)

    def _network_input(self, X: np.ndarray) -> torch.Tensor:
        """X in [0, 1] (checked or min-max mapped), as (n_samples, *input_shape_) float32."""
        if self.scale == "none":
            return torch.tensor(X, dtype=torch.float32).reshape(-1, *self.input_shape_)
        if self.scale == "minmax":
            X = (X - self.data_min_) / self.data_range_
        elif X.size:
            lo, hi = float(X.min()), float(X.max())
            if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
                name = type(self).__name__  # "Negative values in data": scikit-learn's wording
                raise ValueError(
                    ("Negative values in data passed to " + name + ": " if lo < 0 else "")
                    + f"{name} needs X within [0, 1] (sigmoid outputs, BCE targets); got values in "
                    f"[{lo:g}, {hi:g}]. Scale it first (MinMaxScaler(clip=True) in a Pipeline, or "
                    "pixels / 255) or pass scale='minmax'.")
        x = torch.tensor(np.clip(X, 0.0, 1.0), dtype=torch.float32)  # a copy: X may be read-only
        return x.reshape(-1, *self.input_shape_)


    def __getstate__(self):
        """Pickles (joblib, GridSearchCV's workers) hold the weights as arrays, not a pickled module."""
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__ itself
        module = state.pop("module_", None)
        if module is not None:
            state["module_"] = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        return state

    def __setstate__(self, state):
        weights = state.get("module_")
        if isinstance(weights, dict):
            spec = state["model_spec_"]
            module = create_model(spec["model"], spec["input_shape"], **spec["options"])
            module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
            state = {**state, "module_": module.to(_device_or_cpu(state.get("device", "cpu"))).eval()}
        super().__setstate__(state)


class AutoencoderTransformer(_Inputs, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Autoencoder as a transformer: `transform` encodes, `inverse_transform` decodes.

    Parameters
    ----------
    model : registered model name (`autoencoders.list_models()`), default "dense".
    code_size : size of the code; `transform` returns (n_samples, code units). Passed as the
        model's `code_size` (dense, sparse, deep, lstm, gru) or `latent_size` (VAEs: the code is
        the posterior mean); None for models whose code is set otherwise (conv: `filters`).
    epochs, batch_size, optimizer, lr : training budget; lr=None is the optimizer's default.
    image_shape : e.g. (1, 28, 28): rows of X are reshaped to it for the network (conv models);
        None feeds each row as a vector of n_features.
    model_options : other options of the model's factory, e.g. {"loss": "mse"}.
    scale : "check" (X must lie in [0, 1]), "minmax" (learn the range) or "none" (see the module doc).
    device : "cpu", "cuda" or "auto".
    random_state : int for repeatable fits (the int is the trainer's seed, as `ae train --seed`),
        None or a RandomState to draw one.
    verbose : print one line per epoch.

    Attributes
    ----------
    module_ : the trained network (eval mode). n_features_in_, feature_names_in_ : as scikit-learn.
    input_shape_, code_shape_ : one sample's shape at the network's input and code.
    history_ : one dict per epoch: {"epoch", "train": {loss terms}, "seconds"}.
    model_spec_ : {"model", "input_shape", "options"}: what `create_model` built.
    data_min_, data_range_ : per-feature range (scale="minmax" only).
    """

    def __init__(self, model="dense", *, code_size=32, epochs=50, batch_size=256, optimizer="adam",
                 lr=None, image_shape=None, model_options=None, scale="check", device="cpu",
                 random_state=None, verbose=False):
        self.model = model
        self.code_size = code_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.image_shape = image_shape
        self.model_options = model_options
        self.scale = scale
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None):
        """Build the network for X's shape and train it. X : (n_samples, n_features). Returns self."""
        X = validate_data(self, X, dtype=np.float32)
        config = self._run_config(_seed(self.random_state))
        self._fit_range(X)
        device = resolve_device(self.device)
        x = self._network_input(X).to(device)
        options = config.model.options
        fork = [torch.cuda.current_device()] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork):  # leave the caller's global RNG as it was
            torch.manual_seed(config.train.seed)  # as the trainer's fit(): same seed, same init
            module = create_model(self.model, self.input_shape_, **options).to(device)
            self.history_ = _train(module, x, config, device, self.verbose)
        self.module_ = module.eval()
        self.model_spec_ = {"model": self.model, "input_shape": list(self.input_shape_),
                            "options": dict(options)}
        with torch.no_grad():
            self.code_shape_ = tuple(module.encode(x[:1]).shape[1:])
        self._n_features_out = math.prod(self.code_shape_)
        return self

    def transform(self, X):
        """Codes of X : (n_samples, n_features) -> (n_samples, code units) float32."""
        x = self._checked_input(X)
        return self._batched(self.module_.encode, x).flatten(1).numpy()

    def inverse_transform(self, X):
        """Reconstruction in X's units from codes (n_samples, code units) -> (n_samples, n_features)."""
        check_is_fitted(self)
        z = check_array(X, dtype=np.float32)
        if z.shape[1] != self._n_features_out:
            raise ValueError(f"X has {z.shape[1]} features, but {type(self).__name__} decodes codes "
                             f"of {self._n_features_out} features")
        z = torch.tensor(z).reshape(-1, *self.code_shape_)
        out = self._batched(self.module_.decode, z).flatten(1).numpy()
        if self.scale == "minmax":
            out = out * self.data_range_ + self.data_min_
        return out

    def anomaly_score(self, X):
        """Per-sample reconstruction error (the model's loss, mean per value): higher = more anomalous.

        X : (n_samples, n_features) -> (n_samples,) float64. Threshold it with
        `autoencoders.evaluation.anomaly.threshold_from_scores(est.anomaly_score(X_train))`.
        """
        x = self._checked_input(X)
        return reconstruction_errors(self.module_, x)

    def score_samples(self, X):
        """Negative per-sample reconstruction error (higher = more normal), (n_samples,) float64."""
        return -self.anomaly_score(X)

    def score(self, X, y=None):
        """Negative mean reconstruction loss on X (higher is better; what GridSearchCV maximizes)."""
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # the network computes in float32
        tags.input_tags.positive_only = self.scale == "check"  # it refuses negative X (and X > 1)
        return tags

    # -- helpers ------------------------------------------------------------------------------

    def _run_config(self, seed: int) -> RunConfig:
        """The toolkit's own validated config: bad values fail here as ConfigError (a ValueError)."""
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")
        options = dict(self.model_options or {})
        options.update(_code_option(self.model, self.code_size, options))
        train = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, optimizer=self.optimizer,
                            lr=self.lr, seed=seed, device=self.device)
        return RunConfig(DataConfig(name="array"), ModelConfig(self.model, options), train)

    def _batched(self, fn, x: torch.Tensor) -> torch.Tensor:
        return batched(self.module_, fn, x).float()


def _train(module, x: torch.Tensor, config: RunConfig, device, verbose: bool) -> list[dict]:
    """`ae.train` on X held resident: no validation split, no files."""
    from .api import train

    settings = {f.name: getattr(config.train, f.name) for f in dataclasses.fields(config.train)}
    history = train(module, data=x, quiet=not verbose, **dict(settings, device=device.type)).history
    return [{"epoch": r["epoch"], "train": r["train"], "seconds": r["seconds"]} for r in history]


def _code_option(model: str, code_size, options: dict) -> dict:
    """{"code_size": n} or {"latent_size": n}, whichever option the model has; {} for None."""
    if code_size is None:
        return {}
    accepted = model_defaults(model)
    key = next((k for k in CODE_OPTIONS if k in accepted), None)
    if key is None:
        raise ValueError(f"model '{model}' has no code size option (it takes {', '.join(accepted)}); "
                         "pass code_size=None")
    if key in options:
        raise ValueError(f"pass the code size as code_size={options[key]!r}, not in model_options")
    return {key: code_size}


def _seed(random_state) -> int:
    """An int random_state is the seed itself; None or a RandomState draws one."""
    rng = check_random_state(random_state)  # validates ints too (0 <= seed < 2**32)
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(rng.randint(np.iinfo(np.int32).max))


def _device_or_cpu(name: str) -> torch.device:
    """Where an unpickled estimator's network goes: its device, else the CPU if that is missing."""
    if name in ("cuda", "auto") and not torch.cuda.is_available():
        return torch.device("cpu")
    return resolve_device(name)


class AutoencoderDetector(_Inputs, OutlierMixin, BaseEstimator):
    """Novelty detection with an autoencoder: scikit-learn's outlier-detector conventions.

    `fit(X)` holds out a seeded `calibration` fraction of X (normal data), trains the network on
    the rest with `ae.train`, fits `score_name` (evaluation/detection.py) on it and sets the
    split-conformal threshold at false-positive rate `alpha` on the held-out part: new normal
    samples are flagged with probability at most `alpha`. With no arguments it is the benchmark's
    detector (bench/ANOMALY.md): its net, training, score, hold-out and alpha are `presets.ANOMALY`
    (the `conv` net, 10 epochs of one-cycle Adam at lr 1e-2, batch 128; mse+lof+maha; 10% held out;
    alpha 0.05), on images X of shape (n_samples, 1, 28, 28)
    in [0, 1] (or rows with `image_shape`).

    score_samples : minus the anomaly score (higher = more normal); decision_function : score_samples
    - offset_, negative for outliers; predict : +1 inlier, -1 outlier (score above the threshold).

    Parameters
    ----------
    model, code_size, model_options, image_shape, scale, device, random_state, verbose : as
        AutoencoderTransformer (code_size None keeps the model's own code size).
    score_name : parts joined by "+", e.g. "mse+lof+maha"; None: the benchmark's best (presets.ANOMALY.score).
    alpha : target false-positive rate in (0, 1). calibration : fraction of X held out, in (0, 1)
        (default `presets.ANOMALY.calibration`, the benchmark's share).
    epochs, batch_size, lr, schedule : training.

    Attributes
    ----------
    module_, model_spec_, input_shape_, n_features_in_ : as AutoencoderTransformer.
    detector_ : the fitted evaluation.detection.Detector; threshold_ : its anomaly-score threshold;
    offset_ : -threshold_ (scikit-learn's convention: decision_function = score_samples - offset_).
    """

    def __init__(self, model=ANOMALY.model, *, score_name=None, alpha=ANOMALY.alpha, calibration=ANOMALY.calibration,
                 code_size=None, epochs=ANOMALY.epochs, batch_size=ANOMALY.batch_size, lr=ANOMALY.lr,
                 schedule=ANOMALY.schedule, image_shape=None, model_options=None, scale="check", device="cpu",
                 random_state=0, verbose=False):
        self.model = model
        self.score_name = score_name
        self.alpha = alpha
        self.calibration = calibration
        self.code_size = code_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.schedule = schedule
        self.image_shape = image_shape
        self.model_options = model_options
        self.scale = scale
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None):
        """Train on X (normal samples) less its held-out calibration slice; calibrate on that. Returns self."""
        from .evaluation.detection import DEFAULT_SCORE, check_alpha, fit_detector

        X = self._rows(validate_data(self, X, dtype=np.float32, allow_nd=True), reset=True)
        check_alpha(self.alpha)
        if not (isinstance(self.calibration, numbers.Real) and 0 < self.calibration < 1):
            raise ValueError(f"calibration must be a fraction in (0, 1), got {self.calibration!r}")
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")
        seed = _seed(self.random_state)
        self._fit_range(X, self.sample_shape_)
        device = resolve_device(self.device)
        x = self._network_input(X)
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        n_cal = max(1, int(round(len(x) * self.calibration)))
        if len(x) - n_cal < 1:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples (calibration={self.calibration} "
                             f"holds some out), got n_samples = {len(x)}")
        fit, cal = x[perm[n_cal:]], x[perm[:n_cal]]
        options = dict(self.model_options or {})
        options.update(_code_option(self.model, self.code_size, options))
        train = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, schedule=self.schedule,
                            seed=seed, device=self.device)
        config = RunConfig(DataConfig(name="array"), ModelConfig(self.model, options), train)
        fork = [torch.cuda.current_device()] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork):
            torch.manual_seed(seed)
            module = create_model(self.model, self.input_shape_, **options).to(device)
            self.history_ = _train(module, fit.to(device), config, device, self.verbose)
        self.module_ = module.eval()
        self.model_spec_ = {"model": self.model, "input_shape": list(self.input_shape_), "options": dict(options)}
        self.detector_ = fit_detector(self.module_, fit, cal, score=self.score_name or DEFAULT_SCORE, alpha=self.alpha)
        self.threshold_ = self.detector_.calibration.threshold
        self.offset_ = -self.threshold_
        return self

    def anomaly_score(self, X):
        """(n_samples,) float64, higher = more anomalous: the detector's score."""
        check_is_fitted(self)
        X = self._rows(validate_data(self, X, dtype=np.float32, allow_nd=True, reset=False), reset=False)
        return self.detector_.score(self.module_, self._network_input(X))

    def score_samples(self, X):
        """Minus the anomaly score: higher = more normal (scikit-learn's convention)."""
        return -self.anomaly_score(X)

    def decision_function(self, X):
        """score_samples - offset_: negative for samples flagged as outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers (anomaly score above the conformal threshold)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def p_values(self, X):
        """Conformal p-values (1 + #{calibration scores >= s}) / (n + 1): small = unlike normal data."""
        return self.detector_.calibration.p_values(self.anomaly_score(X))

    def _rows(self, X: np.ndarray, reset: bool) -> np.ndarray:
        """(n_samples, ...) -> rows; images (n, C, H, W) set (fit) or must match the network's shape."""
        shape = tuple(X.shape[1:]) if X.ndim > 2 else None
        if reset:
            if shape is not None and self.image_shape is not None and tuple(self.image_shape) != shape:
                raise ValueError(f"X holds samples of shape {shape}, but image_shape is {tuple(self.image_shape)}")
            self.sample_shape_ = shape
        elif shape is not None and shape != self.sample_shape_:
            raise ValueError(f"X holds samples of shape {shape}; {type(self).__name__} was fitted on "
                             f"{self.sample_shape_ or 'rows'}")
        return X.reshape(len(X), -1)
