"""`ae train` and `ae models`: flags map one-to-one to config fields and model options; `--recipe NAME`
fills the flags not given from a preset (presets.TRAIN_RECIPES) and finishes the run for its use."""

from __future__ import annotations

import argparse
import dataclasses
import typing

from ..config import FIELD_HELP, DataConfig, TrainConfig
from . import (
    UsageError,
    boolean,
    finite_float,
    fraction,
    int_list,
    nonnegative_float,
    positive_float,
    positive_int,
    print_json,
    seed,
)

_DATA_FLAGS = [f for f in dataclasses.fields(DataConfig) if f.name != "name"]
_TRAIN_FLAGS = list(dataclasses.fields(TrainConfig))
# Every numeric config field is a count, a size or a rate (> 0) unless listed in _FIELD_TYPES;
# config.py's validate() checks the same values again for config.json files and Python callers.
_TYPES = {"int": positive_int, "float": positive_float, "str": str, "bool": boolean}
_FIELD_TYPES = {"seed": seed, "warmup": fraction}


def register(sub) -> None:
    from ..presets import ANOMALY, TRAIN_RECIPES

    p = sub.add_parser("train", help="train a registered model", description=(
        "Train MODEL on --data. Model options (e.g. --code-size) are those `ae models` lists. "
        "--recipe NAME sets the training flags of a named use of a model (flags you give win) and "
        "finishes the run for it."))
    p.add_argument("model", nargs="?", help="registered model name (see `ae models`; with --recipe, default: the "
                   "recipe's)")
    p.add_argument("--recipe", choices=sorted(TRAIN_RECIPES), help=(
        f"anomaly: the anomaly detector of bench/ANOMALY.md (presets.ANOMALY): {ANOMALY.model}, {ANOMALY.epochs} "
        f"epochs, batch {ANOMALY.batch_size}, lr {ANOMALY.lr:g}, schedule {ANOMALY.schedule}, a seeded "
        f"{ANOMALY.calibration:g} of --data held out (--validation); after training, score {ANOMALY.score} "
        f"calibrated on that hold-out at alpha {ANOMALY.alpha:g} into the run folder, so that "
        "`ae score RUN DATA --fpr A` works next. --data: normal samples only"))
    p.add_argument("--data", default="digits", help="mnist, fashion-mnist, digits, or a path")
    p.add_argument("--out", help="run directory (default: runs/MODEL)")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    p.add_argument("--nproc", type=positive_int, help="train on N processes (one per GPU) through torchrun")
    for f in _DATA_FLAGS + _TRAIN_FLAGS:
        _add_field_flag(p, f.name, f.type, f.default)
    _add_model_flags(p)
    p.set_defaults(func=_train, run_folder=_run_folder)
    m = sub.add_parser("models", help="list registered models with their default options")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=_models)


def _add_field_flag(p, name: str, type_, default) -> None:
    flag = "--" + name.replace("_", "-")
    shown = "" if default is None or default is False or "default:" in FIELD_HELP[name] else f" (default: {default})"
    if type_ in ("bool", bool):
        p.add_argument(flag, action="store_true", default=None, help=FIELD_HELP[name] + shown)
        return
    base = str(type_).split(" | ")[0]
    p.add_argument(flag, type=_FIELD_TYPES.get(name, _TYPES.get(base, str)), default=None, metavar=_metavar(base),
                   help=FIELD_HELP[name] + shown)


def _add_model_flags(p) -> None:
    """One flag per model option, typed and described by the models' specs (specs.py, torch-free).

    Values land in `args.model_options`, apart from the data and train fields: nothing is sorted
    back by name later."""
    from ..registry import specs

    takers: dict = {}  # option -> (its field, its type, the models that take it)
    for spec in specs():
        hints = typing.get_type_hints(spec.options)
        for f in spec.fields():
            takers.setdefault(f.name, (f, hints[f.name], []))[2].append(spec.name)
    group = p.add_argument_group("model options (each model takes some of these; see `ae models`)")
    for key, (f, hint, names) in sorted(takers.items()):
        kind, choices = _option_kind(f, hint)
        group.add_argument("--" + key.replace("_", "-"), dest=key, action=_ModelOption, type=kind, choices=choices,
                           default=argparse.SUPPRESS, metavar=_metavar(f.default) if choices is None else None,
                           help=f"{f.metadata['help']} [{', '.join(names)}]")
    p.set_defaults(model_options={})


class _ModelOption(argparse.Action):
    """Store a model option's value in `namespace.model_options` (a fresh dict per parse)."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.model_options = {**namespace.model_options, self.dest: values}


def _option_kind(f, hint):
    """(argparse type, choices) of a model option, from its annotation and its spec's minimum."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    literal = hint if typing.get_origin(hint) is typing.Literal else next(
        (a for a in args if typing.get_origin(a) is typing.Literal), None)
    if literal is not None:
        return str, list(typing.get_args(literal))
    if isinstance(f.default, (tuple, list)):
        return int_list, None
    if isinstance(f.default, bool):
        return boolean, None
    if isinstance(f.default, int):
        return positive_int, None
    if isinstance(f.default, float):
        return (nonnegative_float if f.metadata.get("minimum") == 0 else finite_float), None
    return str, None


