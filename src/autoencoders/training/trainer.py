"""One trainer for every caller: any module honouring the model contract, any source of batches.

    trainer = Trainer(model, TrainConfig(epochs=10, lr=3e-3),
                      callbacks=[RunLogger("runs/mine"), Checkpoint("runs/mine")])
    history = trainer.fit(train, val)          # tensors, arrays, a torch Dataset or a BatchSource
    history = trainer.fit(train, val, resume_from="runs/mine")   # later: continue exactly

The trainer only knows the model contract (`out.loss`, `out.terms`, models/base.py); it never
branches on a model's kind. Everything it does is explicit: the optimizer, the per-step learning
rate (training/schedule.py), precision, device and seed come from a `TrainConfig`; logging,
TensorBoard, checkpoints, early stopping and progress are callbacks (training/callbacks.py).
`ae.train` (api.py, through training/fit.py) builds one for every run, the CLI's, the report's
and the estimator's; the benchmark times one directly: this file holds the package's one epoch loop.
Randomness that decides batches (permutation, noise, binarization) comes from a generator seeded
by (seed, epoch); the global RNG (model-internal sampling) is seeded at the start and checkpointed,
so a run resumed after epoch k equals the uninterrupted run bitwise on CPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import time
from dataclasses import dataclass

import torch

from ..config import TrainConfig
from ..data import EVAL_BATCH, Batch, as_source
from ..errors import ConfigError, DataError, TrainingError
from . import distributed as dist
from .checkpoint import load_state, unwrap
from .compiled_step import CompiledStep, check_processes
from .ema import WeightAverage
from .schedule import lr_at, set_lr
from .setup import autocast, fast_layout, flush_denormals, make_optimizer, resolve_device, resolve_precision  # noqa: F401


@dataclass
class TrainerState:
    """Where training stands: epochs done, optimizer steps taken, best validation loss, epochs since."""

    epoch: int = 0
    step: int = 0
    best_val: float = math.inf
    stale: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainerState":
        """From a checkpoint's trainer.json "state" (checked by integrity.check_trainer_json)."""
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})


