"""The Python API: `train`, `load_run`, and a `Run` that encodes, decodes and evaluates.

`train` takes a registered model's name, or your own module (any nn.Module honouring
models.base.AutoencoderProtocol) with your own data: tensors, numpy arrays or a torch Dataset.
A run folder of your own module records its class as "package.module:Class" and, when you pass
`model_args`, the JSON-able keyword arguments that rebuild it; `load_run(path, model=MyModule)`
then rebuilds it and `load_run(path, model=MyModule(...))` fills yours (docs/own-model.md). A run
folder never makes the toolkit import code by itself. The command line
only parses arguments and calls these functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .config import DEVICES, DataConfig, ModelConfig, RunConfig, TrainConfig, is_import_path
from .data import EVAL_BATCH, Batch, Presentation, Resident, RunData, as_source, load_run_data, load_split
from .data.batches import as_float
from .errors import ConfigError, DataError, TrainingError, unknown
from .evaluation.detection import DEFAULT_ALPHA, DEFAULT_SCORE, Detector, fit_detector, load_detector, save_detector
from .evaluation.metrics import code_stats, psnr, reconstruction_metrics, ssim
from .models.base import batched
from .modules import check_fits, check_json, class_path, own_module
from .registry import create_model, model_spec
from .training import distributed
from .training.callbacks import read_history
from .training.checkpoint import WEIGHTS, load_config, load_weights, read_trainer_json, saved_trainer_state
from .training.contract import check_contract
from .training.fit import fit_run
from .training.integrity import check_weights
from .training.rundir import claim
from .training.setup import resolve_precision
from .training.trainer import evaluate_loss, fast_layout, resolve_device

IN_MEMORY = "array"  # DataConfig.name of a run trained on the caller's own tensors / Dataset

_DATA_KEYS = {f.name for f in dataclasses.fields(DataConfig)} - {"name"}
_TRAIN_KEYS = {f.name for f in dataclasses.fields(TrainConfig)}


@dataclass(frozen=True)
class Outputs:
    """One pass of a run's model over a whole set (eval mode), on the CPU: the loss and its terms
    ({"loss": ..., name: ...}, sample-weighted means), the reconstructions and the codes."""

    terms: dict
    recon: torch.Tensor
    codes: torch.Tensor


@dataclass
class Run:
    """A trained model with the config that made it; methods take and return CPU tensors."""

    model: torch.nn.Module
    config: RunConfig
    path: Path | None = None
    history: list = field(default_factory=list)
    data: RunData | None = field(default=None, repr=False, compare=False)  # what `train` trained it on, if named
    _splits: dict = field(default_factory=dict, repr=False, compare=False)  # split name -> Batch
    _outputs: dict = field(default_factory=dict, repr=False, compare=False)  # split name -> Outputs

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def denoises(self) -> bool:
        """Whether the run learned to undo noise: its inputs are corrupted, its targets clean."""
        return self.config.data.noise is not None

    def encode(self, x) -> torch.Tensor:
        """x : (N, *input_shape) array or tensor in [0, 1] -> codes (N, ...)."""
        return self.map(self.model.encode, x)

    def decode(self, z) -> torch.Tensor:
        return self.map(self.model.decode, z)

    def reconstruct(self, x) -> torch.Tensor:
        return self.map(lambda b: self.model(b).recon, x)

    def map(self, fn, x, batch_size: int = EVAL_BATCH) -> torch.Tensor:
        """fn over the samples `x` (array or tensor) in batches, the model in eval mode, on the CPU."""
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32)
        return batched(self.model, fn, x, batch_size)

    def clean_split(self, split: str = "test", data: str | None = None):
        """(inputs, labels or None) of a split of the run's data (or of `data`, read with the run's
        data options) as samples, without the run's noise or binarization: what scores and pages show."""
        config = dataclasses.replace(self.config.data, name=data or self.config.data.name, noise=None,
                                     binarize=None, noise_fixed=False)
        inputs, _, labels = load_split(config, split, self.device, self.config.train.seed)
        self.check_shape(tuple(inputs.shape[1:]), split)
        return inputs, labels

    def calibrate(self, calibration=None, *, score: str = DEFAULT_SCORE, alpha: float = DEFAULT_ALPHA, train=None,
                  save: bool = True) -> Detector:
        """An anomaly detector for this run: `score` fitted on the training data, its threshold the
        split-conformal quantile at false-positive rate `alpha` of scores of normal data the model
        never trained on; written into the run folder (anomaly.json + anomaly.safetensors) when `save`.

        calibration : samples (array / tensor) or a data set name or path (its 'train' split); None:
            the slice of the training data the run held out (`validation=0.1`).
        train : the samples the model trained on; None: the run's own training data (reloaded).
        """
        fitted, held = self._normal_data(train, calibration)
        detector = fit_detector(self.model, fitted, held, score=score, alpha=alpha)
        if save and self.path is not None:
            save_detector(detector, self.path)
        return detector

    def detector(self) -> Detector:
        """The detector `calibrate` stored in the run folder (DataError when it holds none)."""
        if self.path is None:
            raise ConfigError("this run has no folder to hold a calibration: use the Detector run.calibrate() returns")
        return load_detector(self.path)

    def _normal_data(self, train, calibration) -> tuple:
        """(training samples, calibration samples) as float tensors on the CPU."""
        def samples(x):
            if isinstance(x, str):  # checked against the model by fit_detector, which names what it is
                config = dataclasses.replace(self.config.data, name=x, noise=None, binarize=None, noise_fixed=False)
                return load_split(config, "train", "cpu", self.config.train.seed)[0]
            return torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32).cpu()

        in_memory = self.config.data.name == IN_MEMORY
        if in_memory and (train is None or calibration is None):
            raise ConfigError("this run trained on in-memory data, which a run folder does not keep: pass "
                              "train= (the samples it trained on) and calibration= (normal samples it never saw)")
        if calibration is None and self.config.data.validation == "test":
            raise DataError(f"run {self.path or ''}: it validated on the test split, so no training data was held out "
                            "to calibrate on: pass calibration data (normal samples the run never trained on, "
                            "--calibrate DATA) or train with --validation 0.1")
        if train is not None and calibration is not None:
            return samples(train), samples(calibration)
        clean = dataclasses.replace(self.config.data, noise=None, binarize=None, noise_fixed=False)
        loaded = load_run_data(clean, "cpu", self.config.train.seed)
        if not isinstance(loaded.train, Resident) or not isinstance(loaded.val, Resident):
            raise DataError(f"{self.config.data.name} is streamed from disk: pass train= and calibration= samples")
        return (samples(train) if train is not None else as_float(loaded.train.x),
                samples(calibration) if calibration is not None else as_float(loaded.val.x))

    def forget(self) -> None:
        """Drop the data this Run holds to free its memory: the splits and passes it kept (`split`,
        `outputs`: loaded and computed again when next asked for) and the training data `train`
        left on it (`data`)."""
        self._splits.clear()
        self._outputs.clear()
        self.data = None

    def outputs(self, split: str = "test") -> Outputs:
        """The model's pass over a split (`split`'s inputs against its targets): computed once per
        Run and kept on it, so that every metric of the split reads the same reconstructions and codes."""
        if split not in self._outputs:
            inputs, targets, _ = self.split(split)
            self._outputs[split] = self._pass(inputs, targets)
        return self._outputs[split]

    def _pass(self, inputs: torch.Tensor, targets: torch.Tensor) -> Outputs:
        """One pass over (inputs, targets): the loss terms with the reconstructions and codes the
        same forward passes computed (Output.recon, Output.z: `reconstruct` and `encode`)."""
        recon, codes = [], []

        def keep(out):
            recon.append(out.recon.cpu())
            codes.append(out.z.cpu())

        terms = evaluate_loss(self.model, inputs, targets, keep=keep)
        if sum(len(r) for r in recon) != len(inputs):  # under torchrun each rank saw its own rows
            return Outputs(terms, self.reconstruct(inputs), self.encode(inputs))
        return Outputs(terms, torch.cat(recon), torch.cat(codes))

    def split(self, split: str = "test") -> Batch:
        """(input, target, label) of a split, prepared as validation data (noise, binarization).

        Loaded once per Run and kept on it. A run trained on your own in-memory data has no split
        to reload: pass that data to `evaluate(x)` instead.
        """
        if split not in self._splits:
            if self.config.data.name == IN_MEMORY:
                raise ConfigError("this run trained on in-memory data, which a run folder does not keep: "
                                  "pass samples to run.evaluate(x)")
            batch = load_split(self.config.data, split, self.device, self.config.train.seed)
            self.check_shape(tuple(batch[0].shape[1:]), split)
            self._splits[split] = batch
        return self._splits[split]

    def check_shape(self, shape: tuple, split: str) -> None:
        """Raise DataError unless samples of `shape` (from `split` of the run's data) fit the model:
        the data a run names may have changed since it trained (a file rewritten)."""
        expected = tuple(self.model.input_shape)
        if shape != expected:
            raise DataError(f"run {self.path}: {self.config.data.name} ({split}) now holds samples of shape "
                            f"{shape}, but the run's model takes {expected} (config.json's model.input_shape): "
                            "the data changed since the run trained")

    def evaluate(self, data="test") -> dict:
        """Loss terms, per-pixel BCE/MSE, PSNR, SSIM and code statistics on a whole split.

        data : a split name, or your own samples (N, *input_shape) in [0, 1] (scored as they are).
        """
        if isinstance(data, str):
            split, (inputs, targets, _) = data, self.split(data)
            outputs = self.outputs(split)
        else:
            x = torch.as_tensor(np.asarray(data) if not torch.is_tensor(data) else data, dtype=torch.float32)
            split, inputs, targets = "data", x.to(self.device), x.to(self.device)
            outputs = self._pass(inputs, targets)
        result = {"split": split, "n": len(inputs), "model": self.config.model.name}
        # the total "loss" and its named terms
        result.update({k if k == "loss" else f"loss_{k}": v for k, v in outputs.terms.items()})
        result.update(reconstruction_metrics(outputs.recon, targets.cpu()))
        result.update(code_stats(outputs.codes))
        if self.denoises and isinstance(data, str):
            result["input_psnr"] = psnr(inputs.cpu().clamp(0, 1), targets.cpu())
            result["input_ssim"] = ssim(inputs.cpu().clamp(0, 1), targets.cpu())
        return result


