"""Anomaly detection with a trained autoencoder: scores, their fitted state, a conformal threshold.

Scores (higher = more anomalous), each a part in `PARTS`, the one name -> function table:

- "bce", "mse": the per-sample reconstruction error (models.base.model_errors).
- "knn": mean Euclidean distance from a sample's code to its `k` nearest codes of the training data.
- "lof": the local outlier factor of the code among the training codes (Breunig et al. 2000,
  `LOF_K` neighbours; scikit-learn's LocalOutlierFactor(novelty=True), kept as tensors).
- "maha": squared Mahalanobis distance of the code under a Gaussian fit of the training codes
  (scikit-learn's LedoitWolf shrinkage covariance).
- "elbo": the negative ELBO of a variational model, nats per sample (evaluation/likelihood.py).
- "iw": the negative importance-weighted bound L_k of a variational model (Burda et al. 2015),
  `IW_SAMPLES` draws, nats per sample (evaluation/likelihood.py): tighter than the ELBO.

The variational parts draw from a seeded generator with the same draws for every sample
(likelihood.py's `shared`): a sample's score is a function of the sample alone, whatever else is
scored with it, so calibration scores and new scores come from one function.

A score name joins parts with "+", e.g. "mse+knn+maha": each part is standardised with the mean
and standard deviation of its scores on held-out normal data, and the standardised parts are
summed. A single part is used as it is (its own units).

`Scorer` is what a score needs from the training data (the code bank, the Gaussian's mean and
precision, the standardisation): tensors and JSON, never a pickle. `Calibration` is the
split-conformal threshold (Vovk et al. 2005; Lei et al. 2018, "Distribution-free predictive
inference for regression", JASA): on n calibration scores of normal data the model never trained
on, the threshold is the ceil((n + 1)(1 - alpha))-th smallest, so that a new normal sample is
flagged with probability at most alpha; its p-value is (1 + #{calibration >= s}) / (n + 1).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import ConfigError, DataError, unknown
from ..fileio import read_json, write_bytes, write_json
from ..models.base import batched, model_errors
from ..presets import ANOMALY
from .likelihood import elbo, importance_weighted_bound, require_variational

KNN_K = 5  # neighbours of the "knn" score
LOF_K = 20  # neighbours of the "lof" score (scikit-learn's default)
ELBO_SEED = 0  # the variational parts' draws are seeded and shared: the same sample gets the same score
IW_SAMPLES = 64  # importance samples of the "iw" score
DEFAULT_SCORE = ANOMALY.score  # what bench/ANOMALY.md shows best on MNIST (presets.ANOMALY)
DEFAULT_ALPHA = ANOMALY.alpha


class Inputs:
    """Samples (N, *input_shape) on the CPU with their codes computed once, on demand."""

    def __init__(self, model, x):
        self.model = model
        self.x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32).cpu()
        self._codes = None

    @property
    def codes(self) -> torch.Tensor:
        """(N, code units) float64: each code flattened."""
        if self._codes is None:
            self._codes = batched(self.model, lambda b: self.model.encode(b).flatten(1).float(), self.x).double()
        return self._codes


@dataclass(frozen=True)
class Part:
    """One score: `fit(codes, k)` -> its state (named tensors) from the training codes (None: no
    state), `score(inputs, state, k)` -> (N,) float64 numpy."""

    summary: str
    score: Callable
    fit: Callable | None = None
    keys: tuple = ()  # the names of the tensors `fit` returns
    variational: bool = False  # needs a model honouring VariationalProtocol (its posterior)


def _recon(kind: str) -> Callable:
    def score(inputs: Inputs, state: dict, k: int) -> np.ndarray:
        model = inputs.model
        return batched(model, lambda b: model_errors(model, b, kind=kind), inputs.x).double().numpy()
    return score


def _knn_fit(codes: torch.Tensor, k: int) -> dict:
    return {"bank": codes.float()}


def _knn(inputs: Inputs, state: dict, k: int) -> np.ndarray:
    bank = state["bank"].double()
    k = min(k, len(bank))
    out = []
    for chunk in inputs.codes.split(1024):
        out.append(torch.cdist(chunk, bank).topk(k, dim=1, largest=False).values.mean(1))
    return torch.cat(out).numpy() if out else np.zeros(0)


def _nearest(queries: torch.Tensor, bank: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(distances, indices), each (N, k): the k nearest rows of `bank` to each query, nearest first."""
    parts = [torch.cdist(chunk, bank).topk(k, dim=1, largest=False) for chunk in queries.split(1024)]
    if not parts:
        return queries.new_zeros(0, k), torch.zeros(0, k, dtype=torch.long)
    return torch.cat([p.values for p in parts]), torch.cat([p.indices for p in parts])