class Trainer:
    """Trains `model` (an nn.Module honouring models.base.AutoencoderProtocol).

    config : optimizer, lr, schedule/warmup/clip_grad, epochs, batch_size, precision, device, seed,
        ema. precision "auto" is decided here (setup.resolve_precision); `self.config` holds the outcome.
        With `ema`, validation and the checkpoint's published weights are the moving average
        (training/ema.py), and after `fit` the model holds it.
    device : overrides config.device (e.g. torch.device("cuda", 1)).
    callbacks : Callback objects, called in order (checkpoints are written by a `Checkpoint`).
    max_steps : stop once `state.step` (optimizer steps, those of a resumed run included) reaches
        this, mid-epoch if need be; 0 takes none. None for the full budget.
    Building one has no effect beyond moving the model to the device and making its optimizer:
    under torchrun, join the process group first (`device = distributed.setup(device)`, as
    `ae.train` does; Lightning Fabric's `launch()`).
    """

    def __init__(self, model: torch.nn.Module, config: TrainConfig = TrainConfig(), *, device=None, callbacks=(),
                 max_steps: int | None = None):
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0):
            raise ConfigError(f"max_steps must be None or an int >= 0, got {max_steps!r}")
        self.device = torch.device(device) if device is not None else resolve_device(config.device)
        self.config = dataclasses.replace(config, precision=resolve_precision(config.precision, self.device))
        self.model = model.to(self.device)
        self.optimizer = make_optimizer(self.model, config)
        self.compiled = self._compiled_step() if config.compile else None
        self.average = WeightAverage(unwrap(self.model), config.ema) if config.ema is not None else None
        self.callbacks = list(callbacks)
        self.max_steps = max_steps
        self.state = TrainerState()

    def _compiled_step(self) -> CompiledStep:
        check_processes(dist.world_size())
        return CompiledStep(self.model, self.optimizer, self.config, self.device)

    def fit(self, train, val=None, *, resume_from=None) -> list[dict]:
        """Train on `train` (validating on `val` after each epoch); returns this call's history records.

        train, val : tensors / arrays (N, *sample_shape) in [0, 1], torch Datasets, or BatchSources.
        resume_from : a run directory whose state/ (weights, optimizer, RNG, TrainerState) to continue.
        The caller's global RNG is left as it was.
        """
        train = as_source(train, device=self.device, seed=self.config.seed, name="training data")
        val = None if val is None else as_source(val, device=self.device, seed=self.config.seed, name="validation data")
        n_batches = batches_per_epoch(len(train), self.config.batch_size)
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda), flush_denormals():
            if resume_from is not None:
                saved = load_state(resume_from, self.model, self.optimizer, self.average)
                self.state = TrainerState.from_dict(saved)
            else:
                torch.manual_seed(self.config.seed)
            self._call("on_fit_start")
            try:
                history = self._epochs(dist.wrap(self.model, self.device), train, val, n_batches)
            finally:
                self._call("on_fit_end")
            if self.average is not None:
                self.average.copy_to_model()  # what was validated and saved is what the caller gets
            return history

    def _epochs(self, model, train, val, n_batches: int) -> list[dict]:
        history = []
        for epoch in range(self.state.epoch + 1, self.config.epochs + 1):
            if self._out_of_steps():
                break
            start = time.perf_counter()
            record = {"epoch": epoch, "train": self.train_epoch(model, train, epoch, n_batches)}
            _check_diverged(unwrap(model), record, history[0] if history else record)
            if val is not None:
                with self.evaluated_weights():
                    record["val"] = evaluate(unwrap(model), val.fixed_batches(self.config.seed),
                                             precision=self.config.precision)
                if not math.isfinite(record["val"].get("loss", 0.0)):
                    _check_data(val.fixed_batches(self.config.seed), "validation data")  # else recorded as NaN
            record.update(lr=self.optimizer.param_groups[0]["lr"], seconds=round(time.perf_counter() - start, 3))
            history.append(record)
            self._advance(epoch, record)
            if any(self._call("on_epoch_end", record)):
                break
        return history

    def evaluated_weights(self):
        """A block in which the model holds the weights a run evaluates and publishes: the moving
        average with `ema`, else its own."""
        return self.average.applied() if self.average is not None else contextlib.nullcontext()

    def _advance(self, epoch: int, record: dict) -> None:
        self.state.epoch = epoch
        if "val" in record:
            if record["val"]["loss"] < self.state.best_val:
                self.state.best_val, self.state.stale = record["val"]["loss"], 0
            else:
                self.state.stale += 1

    def _out_of_steps(self) -> bool:
        return self.max_steps is not None and self.state.step >= self.max_steps

    def _call(self, hook: str, *args) -> list:
        return [getattr(cb, hook)(self, *args) for cb in self.callbacks]

    def train_epoch(self, model, source, epoch: int, n_batches: int) -> dict:
        """One pass over a fresh permutation; returns the sample-weighted mean of every loss term.

        Every rank draws the same permutation and the same noise for the whole global batch, then
        trains on its own slice (distributed.shard), so N processes compute what one would. The
        learning rate is set before every step from `state.step` (training/schedule.py).
        """
        model.train()
        g = self._epoch_generator(epoch)
        losses = torch.zeros(n_batches, device=self.device)  # checked once per epoch: no per-step host sync
        sums: dict = {}
        seen = done = 0
        self._call("on_epoch_start", epoch, n_batches)
        for b, batch in enumerate(source.epoch(g, self.config.batch_size, n_batches)):
            losses[b] = self._step(model, batch, sums, n_batches * self.config.epochs)
            seen, done = seen + len(batch.input), b + 1
            self._call("on_batch_end", b, n_batches)
            if self._out_of_steps():
                break
        bad = _first_nonfinite(losses[:done])
        if bad is not None:
            where = f"at epoch {epoch}, batch {bad + 1}; training stopped and {_kept(epoch)}"
            self._check_batch_data(source, epoch, bad, where)
            raise TrainingError(f"non-finite loss ({losses[bad].item()}) {where}. "
                                "Try a lower --lr or --precision fp32.")
        return _reduce_means(sums, seen)

    def _epoch_generator(self, epoch: int) -> torch.Generator:
        """Draws every batch of `epoch` (permutation, noise, binarization): the same on every replay."""
        return torch.Generator(device=self.device).manual_seed(self.config.seed * 1_000_003 + epoch)

    def _check_batch_data(self, source, epoch: int, b: int, where: str) -> None:
        """DataError if batch `b` of `epoch` holds NaN/inf, so that a non-finite loss from the data is
        not blamed on the learning rate. Streamed data is not scanned before training; the batch is
        drawn again (the same generator: the same batch) only after a failure."""
        batches = source.epoch(self._epoch_generator(epoch), self.config.batch_size, b + 1)
        batch = next(itertools.islice(batches, b, None))
        batches.close()
        if _nonfinite_rows(batch).any():
            raise DataError(f"the training data holds NaN or inf values: they made the loss non-finite {where}; "
                            "fix or drop those samples (the learning rate is not at fault)")

    def _step(self, model, batch: Batch, sums: dict, total_steps: int) -> torch.Tensor:
        """One optimizer step on this rank's part of `batch`; returns the detached loss."""
        tc = self.config
        (x, target), scale = dist.shard(batch.input, batch.target)
        set_lr(self.optimizer, lr_at(self.state.step, total_steps, tc.learning_rate, tc.schedule, tc.warmup))
        if self.compiled is not None and self.compiled.takes(x):
            loss, terms = self.compiled(x, target)
        else:
            loss, terms = self._eager_step(model, x, target, scale)
        self.state.step += 1
        if self.average is not None:
            self.average.update(self.state.step)
        _accumulate(sums, loss, terms, len(x))
        return loss

    def _eager_step(self, model, x, target, scale: float) -> tuple[torch.Tensor, dict]:
        with autocast(self.device, self.config.precision):
            out = model(x, target)
        self.optimizer.zero_grad(set_to_none=True)
        (out.loss * scale if scale != 1.0 else out.loss).backward()
        if self.config.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.config.clip_grad)
        self.optimizer.step()
        return out.loss.detach(), out.terms