def split_options(options: dict, model_options=()) -> tuple[dict, dict, dict]:
    """Route flat keyword options to (data, train, model) sections: a model's options are those
    its spec names (registry.check_spec keeps them apart from data and train fields)."""
    data, train, model = {}, {}, {}
    for key, value in options.items():
        if key == "validation" and isinstance(value, float):  # a fraction, as the CLI's --validation 0.1
            value = repr(value)
        if key in model_options:
            model[key] = value
        elif key in _DATA_KEYS or key in _TRAIN_KEYS:
            (data if key in _DATA_KEYS else train)[key] = value
        else:
            valid = set(model_options) | _DATA_KEYS | _TRAIN_KEYS
            raise ConfigError(unknown("option", key, valid))
    return data, train, model


def make_config(model: str = "dense", data: str = "digits", **options) -> RunConfig:
    """A validated RunConfig from flat options, e.g. `make_config("dense", "mnist", epochs=50)`."""
    spec = model_spec(model)
    try:
        data_kw, train_kw, model_kw = split_options(options, spec.defaults())
    except ConfigError as e:
        raise ConfigError(f"model '{model}': {e}") from None
    train_kw = {**spec.train_defaults, **train_kw}  # the model's registered (the article's) batch size
    config = RunConfig(DataConfig(name=data, **data_kw), ModelConfig(model, model_kw), TrainConfig(**train_kw))
    return config