def _lof_fit(codes: torch.Tensor, k: int) -> dict:
    if len(codes) < 2:
        raise DataError(f"the local outlier factor needs at least 2 training samples, got {len(codes)}")
    k = min(LOF_K, len(codes) - 1)
    dist, idx = _nearest(codes, codes, k + 1)
    dist, idx = dist[:, 1:], idx[:, 1:]  # each point's neighbours, itself left out (as scikit-learn's fit)
    kdist = dist[:, -1]
    lrd = 1 / (torch.maximum(dist, kdist[idx]).mean(1) + 1e-10)
    return {"bank": codes.float(), "kdist": kdist.float(), "lrd": lrd.float()}


def _lof(inputs: Inputs, state: dict, k: int) -> np.ndarray:
    bank, kdist, lrd = state["bank"].double(), state["kdist"].double(), state["lrd"].double()
    dist, idx = _nearest(inputs.codes, bank, min(LOF_K, len(bank) - 1))
    own = 1 / (torch.maximum(dist, kdist[idx]).mean(1) + 1e-10)
    return (lrd[idx].mean(1) / own).numpy()


def _maha_fit(codes: torch.Tensor, k: int) -> dict:
    from sklearn.covariance import LedoitWolf  # imported here: sklearn is slow to import

    if len(codes) < 2:
        raise DataError(f"a Gaussian fit of the codes needs at least 2 training samples, got {len(codes)}")
    fit = LedoitWolf().fit(codes.numpy())
    return {"mean": torch.tensor(fit.location_), "precision": torch.tensor(fit.precision_)}


def _maha(inputs: Inputs, state: dict, k: int) -> np.ndarray:
    d = inputs.codes - state["mean"].double()
    return ((d @ state["precision"].double()) * d).sum(1).numpy()


def _generator(model) -> torch.Generator:
    return torch.Generator(device=next(model.parameters()).device).manual_seed(ELBO_SEED)


def _elbo(inputs: Inputs, state: dict, k: int) -> np.ndarray:
    require_variational(inputs.model, "the elbo score")
    return (-elbo(inputs.model, inputs.x, generator=_generator(inputs.model), shared=True)).double().numpy()


def _iw(inputs: Inputs, state: dict, k: int) -> np.ndarray:
    require_variational(inputs.model, "the iw score")
    bound = importance_weighted_bound(inputs.model, inputs.x, IW_SAMPLES, generator=_generator(inputs.model),
                                      shared=True)
    return (-bound).double().numpy()


PARTS = {
    "bce": Part("per-pixel binary cross-entropy of the reconstruction", _recon("bce")),
    "mse": Part("per-pixel squared error of the reconstruction", _recon("mse")),
    "knn": Part(f"mean distance to the {KNN_K} nearest training codes", _knn, _knn_fit, ("bank",)),
    "lof": Part(f"local outlier factor of the code among the training codes ({LOF_K} neighbours)", _lof, _lof_fit,
                ("bank", "kdist", "lrd")),
    "maha": Part("squared Mahalanobis distance of the code (LedoitWolf Gaussian of the training codes)",
                 _maha, _maha_fit, ("mean", "precision")),
    "elbo": Part("negative ELBO, nats per sample (variational models)", _elbo, variational=True),
    "iw": Part(f"negative importance-weighted bound L_{IW_SAMPLES}, nats per sample (variational models)", _iw,
               variational=True),
}


def parse_score(name: str) -> tuple[str, ...]:
    """'mse+knn' -> ('mse', 'knn'): known parts, each once."""
    parts = tuple(str(name).split("+"))
    for part in parts:
        if part not in PARTS:
            raise ConfigError(unknown("score", part, PARTS))
    if len(set(parts)) != len(parts):
        raise ConfigError(f"score {name!r} names a part twice")
    return parts