def batches_per_epoch(n: int, bs: int) -> int:
    """ceil(n / bs), less a last batch too small to give every rank a row (it is dropped)."""
    n_batches = math.ceil(n / bs)
    if n % bs and n % bs < dist.world_size():
        n_batches -= 1
    return n_batches


def _accumulate(sums: dict, loss: torch.Tensor, terms: dict, weight: int) -> None:
    for name, value in {"loss": loss, **terms}.items():
        sums[name] = sums.get(name, 0.0) + value.detach().float() * weight


def _reduce_means(sums: dict, total: int) -> dict:
    """Sums over this rank -> means over all ranks' samples (one all-reduce for every term)."""
    if not sums:
        return {}
    names = list(sums)
    stacked = dist.all_reduce_sum(torch.stack([torch.as_tensor(sums[k]) for k in names]))
    return {k: float(v) / total for k, v in zip(names, stacked.tolist())}


def _check_data(batches, what: str) -> None:
    """DataError naming the first sample (in order) of `batches` holding NaN or inf."""
    seen = 0
    for batch in batches:
        bad = _nonfinite_rows(batch).nonzero()
        if len(bad):
            raise DataError(f"the {what} holds NaN or inf values (sample {seen + int(bad[0, 0])}, the first); "
                            "fix or drop those samples")
        seen += len(batch.input)