def train(model="dense", data="digits", *, out=None, val=None, model_args: dict | None = None, resume=False,
          overwrite: bool = False, quiet: bool = False, progress=None, on_epoch_end=None, **options) -> Run:
    """Train a model: the one way in for the CLI, the report, the estimator and your own code.

    model : a registered name (`list_models()`), your own nn.Module honouring AutoencoderProtocol,
        or a whole RunConfig (`make_config`, `load_config`; then `data` and `options` come from it).
    data : a dataset name or path; for your own module also tensors / arrays (N, *sample_shape) in
        [0, 1] or a torch Dataset (then `val`, the same kinds, is the validation data, optional).
    out : the run directory (config.json, checkpoints, logs), held while training; None for none.
    model_args : your module's JSON-able constructor keyword arguments, recorded so that
        `load_run(out, model=YourClass)` can rebuild it.
    resume : True continues the run in `out`; "auto" reuses a finished run of the same config
        there, resumes an interrupted one and starts one where there is none.
    overwrite : replace a run already in `out` (refused otherwise).
    progress(epoch, epochs, batch, batches) hears of every batch; on_epoch_end(record, model, data)
        after every epoch's checkpoint, True stopping there (data: the RunData of a named dataset).
    options : flat data / train / model options (`make_config`), e.g. epochs=10, noise="gaussian:0.5".
    """
    config, module = _what_to_train(model, data, model_args, options)
    if resume == "auto":
        if out is not None and is_finished(config, out):
            return load_run(out, device=config.train.device, model=module)
        started = out is not None and (Path(out) / "config.json").exists() and saved_trainer_state(out) is not None
        resume, overwrite = started, overwrite or (out is not None and (Path(out) / "config.json").exists()
                                                   and not started)
    with _owning(out, resume=bool(resume), overwrite=overwrite):
        if resume:
            _check_budget(config, out)
        device = distributed.setup(resolve_device(config.train.device))  # joins the process group under torchrun
        config = _decide_precision(config, device, out if resume else None)
        loaded = None
        if isinstance(data, str):
            loaded = load_run_data(config.data, device, config.train.seed)
            data, val = loaded.train, loaded.val
        elif module is None:  # a registered model on your own arrays: its shape is theirs
            data = as_source(data, Presentation.from_config(config.data), device=device, seed=config.train.seed,
                             name="training data")
        if module is None:
            module = _seeded_model(config, loaded.sample_shape if loaded else data.sample_shape, device)
        history = fit_run(module, config, data, val, device, out=out, resume=bool(resume), quiet=quiet,
                          progress=progress, on_epoch_end=on_epoch_end, data=loaded)
    path = Path(out) if out is not None else None
    return Run(module, config, path, read_history(path) if path else history, data=loaded)