@dataclass
class Scorer:
    """A fitted score: `score(model, x)` -> (N,) higher = more anomalous.

    parts : the score's parts (PARTS); k : neighbours of "knn".
    state : part -> its named tensors from the training codes.
    center, scale : part -> the mean and standard deviation of its scores on held-out normal data
        (empty for a single part, used in its own units).
    """

    parts: tuple
    k: int = KNN_K
    state: dict = field(default_factory=dict)
    center: dict = field(default_factory=dict)
    scale: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "+".join(self.parts)

    @property
    def standardised(self) -> bool:
        return len(self.parts) > 1

    def raw(self, model, x) -> dict:
        """part -> (N,) its unstandardised score."""
        inputs = x if isinstance(x, Inputs) else Inputs(model, x)
        return {part: PARTS[part].score(inputs, self.state.get(part, {}), self.k) for part in self.parts}

    def combine(self, raw: dict) -> np.ndarray:
        """The score from the parts' raw scores: the one part as is, or the sum of the standardised parts."""
        if not self.standardised:
            return np.asarray(raw[self.parts[0]], dtype=np.float64)
        return sum((np.asarray(raw[p], dtype=np.float64) - self.center[p]) / self.scale[p] for p in self.parts)

    def score(self, model, x) -> np.ndarray:
        return self.combine(self.raw(model, x))

    def select(self, name: str) -> Scorer:
        """The score `name` from this scorer's fitted parts (no refit): the benchmark's many scores."""
        parts = parse_score(name)
        missing = [p for p in parts if p not in self.parts]
        if missing:
            raise ConfigError(f"score {name!r} needs parts this scorer did not fit: {', '.join(missing)}")
        keep = lambda d: {p: d[p] for p in parts if p in d}  # noqa: E731
        return Scorer(parts, self.k, keep(self.state), keep(self.center) if len(parts) > 1 else {},
                      keep(self.scale) if len(parts) > 1 else {})

    # -- serialisation: JSON for the numbers, named tensors for the state -------------------

    def to_json(self) -> dict:
        return {"score": self.name, "k": self.k,
                "standardisation": {p: {"mean": self.center[p], "std": self.scale[p]} for p in self.center}}

    def tensors(self) -> dict:
        return {f"{p}.{key}": t.contiguous() for p, named in self.state.items() for key, t in named.items()}

    @classmethod
    def from_json(cls, obj, tensors: dict, source) -> Scorer:
        """The Scorer `to_json` and `tensors` wrote, every field checked; DataError names `source`."""
        if not isinstance(obj, dict):
            raise DataError(f"{source}: expected a JSON object")
        try:
            parts = parse_score(obj.get("score"))
        except ConfigError as e:
            raise DataError(f"{source}: {e}") from None
        k = obj.get("k")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise DataError(f"{source}: 'k' is {k!r}; expected a positive integer")
        stats = obj.get("standardisation")
        want = set(parts) if len(parts) > 1 else set()
        if not isinstance(stats, dict) or set(stats) != want:
            raise DataError(f"{source}: 'standardisation' must give the mean and std of {sorted(want) or 'no part'}")
        center, scale = {}, {}
        for p, s in stats.items():
            mean, std = (s.get("mean"), s.get("std")) if isinstance(s, dict) else (None, None)
            if not (_finite(mean) and _finite(std) and std > 0):
                raise DataError(f"{source}: standardisation of '{p}' is {s!r}; expected a finite mean and std > 0")
            center[p], scale[p] = float(mean), float(std)
        state = _check_state(parts, tensors, source)
        return cls(parts, k, state, center, scale)