def _metavar(kind) -> str:
    """N, X, A,B,... or NAME: what to type, instead of argparse's upper-cased destination."""
    if isinstance(kind, (tuple, list)):
        return "N,N,..."
    kind = type(kind).__name__ if not isinstance(kind, str) or kind not in _TYPES else kind
    return {"int": "N", "float": "X", "bool": "BOOL"}.get(kind, "NAME")


def _train(args) -> None:
    from .. import api
    from ..training import distributed
    from ..training.compiled_step import check_processes

    recipe = _recipe(args)
    if args.nproc is not None and not distributed.is_distributed():
        if args.compile:
            check_processes(args.nproc)  # before torchrun starts N processes that would each refuse it
        _exec_torchrun(args.nproc, args.argv)
    if args.resume:
        run = api.resume(args.resume, epochs=args.epochs, quiet=args.quiet, on_epoch_end=_rebalance_threads)
    else:
        if not args.model:
            raise UsageError("MODEL is required (see `ae models`), or --recipe NAME, or --resume RUN")
        fields = {f.name for f in _DATA_FLAGS + _TRAIN_FLAGS}
        settings = {k: v for k, v in vars(args).items() if v is not None and k in fields}
        if recipe is not None:
            settings = {**recipe.train_options(), "validation": recipe.calibration, **settings}
        config = api.make_config(args.model, args.data, **settings, **args.model_options)
        print(describe(config), flush=True)
        run = api.train(config, out=_run_folder(args), quiet=args.quiet, overwrite=args.overwrite,
                        on_epoch_end=_rebalance_threads)
    if run.history:
        last = run.history[-1]
        print(f"done: {run.path}  epoch {last['epoch']}  val loss {last['val']['loss']:.4f}")
    if recipe is not None and distributed.is_main():
        _calibrate(run, recipe)


def _recipe(args):
    """The --recipe's preset (None without one), its model the default MODEL; checked before training."""
    if args.recipe is None:
        return None
    from ..presets import train_recipe

    recipe = train_recipe(args.recipe)
    if args.resume:
        raise UsageError("--recipe starts a new run; --resume RUN continues one with the settings it was made with")
    if args.validation == "test":
        raise UsageError(f"--recipe {args.recipe} calibrates on a held-out fraction of --data: --validation must be "
                         f"a fraction, e.g. {recipe.calibration:g} (its default), not 'test'")
    args.model = args.model or recipe.model
    return recipe


def _calibrate(run, recipe) -> None:
    """The anomaly recipe's last step: its score calibrated on the run's held-out slice, stored in the run."""
    from ..errors import AutoencodersError

    try:
        detector = run.calibrate(score=recipe.score, alpha=recipe.alpha)
    except AutoencodersError as e:
        raise type(e)(f"{run.path} trained, but calibrating its anomaly score failed: {e}. Hold out more with "
                      f"--validation, or calibrate on other normal samples: ae score {run.path} DATA --calibrate "
                      f"NORMAL --fpr {recipe.alpha:g}") from None
    cal = detector.calibration
    print(f"calibrated {cal.score} on {cal.n} held-out samples: threshold {cal.threshold:.6g} at alpha "
          f"{cal.alpha:g}, in {run.path / 'anomaly.json'}; score new data with: ae score {run.path} DATA "
          f"--fpr {cal.alpha:g}")


def _rebalance_threads(record, model, data) -> bool:
    """After each epoch: the `ae` program's threads re-chosen for the machine's load (cli/cpu.py);
    nothing where the user set them or `ae` was not started from its console."""
    from .cpu import rebalance

    rebalance()
    return False


def _run_folder(args) -> str:
    """The folder `ae train` writes: --resume RUN, --out, or runs/MODEL (the --recipe's model by default)."""
    from ..presets import TRAIN_RECIPES

    model = args.model or (TRAIN_RECIPES[args.recipe].model if args.recipe else None)
    return args.resume or args.out or f"runs/{model}"


def describe(config) -> str:
    """One line saying what a run trains with, defaults included (model, data, budget, optimizer)."""
    d, t = config.data, config.train
    opts = "".join(f", {k}={v}" for k, v in config.model.options.items())
    warm = f", warm-up {t.warmup:g}" if t.warmup else ""
    return (f"training {config.model.name}{opts} on {d.name}: {t.epochs} epochs, batch {t.batch_size}, "
            f"{t.optimizer} lr {t.learning_rate:g}, schedule {t.schedule}{warm}")


def _exec_torchrun(nproc: int, argv: list[str]) -> None:
    """Replace this process with `torchrun --standalone --nproc-per-node N -m autoencoders ...`."""
    import os
    import sys

    rest = [a for i, a in enumerate(argv) if a != "--nproc" and (i == 0 or argv[i - 1] != "--nproc")]
    rest = [a for a in rest if not a.startswith("--nproc=")]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "autoencoders", *rest]
    sys.stdout.flush()
    from .cpu import release

    release()  # the same pid goes on as torchrun's launcher, which trains nothing itself
    os.execv(sys.executable, cmd)


def _models(args) -> None:
    from ..registry import specs

    rows = {spec.name: {"doc": spec.summary, "options": spec.defaults()} for spec in specs()}
    if args.json:
        print_json(rows)
        return
    for name, row in rows.items():
        opts = ", ".join(f"{k}={'auto' if v is None else v}" for k, v in row["options"].items())
        print(f"{name:<12} {row['doc']}\n{'':<12} {opts}")