def _decide_precision(config: RunConfig, device, resumed) -> RunConfig:
    """Precision "auto" made definite: a resumed run keeps the one its config.json records (on any
    machine), a new one gets bf16 where the device computes it natively (training/setup.py)."""
    if config.train.precision != "auto":
        return config
    precision = load_config(resumed).train.precision if resumed is not None else None
    if precision is None or precision == "auto":
        precision = resolve_precision("auto", device)
    return dataclasses.replace(config, train=dataclasses.replace(config.train, precision=precision))


def _what_to_train(model, data, model_args, options) -> tuple[RunConfig, torch.nn.Module | None]:
    """(the validated RunConfig, your module or None for a registered one built from the data)."""
    if isinstance(model, RunConfig):
        if options or model_args:
            raise ConfigError("train(config, ...) takes its options from the config: pass none beside it")
        return model, None
    if not isinstance(model, torch.nn.Module):
        return make_config(model, data if isinstance(data, str) else IN_MEMORY, **options), None
    check_contract(model)
    try:
        data_kw, train_kw, _ = split_options(options)
    except ConfigError as e:
        raise ConfigError(f"{type(model).__name__}: {e} (constructor arguments go in model_args)") from None
    check_json("model_args", model_args or {})
    name = data if isinstance(data, str) else IN_MEMORY
    config = RunConfig(DataConfig(name=name, **data_kw), ModelConfig(class_path(type(model)), dict(model_args or {})),
                       TrainConfig(**train_kw))
    return config, model


def _seeded_model(config: RunConfig, shape: tuple, device) -> torch.nn.Module:
    """A registered model from its seed: the same seed, the same initial weights (the caller's RNG kept)."""
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(config.train.seed)
        return create_model(config.model.name, shape, **config.model.options)


def _owning(out, *, resume: bool, overwrite: bool):
    """rundir.claim on `out` in the main process; nothing to hold without a folder."""
    owned = out is not None and distributed.is_main()
    return claim(out, resume=resume, overwrite=overwrite) if owned else contextlib.nullcontext()


def resume(path, *, epochs: int | None = None, quiet: bool = False, on_epoch_end=None) -> Run:
    """Continue the run in `path` from its last checkpoint (optionally to a new epoch budget):
    `train(load_config(path), out=path, resume=True)`; on_epoch_end as in `train`."""
    config = load_config(path)
    if is_import_path(config.model.name):
        raise ConfigError(f"{path} holds your own module ({config.model.name}): resume it with "
                          f"ae.train(module, data=..., out={str(path)!r}, resume=True, epochs=...)")
    if epochs is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
    return train(config, out=path, quiet=quiet, resume=True, on_epoch_end=on_epoch_end)