def _check_state(parts: tuple, tensors: dict, source) -> dict:
    """part -> named tensors, checked: the names each part fits, finite, of consistent shapes."""
    want = {p: PARTS[p].keys for p in parts if PARTS[p].fit}
    names = {f"{p}.{key}" for p, keys in want.items() for key in keys}
    if set(tensors) != names:
        raise DataError(f"{source}: expected tensors {sorted(names)}, found {sorted(tensors)}")
    state = {p: {key: tensors[f"{p}.{key}"] for key in keys} for p, keys in want.items()}
    for name, t in tensors.items():
        if not t.is_floating_point() or not bool(torch.isfinite(t).all()):
            raise DataError(f"{source}: tensor '{name}' must hold finite floating-point values")
    if "knn" in state and (state["knn"]["bank"].ndim != 2 or len(state["knn"]["bank"]) < 1):
        raise DataError(f"{source}: 'knn.bank' must be (n >= 1, code units)")
    if "lof" in state:
        bank, kdist, lrd = state["lof"]["bank"], state["lof"]["kdist"], state["lof"]["lrd"]
        if bank.ndim != 2 or len(bank) < 2 or tuple(kdist.shape) != (len(bank),) or tuple(lrd.shape) != (len(bank),):
            raise DataError(f"{source}: 'lof.bank' must be (n >= 2, code units), 'lof.kdist' and 'lof.lrd' (n,)")
    if "maha" in state:
        mean, precision = state["maha"]["mean"], state["maha"]["precision"]
        if mean.ndim != 1 or tuple(precision.shape) != (len(mean), len(mean)):
            raise DataError(f"{source}: 'maha.precision' must be (d, d) for 'maha.mean' of (d,)")
    return state


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fit_scorer(model, train, held_out=None, *, score: str = DEFAULT_SCORE, k: int = KNN_K) -> Scorer:
    """Fit `score` on `model` (any module honouring AutoencoderProtocol).

    train : (N, *input_shape) normal samples the model trained on: the code bank, the Gaussian.
    held_out : normal samples it never trained on, whose scores standardise the parts of a
        combined score (required for one: training data's own codes are in the bank).
    """
    parts = parse_score(score)
    if int(k) < 1:
        raise ConfigError(f"k must be a positive integer, got {k}")
    _check_model(model, parts)
    train = Inputs(model, train)
    _check_samples(model, train.x, "training data")
    state = {p: PARTS[p].fit(train.codes, int(k)) for p in parts if PARTS[p].fit}
    scorer = Scorer(parts, int(k), state)
    if scorer.standardised:
        if held_out is None:
            raise ConfigError(f"score {score!r} combines standardised parts: it needs held-out normal data "
                              "(held_out=) to standardise them")
        held = Inputs(model, held_out)
        _check_samples(model, held.x, "held-out data")
        if len(held.x) < 2:
            raise DataError(f"standardising score {score!r} needs at least 2 held-out samples, got {len(held.x)}")
        for part, values in scorer.raw(model, held).items():
            scorer.center[part] = float(np.mean(values))
            scorer.scale[part] = float(np.std(values, ddof=1)) or 1.0
    return scorer


def _check_model(model, parts: tuple) -> None:
    """A ConfigError naming the part when a variational part is asked of another model."""
    for part in parts:
        if PARTS[part].variational:
            require_variational(model, f"the {part} score")


def _check_samples(model, x: torch.Tensor, what: str) -> None:
    expected = tuple(model.input_shape)
    if tuple(x.shape[1:]) != expected:
        raise DataError(f"{what}: samples of shape {tuple(x.shape[1:])}, but the model takes {expected}")


# -- split-conformal calibration ---------------------------------------------------------------


def check_alpha(alpha) -> float:
    if not _finite(alpha) or not 0 < alpha < 1:
        raise ConfigError(f"alpha (the false-positive rate) must be in (0, 1), got {alpha!r}")
    return float(alpha)


def min_calibration(alpha: float) -> int:
    """The fewest calibration scores whose conformal quantile at `alpha` exists: n >= 1/alpha - 1."""
    return max(1, math.ceil((1 - check_alpha(alpha)) / alpha - 1e-12))


def conformal_threshold(scores, alpha: float) -> float:
    """The ceil((n + 1)(1 - alpha))-th smallest of n calibration scores: flag a score above it."""
    alpha = check_alpha(alpha)
    s = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if not np.isfinite(s).all():
        raise DataError("calibration scores must be finite")
    rank = math.ceil((len(s) + 1) * (1 - alpha) - 1e-9)
    if rank > len(s):
        raise DataError(f"alpha {alpha:g} needs at least {min_calibration(alpha)} calibration samples, got {len(s)}")
    return float(s[rank - 1])


def p_values(calibration_scores, scores) -> np.ndarray:
    """(1 + #{calibration >= s}) / (n + 1) per score s: small = unlike the calibration data."""
    cal = np.sort(np.asarray(calibration_scores, dtype=np.float64).ravel())
    s = np.asarray(scores, dtype=np.float64).ravel()
    at_least = len(cal) - np.searchsorted(cal, s, side="left")
    return (1 + at_least) / (len(cal) + 1)