def _nonfinite_rows(batch: Batch) -> torch.Tensor:
    """(B,) True where a row's input or target holds NaN or inf."""
    return ~(torch.isfinite(batch.input).flatten(1).all(1) & torch.isfinite(batch.target).flatten(1).all(1))


def _first_nonfinite(losses: torch.Tensor) -> int | None:
    bad = (~torch.isfinite(losses)).nonzero()
    return int(bad[0, 0]) if len(bad) else None


DIVERGED_RATIO = 1e3  # an epoch's train loss this many times the first epoch's ...
DIVERGED_FLOOR = 1.0  # ... and above this (a first loss near 0 may wobble), or ...
DIVERGED_ABS = 1e30  # ... this large (float32 overflows at 3.4e38) has diverged


def _check_diverged(model, record: dict, first: dict) -> None:
    """Stop a run that blew up without a NaN loss: before validation and the checkpoint, so the
    last checkpoint stays a sound one.

    record, first : this epoch's history record and that of the first epoch of this fit (a resumed
    run compares with its first resumed epoch). Diverged: |train loss| > 1e30, or train loss
    > 1e3 x |the first's| and > 1, or a parameter became NaN/inf. Healthy runs of the repo's models
    start below 1 per pixel (a VAE's nats per sample, ~100) and fall: they never come near.
    """
    epoch, loss, ref = record["epoch"], record["train"].get("loss", 0.0), first["train"].get("loss", 0.0)
    if abs(loss) > DIVERGED_ABS or (loss > DIVERGED_RATIO * abs(ref) and loss > DIVERGED_FLOOR):
        why = f"the training loss diverged at epoch {epoch} ({loss:.4g}; {ref:.4g} at epoch {first['epoch']})"
    elif (name := _nonfinite_parameter(model)) is not None:
        why = f"the training diverged at epoch {epoch}: parameter {name} became NaN or inf"
    else:
        return
    raise TrainingError(f"{why}; training stopped and {_kept(epoch)}. Try a lower --lr, or --clip-grad 1.0")


def _nonfinite_parameter(model) -> str | None:
    """The first parameter holding a NaN or inf (one host sync for all of them), or None."""
    named = list(model.named_parameters())
    finite = torch.stack([torch.isfinite(p).all() for _, p in named]).tolist() if named else []
    return next((n for (n, _), ok in zip(named, finite) if not ok), None)


def _kept(epoch: int) -> str:
    return f"the checkpoint of epoch {epoch - 1} was kept" if epoch > 1 else "no checkpoint was written"


@torch.no_grad()
def evaluate(model, batches, *, precision: str = "fp32", keep=None) -> dict:
    """Sample-weighted mean of every loss term over an iterable of Batches, without autograd.

    Under torchrun each rank evaluates its own part of every batch and the sums are all-reduced,
    so every rank sees the same numbers. keep(output) hears each batch's Output (this rank's rows):
    what the same pass gives besides the loss (reconstructions, codes).
    """
    was_training = model.training
    model.eval()
    sums: dict = {}
    total = 0
    for batch in batches:
        (inputs, targets), _ = dist.shard(batch.input, batch.target)
        with autocast(inputs.device, precision):
            out = model(inputs, targets)
        _accumulate(sums, out.loss, out.terms, len(inputs))
        if keep is not None:
            keep(out)
        total += len(batch.input)
    model.train(was_training)
    return _reduce_means(sums, total)


def evaluate_loss(model, inputs: torch.Tensor, targets: torch.Tensor, *, batch_size: int = EVAL_BATCH,
                  precision: str = "fp32", keep=None) -> dict:
    """`evaluate` over (inputs, targets) : (N, *sample_shape) each, in slices of `batch_size`."""
    slices = (Batch(inputs[i : i + batch_size], targets[i : i + batch_size]) for i in range(0, len(inputs), batch_size))
    return evaluate(model, slices, precision=precision, keep=keep)
