"""A user's own module against the model contract (models.base.AutoencoderProtocol), before training.

`check_contract` asks for the members; `check_module` then runs the module once on two samples of
the real training data, so that a forward returning a tuple, a loss that is not a scalar or has no
gradient, a decoder of the wrong shape, float64 weights or data of the wrong shape is named here,
before the run folder is written, instead of ending in a torch error deep in the trainer.

The run leaves no trace, so a seeded run trains exactly as it would without it: eval mode (no
dropout draws, no BatchNorm statistics updated), the global RNG forked, no backward, no step.
"""

from __future__ import annotations

import contextlib
from numbers import Integral

import torch

from ..data.batches import generator
from ..errors import ConfigError, DataError
from ..models.base import LOSSES, SPACES
from .setup import autocast

METHODS = ("encode", "decode_logits", "decode")
CHECK_BATCH = 2  # samples the module is run on: more than one, so batch-wise layers (BatchNorm) work
OUTPUT = "models.base.Output(logits, z, loss, terms)"


def check_contract(module) -> None:
    """ConfigError naming each member of AutoencoderProtocol that `module` lacks or cannot use."""
    name = type(module).__name__
    members = ("input_shape", "loss_kind", "output_space", *METHODS)
    problems = [f"missing {m}" for m in members if not hasattr(module, m)]
    problems += [f"{m} is {getattr(module, m)!r}, not callable" for m in METHODS
                 if hasattr(module, m) and not callable(getattr(module, m))]
    for member, allowed in (("loss_kind", LOSSES), ("output_space", SPACES)):
        if hasattr(module, member) and getattr(module, member) not in allowed:
            problems.append(f"{member} is {getattr(module, member)!r}, not one of {', '.join(allowed)}")
    if problems:
        raise ConfigError(f"{name} does not honour the model contract (models.base.AutoencoderProtocol): "
                          + "; ".join(problems))
    shape = module.input_shape
    if not (isinstance(shape, (tuple, list, torch.Size)) and shape
            and all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in shape)):
        raise ConfigError(f"{name}.input_shape is {shape!r}; it must be one sample's shape, e.g. (1, 28, 28)")


def check_module(model: torch.nn.Module, train, val=None, *, precision: str = "fp32") -> None:
    """Refuse `model` on these BatchSources with the first way it breaks the contract (ConfigError
    for the module, DataError for data unlike its input_shape), each naming the member or the data."""
    check_contract(model)
    name = type(model).__name__
    _check_parameters(model, name)
    expected = tuple(model.input_shape)
    for source, what in ((train, "training data"), (val, "validation data")):
        if source is not None and tuple(source.sample_shape) != expected:
            raise DataError(f"{what} has samples of shape {tuple(source.sample_shape)}, but {name}.input_shape "
                            f"is {expected}")
    cuda = [train.device.index or 0] if train.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), _evaluating(model):
        batches = train.epoch(generator(train.device, 0), CHECK_BATCH, 1)  # its own generator: the run's is untouched
        batch = next(batches)
        batches.close()
        with autocast(train.device, precision):
            _check_outputs(model, name, batch.input, batch.target)


def _check_parameters(model: torch.nn.Module, name: str) -> None:
    params = list(model.named_parameters())
    if not params:
        raise ConfigError(f"{name} has no parameters: the optimizer would have nothing to train")
    odd = next(((n, p.dtype) for n, p in params if p.dtype != torch.float32), None)
    if odd is not None:
        dtype = str(odd[1]).removeprefix("torch.")
        raise ConfigError(f"{name} has {dtype} parameters ({odd[0]}); the trainer runs float32: call .float() on "
                          "the module (precision='bf16' trains in bf16 under autocast)")


@contextlib.contextmanager
def _evaluating(model: torch.nn.Module):
    """Eval mode for the check, then every submodule's own mode back (a frozen part stays frozen)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def _check_outputs(model, name: str, x: torch.Tensor, target: torch.Tensor) -> None:
    """encode / decode_logits / decode without autograd, then one forward whose loss must have a gradient."""
    shape = tuple(x.shape)
    with torch.no_grad():
        z = _run(model.encode, f"{name}.encode", x)
        if not torch.is_tensor(z) or z.ndim == 0 or len(z) != len(x):
            raise ConfigError(f"{name}.encode returned {_describe(z)} for a batch of {len(x)}; it must return the "
                              "code, a tensor (B, ...)")
        for member in ("decode_logits", "decode"):
            _expect_shape(_run(getattr(model, member), f"{name}.{member}", z), shape, f"{name}.{member}(z)")
    out = _run(model, f"{name}.forward", x, target)
    missing = [a for a in ("loss", "terms", "recon") if not hasattr(out, a)]
    if missing:
        raise ConfigError(f"{name}.forward returned {_describe(out)}, which has no .{', .'.join(missing)}; it must "
                          f"return {OUTPUT}")
    _expect_shape(out.recon, shape, f"{name}.forward(x).recon")
    if not torch.is_tensor(out.loss) or out.loss.ndim != 0:
        raise ConfigError(f"{name}.forward's loss is {_describe(out.loss)}; it must be a scalar tensor (shape ()): "
                          "reduce it with .mean() or .sum()")
    if not out.loss.requires_grad:
        raise ConfigError(f"{name}.forward's loss has no gradient (no grad_fn): compute it from the module's "
                          "outputs, without .detach(), .item() or torch.no_grad()")
    terms = out.terms if isinstance(out.terms, dict) else {None: out.terms}
    for key, value in terms.items():
        if not torch.is_tensor(value) or value.ndim != 0:
            what = "terms" if key is None else f"terms[{key!r}]"
            raise ConfigError(f"{name}.forward's {what} is {_describe(value)}; terms must be a dict of scalar "
                              "tensors, e.g. {'recon': recon}")


def _run(fn, what: str, *args):
    """fn(*args); an exception raised in the user's code becomes a ConfigError saying which member failed."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - the user's code: whatever it raises, name the member and the input
        first = (str(e).splitlines() or [""])[0]
        raise ConfigError(f"{what} failed on a batch of training data of shape {tuple(args[0].shape)}: "
                          f"{type(e).__name__}: {first}") from e


def _expect_shape(value, shape: tuple, what: str) -> None:
    if not torch.is_tensor(value) or tuple(value.shape) != shape:
        raise ConfigError(f"{what} is {_describe(value)}; it must be {shape}, (B, *input_shape)")


def _describe(value) -> str:
    if torch.is_tensor(value):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"