def fpr_spread(n: int, alpha: float, m: int | None = None) -> tuple[float, float]:
    """(mean, standard deviation) of the realised false-positive rate of a conformal threshold set
    on n calibration scores, over the draw of those n scores and, with `m`, of m new normal
    samples it is counted on (continuous scores, all exchangeable).

    Given the calibration scores, the rate is Beta(n + 1 - r, r)-distributed with r =
    ceil((n + 1)(1 - alpha)) (Vovk 2012, "Conditional validity of inductive conformal predictors"):
    mean (n + 1 - r) / (n + 1), just under alpha, and a spread that shrinks as 1 / sqrt(n). Counted on
    m samples, the binomial spread of m draws adds to it. What the benchmark's per-class rates
    should scatter by, before any difference between the calibration and the test data.
    """
    alpha = check_alpha(alpha)
    n = int(n)
    if n < min_calibration(alpha):
        raise DataError(f"alpha {alpha:g} needs at least {min_calibration(alpha)} calibration samples, got {n}")
    r = math.ceil((n + 1) * (1 - alpha) - 1e-9)
    a, b = n + 1 - r, r
    mean = a / (n + 1)
    var = a * b / ((n + 1) ** 2 * (n + 2))  # the Beta's variance: the threshold's own spread
    if m is not None:
        if int(m) < 1:
            raise ConfigError(f"m (new samples counted) must be a positive integer, got {m!r}")
        var += (mean - var - mean ** 2) / int(m)  # E[p (1 - p)] / m: the binomial count on top
    return mean, math.sqrt(var)


@dataclass(frozen=True)
class Calibration:
    """A conformal threshold of one score: alpha, the threshold, and the n calibration scores (sorted)."""

    score: str
    alpha: float
    threshold: float
    scores: tuple

    @property
    def n(self) -> int:
        return len(self.scores)

    @classmethod
    def fit(cls, score: str, scores, alpha: float) -> Calibration:
        s = tuple(float(v) for v in np.sort(np.asarray(scores, dtype=np.float64).ravel()))
        return cls(score, check_alpha(alpha), conformal_threshold(s, alpha), s)

    def at(self, alpha: float) -> Calibration:
        """The same calibration scores at another rate."""
        return Calibration.fit(self.score, self.scores, alpha)

    def p_values(self, scores) -> np.ndarray:
        return p_values(self.scores, scores)

    def flags(self, scores) -> np.ndarray:
        return np.asarray(scores, dtype=np.float64) > self.threshold

    def to_json(self) -> dict:
        return {"score": self.score, "alpha": self.alpha, "threshold": self.threshold, "n": self.n,
                "scores": list(self.scores)}

    @classmethod
    def from_json(cls, obj, source) -> Calibration:
        if not isinstance(obj, dict):
            raise DataError(f"{source}: 'calibration' must be an object")
        scores, n = obj.get("scores"), obj.get("n")
        if not (isinstance(scores, list) and all(_finite(v) for v in scores)) or n != len(scores or ()):
            raise DataError(f"{source}: 'scores' must be a list of n finite numbers ('n' is {n!r})")
        try:
            cal = cls.fit(str(obj.get("score")), scores, obj.get("alpha"))
        except (ConfigError, DataError) as e:
            raise DataError(f"{source}: {e}") from None
        if not _finite(obj.get("threshold")) or not math.isclose(obj["threshold"], cal.threshold, rel_tol=1e-9,
                                                                  abs_tol=1e-12):
            raise DataError(f"{source}: 'threshold' is {obj.get('threshold')!r}, but the conformal quantile of its "
                            f"scores at alpha {cal.alpha:g} is {cal.threshold!r}: the file was edited")
        return cal


@dataclass
class Detector:
    """A fitted score with its conformal calibration: `score`, `p_values`, `flags`."""

    scorer: Scorer
    calibration: Calibration

    def score(self, model, x) -> np.ndarray:
        return self.scorer.score(model, x)

    def evaluate(self, model, x) -> dict:
        """{"score", "p_value", "anomaly"}: each (N,) numpy, the flags at the calibration's alpha."""
        scores = self.score(model, x)
        return {"score": scores, "p_value": self.calibration.p_values(scores),
                "anomaly": self.calibration.flags(scores)}

    def at(self, alpha: float) -> Detector:
        """The same detector with its threshold at another false-positive rate."""
        return Detector(self.scorer, self.calibration.at(alpha))


