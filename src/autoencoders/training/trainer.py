"""The model-agnostic training loop: resident data, index-sliced batches, exact resume.

The trainer only knows the model contract (`out.loss`, `out.terms`); it never branches on a
model's kind. Randomness that decides batches (permutation, noise, binarization) comes from a
generator seeded by (seed, epoch), and the global RNG (model-internal sampling) is checkpointed,
so a run resumed after epoch k equals the uninterrupted run bitwise on CPU.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from pathlib import Path

import torch

from ..config import RunConfig
from ..errors import TrainingError
from ..fileio import write_json
from ..registry import create_model
from . import distributed as dist
from .callbacks import RunLogger
from .checkpoint import CONFIG, load_state, save_state, unwrap
from .datachecks import check_targets
from .inputs import TrainingData, load_training_data
from .schedule import lr_at, set_lr

EVAL_BATCH = 2048


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda: no CUDA device is available here (use --device cpu or auto)")
    return torch.device(name)


def make_optimizer(model: torch.nn.Module, config: RunConfig) -> torch.optim.Optimizer:
    """Adam (default), RMSprop or Adadelta at `config.train.learning_rate`.

    Multi-tensor implementations: on CPU PyTorch defaults to a loop of small ops per parameter.
    Fused Adam made the dense net's update ~5x faster and whole steps 0.96-1.34x as fast
    (`bench/step_variants.py`); where it is not available, foreach is used.
    """
    cls = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "adadelta": torch.optim.Adadelta}
    kwargs = {"eps": 1e-7} if config.train.optimizer == "rmsprop" else {}  # Keras's epsilon
    make = functools.partial(cls[config.train.optimizer], list(model.parameters()), lr=config.train.learning_rate,
                             **kwargs)
    if config.train.optimizer == "adam":
        try:
            return make(fused=True)
        except (RuntimeError, TypeError):  # device or PyTorch version without fused Adam
            pass
    return make(foreach=True)


def autocast(device: torch.device, precision: str):
    """The one mixed-precision path: bf16 autocast when asked, a no-op otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def fast_layout(model: torch.nn.Module, sample_shape: tuple) -> torch.nn.Module:
    """Channels-last weights for image inputs: a conv training step ran 1.4-1.9x faster in NHWC on
    this CPU (`bench/conv_layout.py`, one thread). Only 4-D parameters change layout; values, and
    so results, do not."""
    return model.to(memory_format=torch.channels_last) if len(sample_shape) == 3 else model


@contextlib.contextmanager
def flush_denormals():
    """Denormal floats are very slow on x86 CPUs; training never needs them (1.5-1.7x, DESIGN.md)."""
    changed = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if changed:
            torch.set_flush_denormal(False)


def fit(config: RunConfig, out=None, *, resume: bool = False, quiet: bool = False, on_epoch_end=None,
        progress=None):
    """Train per `config`, checkpointing into `out` each epoch. Returns (model, data, history).

    `on_epoch_end(record, model, data)`, if given, is called after every epoch's checkpoint with
    the epoch's history record; it returning True ends training there (e.g. a quality target
    reached). `progress(epoch, epochs, batch, batches)`, if given, is called after every batch
    (RunLogger). Under torchrun every rank runs this; only rank 0 writes files (see distributed.py).
    """
    config.validate()
    device = dist.setup(resolve_device(config.train.device))
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # the caller's global RNG is left as it was
        return _fit(config, out, device, resume=resume, quiet=quiet, on_epoch_end=on_epoch_end, progress=progress)


def _fit(config: RunConfig, out, device: torch.device, *, resume: bool, quiet: bool, on_epoch_end=None,
         progress=None):
    data = load_training_data(config.data, device, config.train.seed)
    torch.manual_seed(config.train.seed)
    model = fast_layout(create_model(config.model.name, data.sample_shape, **config.model.options).to(device),
                        data.sample_shape)
    check_targets(model, data.x_train, data.x_val, data.meta["source"])
    optimizer = make_optimizer(model, config)
    counters = {"epoch": 0, "step": 0, "best_val": math.inf, "stale": 0, "model": config.model.name,
                "input_shape": list(data.sample_shape)}
    if resume:
        counters = load_state(out, model, optimizer)
        # runs saved before schedules existed: every epoch was a whole pass
        counters.setdefault("step", counters["epoch"] * _batches_per_epoch(len(data.x_train), config.train.batch_size))
    elif out is not None and dist.is_main():
        Path(out).mkdir(parents=True, exist_ok=True)
    if out is not None and dist.is_main():  # a resumed run may have a new epoch budget: record it
        write_json(Path(out) / CONFIG, config.to_dict())
    logger = RunLogger(out, quiet=quiet, start_epoch=counters["epoch"], enabled=dist.is_main(), on_batch=progress)
    try:
        with flush_denormals():
            history = _epochs(dist.wrap(model, device), data, optimizer, config, counters, logger, out, device,
                              on_epoch_end)
    finally:
        logger.close()
    return model, data, history