def _check_budget(config: RunConfig, path) -> None:
    """A resumed run must have epochs left: else nothing trains, yet config.json would be rewritten."""
    done = read_trainer_json(path)["state"]["epoch"]
    if config.train.epochs <= done:
        raise ConfigError(f"{path} has already trained {done} epochs of its budget of "
                          f"{config.train.epochs}; --epochs is the total: pass --epochs N with N > {done} "
                          "to train more")


def is_finished(config: RunConfig, out) -> bool:
    """Whether `out` holds a run of exactly `config` trained to its full budget."""
    out = Path(out)
    if not (out / "config.json").exists():
        return False
    if not _same_run(config, load_config(out)):
        raise ConfigError(f"{out} holds a run with a different configuration; remove it or pick another folder")
    state = saved_trainer_state(out)
    return state is not None and state["epoch"] >= config.train.epochs


def _same_run(config: RunConfig, stored: RunConfig) -> bool:
    """Whether `config` is what `stored` (a resolved config.json) ran, "auto" device and precision included."""
    device = stored.train.device if config.train.device == "auto" else config.train.device
    stream = stored.data.stream if config.data.stream is None else config.data.stream
    precision = stored.train.precision if config.train.precision == "auto" else config.train.precision
    shape = stored.model.input_shape
    return (config.resolved(device, shape, stream, precision).to_dict()
            == stored.resolved(stored.train.device, shape, stored.data.stream).to_dict())


def load_run(path, device: str = "cpu", *, model=None, trust_module=None) -> Run:
    """Load a run directory's config and latest weights (no pickles: JSON + safetensors, no code).

    Registered models need nothing. A run of your own module needs it from you (modules.own_module):
    model : the module to load the weights into, or its class (built with the recorded `model_args`).
    trust_module : the run's recorded "package.module:Class" (or a list of trusted ones): import it.
    """
    path = Path(path)
    if device not in DEVICES:
        raise ConfigError(unknown("device", device, DEVICES))
    config = load_config(path)
    weights, meta = load_weights(path / WEIGHTS)
    shape = _sample_shape(meta, path) if "input_shape" in meta or not config.model.input_shape else None
    if config.model.input_shape:  # config.json says what ran; the weights' metadata must agree
        if shape is not None and list(shape) != list(config.model.input_shape):
            raise TrainingError(f"{path / WEIGHTS}: weights for input shape {list(shape)}, but config.json "
                                f"records {config.model.input_shape}: the run folder's files come from two runs")
        shape = tuple(config.model.input_shape)
    if model is not None or is_import_path(config.model.name):
        net = own_module(config.model, path, model=model, trust_module=trust_module)
        check_fits(weights, net, path)
    else:
        with torch.device("meta"):  # check the file against the model before allocating anything
            check_weights(weights, _build(config, shape, path), path / WEIGHTS)
        net = create_model(config.model.name, shape, **config.model.options)
    net.load_state_dict(weights)
    net = fast_layout(net.to(resolve_device(device)), shape)
    return Run(net.eval(), config, path, read_history(path))


def _build(config: RunConfig, shape: tuple, path: Path):
    try:
        return create_model(config.model.name, shape, **config.model.options)
    except Exception as e:  # noqa: BLE001 - any model may reject a shape in its own way
        raise TrainingError(f"{path / WEIGHTS}: the model in config.json cannot take input_shape "
                            f"{list(shape)} from the weights' metadata ({e})") from None


def _sample_shape(meta: dict, path: Path) -> tuple:
    """The per-sample input shape recorded in the weights' metadata: 2 or 3 positive integers."""
    if "input_shape" not in meta:
        raise ConfigError(f"{path / WEIGHTS}: metadata has no input_shape (not written by `ae train`?)")
    try:
        shape = json.loads(meta["input_shape"])
    except (ValueError, RecursionError):
        shape = meta["input_shape"]
    if not (isinstance(shape, list) and len(shape) in (2, 3)
            and all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= 2**20 for s in shape)):
        raise TrainingError(f"{path / WEIGHTS}: metadata input_shape is {meta['input_shape']!r}; expected "
                            "2 or 3 positive integers, e.g. [1, 28, 28]")
    return tuple(shape)