def fit_detector(model, train, calibration, *, score: str = DEFAULT_SCORE, alpha: float = DEFAULT_ALPHA,
                 k: int = KNN_K) -> Detector:
    """A Detector for `model`: the score fitted on `train`, calibrated on `calibration`.

    calibration : normal samples the model never trained on, of the model's input shape. Half
    (the first n // 2) standardise a combined score's parts, the other half set the conformal
    threshold, so that the threshold's scores are independent of the standardisation; a single
    part uses all of them for the threshold.
    """
    alpha = check_alpha(alpha)
    cal = Inputs(model, calibration)
    _check_samples(model, cal.x, "calibration data")
    parts = parse_score(score)
    _check_model(model, parts)
    split = len(cal.x) // 2 if len(parts) > 1 else 0
    held, rest = cal.x[:split], cal.x[split:]
    need = max(2 * min_calibration(alpha) - 1, 4) if len(parts) > 1 else min_calibration(alpha)
    if len(cal.x) < need:  # a combined score: half standardise (2 at least), the rest set the threshold
        raise DataError(f"alpha {alpha:g} needs at least {need} calibration samples for score {score!r}, "
                        f"got {len(cal.x)}")
    scorer = fit_scorer(model, train, held if split else None, score=score, k=k)
    return Detector(scorer, Calibration.fit(scorer.name, scorer.score(model, rest), alpha))


# -- in a run folder: anomaly.json (the numbers) + anomaly.safetensors (the fitted tensors) ---------

DETECTOR_JSON = "anomaly.json"
DETECTOR_TENSORS = "anomaly.safetensors"


def save_detector(detector: Detector, folder) -> Path:
    """Write `detector` into `folder` atomically: the tensors first, then the JSON that names their
    sha256 (a reader of a half-replaced pair sees the mismatch). Returns the JSON's path."""
    from safetensors.torch import save

    data = save(detector.scorer.tensors() or {"empty": torch.zeros(0)})
    folder = Path(folder)
    write_bytes(folder / DETECTOR_TENSORS, data)
    obj = {"format": 1, "scorer": detector.scorer.to_json(), "calibration": detector.calibration.to_json(),
           "tensors_sha256": hashlib.sha256(data).hexdigest()}
    write_json(folder / DETECTOR_JSON, obj)
    return folder / DETECTOR_JSON


def has_detector(folder) -> bool:
    return (Path(folder) / DETECTOR_JSON).exists()


def load_detector(folder) -> Detector:
    """The Detector `save_detector` wrote in `folder`, every field checked (DataError naming the file)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(folder) / DETECTOR_JSON
    try:
        obj = read_json(path)
        data = (Path(folder) / DETECTOR_TENSORS).read_bytes()
    except FileNotFoundError as e:
        raise DataError(f"{Path(e.filename)} is missing: this run holds no anomaly calibration "
                        "(calibrate it first: `ae score RUN INPUT --fpr 0.05`, or run.calibrate())") from None
    except (ValueError, RecursionError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(obj, dict) or obj.get("format") != 1:
        raise DataError(f"{path}: expected an object with format 1")
    if hashlib.sha256(data).hexdigest() != obj.get("tensors_sha256"):
        raise DataError(f"{path}: {DETECTOR_TENSORS} is not the file this calibration wrote (sha256 differs)")
    try:
        tensors = {k: v for k, v in load(data).items() if k != "empty"}
    except SafetensorError as e:
        raise DataError(f"{Path(folder) / DETECTOR_TENSORS}: not a readable safetensors file ({e})") from None
    scorer = Scorer.from_json(obj.get("scorer"), tensors, path)
    calibration = Calibration.from_json(obj.get("calibration"), path)
    if calibration.score != scorer.name:
        raise DataError(f"{path}: the calibration is of score {calibration.score!r}, the scorer {scorer.name!r}")
    return Detector(scorer, calibration)


METADATA_KEY = "anomaly_calibration"  # the exported model's metadata entry (ONNX metadata_props)


def anomaly_metadata(folder) -> dict:
    """{METADATA_KEY: JSON of the run's calibration (score, alpha, threshold, n, standardisation)}
    for an exported model's metadata; {} when the run folder holds none."""
    if folder is None or not has_detector(folder):
        return {}
    detector = load_detector(folder)
    cal = detector.calibration
    about = {"score": cal.score, "alpha": cal.alpha, "threshold": cal.threshold, "n": cal.n,
             "standardisation": detector.scorer.to_json()["standardisation"], "file": DETECTOR_JSON}
    return {METADATA_KEY: json.dumps(about, sort_keys=True)}