def _epochs(model, data, optimizer, config, counters, logger, out, device, on_epoch_end=None) -> list[dict]:
    history = []
    tc = config.train
    for epoch in range(counters["epoch"] + 1, tc.epochs + 1):
        start = time.perf_counter()
        train_terms = train_epoch(model, data, optimizer, epoch, config, logger, device, counters)
        val_terms = evaluate_loss(unwrap(model), data.val_input, data.x_val, precision=tc.precision)
        record = {"epoch": epoch, "train": train_terms, "val": val_terms,
                  "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - start, 3)}
        history.append(record)
        logger.epoch_end(record)
        stop = _early_stop(counters, val_terms["loss"], tc.patience)
        counters["epoch"] = epoch
        if out is not None and dist.is_main():
            save_state(out, model, optimizer, counters)
        dist.barrier()
        if on_epoch_end is not None and on_epoch_end(record, unwrap(model), data):
            break
        if stop:
            if not logger.quiet and dist.is_main():
                print(f"early stop: validation loss has not improved for {tc.patience} epochs")
            break
    return history


def _early_stop(counters: dict, val_loss: float, patience: int | None) -> bool:
    if val_loss < counters["best_val"]:
        counters["best_val"], counters["stale"] = val_loss, 0
    else:
        counters["stale"] += 1
    return patience is not None and counters["stale"] >= patience


def train_epoch(model, data: TrainingData, optimizer, epoch: int, config: RunConfig, logger, device,
                counters: dict | None = None) -> dict:
    """One pass over a fresh permutation; returns the sample-weighted mean of every loss term.

    Every rank draws the same permutation and the same noise for the whole global batch, then
    trains on its own slice (distributed.shard), so N processes compute what one would. The
    learning rate is set before every step from `counters["step"]` (training/schedule.py).
    """
    model.train()
    tc = config.train
    n, bs = len(data.x_train), tc.batch_size
    g = torch.Generator(device=device).manual_seed(tc.seed * 1_000_003 + epoch)
    perm = torch.randperm(n, generator=g, device=device)
    n_batches = _batches_per_epoch(n, bs)
    total_steps = n_batches * tc.epochs
    if counters is None:  # a caller that keeps no counters: every earlier epoch was a whole pass
        counters = {"step": (epoch - 1) * n_batches}
    losses = torch.zeros(n_batches, device=device)  # checked once per epoch: no per-step host sync
    sums: dict = {}
    with logger.progress(n_batches, epoch, tc.epochs) as bar:
        for b in range(n_batches):
            x, target = data.batch(perm[b * bs : (b + 1) * bs], g)
            (x, target), scale = dist.shard(x, target)
            with autocast(device, tc.precision):
                out = model(x, target)
            optimizer.zero_grad(set_to_none=True)
            (out.loss * scale if scale != 1.0 else out.loss).backward()
            if tc.clip_grad is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip_grad)
            set_lr(optimizer, lr_at(counters["step"], total_steps, tc.learning_rate, tc.schedule, tc.warmup))
            optimizer.step()
            counters["step"] += 1
            losses[b] = out.loss.detach()
            _accumulate(sums, out, len(x))
            bar.update()
    _check_finite(losses, epoch)
    return _reduce_means(sums, n if n_batches * bs >= n else n_batches * bs)


def _batches_per_epoch(n: int, bs: int) -> int:
    """ceil(n / bs), less a last batch too small to give every rank a row (it is dropped)."""
    n_batches = math.ceil(n / bs)
    if n % bs and n % bs < dist.world_size():
        n_batches -= 1
    return n_batches


def _accumulate(sums: dict, out, weight: int) -> None:
    for name, value in {"loss": out.loss, **out.terms}.items():
        sums[name] = sums.get(name, 0.0) + value.detach().float() * weight


def _reduce_means(sums: dict, total: int) -> dict:
    """Sums over this rank -> means over all ranks' samples (one all-reduce for every term)."""
    if not sums:
        return {}
    names = list(sums)
    stacked = dist.all_reduce_sum(torch.stack([torch.as_tensor(sums[k]) for k in names]))
    return {k: float(v) / total for k, v in zip(names, stacked.tolist())}


def _check_finite(losses: torch.Tensor, epoch: int) -> None:
    bad = (~torch.isfinite(losses)).nonzero()
    if len(bad):
        raise TrainingError(
            f"non-finite loss ({losses[bad[0, 0]].item()}) at epoch {epoch}, batch {bad[0, 0].item() + 1}; "
            f"training stopped and {_kept(epoch)}. "
            "Try a lower --lr or --precision fp32."
        )


def _kept(epoch: int) -> str:
    return f"the checkpoint of epoch {epoch - 1} was kept" if epoch > 1 else "no checkpoint was written"


@torch.no_grad()
def evaluate_loss(model, inputs: torch.Tensor, targets: torch.Tensor, *, batch_size: int = EVAL_BATCH,
                  precision: str = "fp32") -> dict:
    """Sample-weighted mean of every loss term over (inputs, targets), without autograd.

    Under torchrun each rank evaluates its own contiguous part and the sums are all-reduced, so
    every rank sees the same numbers.
    """
    was_training = model.training
    model.eval()
    sums: dict = {}
    (inputs, targets), _ = dist.shard(inputs, targets)
    for i in range(0, len(inputs), batch_size):
        with autocast(inputs.device, precision):
            out = model(inputs[i : i + batch_size], targets[i : i + batch_size])
        _accumulate(sums, out, len(inputs[i : i + batch_size]))
    model.train(was_training)
    return _reduce_means(sums, _global_count(len(inputs)))


def _global_count(n_local: int) -> int:
    return int(dist.all_reduce_sum(torch.tensor([n_local]))[0]) if dist.is_distributed() else n_local
