"""`ae train` and `ae models`: flags map one-to-one to config fields and model options."""

from __future__ import annotations

import dataclasses

from ..config import FIELD_HELP, MODEL_OPTION_HELP, DataConfig, TrainConfig
from . import UsageError, boolean, fraction, int_list, nonnegative_float, positive_float, positive_int, print_json, seed

_DATA_FLAGS = [f for f in dataclasses.fields(DataConfig) if f.name != "name"]
_TRAIN_FLAGS = list(dataclasses.fields(TrainConfig))
# Every numeric config field is a count, a size or a rate (> 0) unless listed in _FIELD_TYPES;
# config.py's validate() checks the same values again for config.json files and Python callers.
_TYPES = {"int": positive_int, "float": positive_float, "str": str, "bool": boolean}
_FIELD_TYPES = {"seed": seed, "warmup": fraction}


def register(sub) -> None:
    p = sub.add_parser("train", help="train a registered model", description=(
        "Train MODEL on --data. Model options (e.g. --code-size) are those `ae models` lists."))
    p.add_argument("model", nargs="?", help="registered model name (see `ae models`)")
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
    """Model options read from the models' source (registry.declared_models): no torch import."""
    from ..registry import declared_models

    seen: dict = {}  # option -> (an example default, the models that take it)
    for name, decl in declared_models().items():
        for key, default in decl["options"].items():
            seen.setdefault(key, (default, []))[1].append(name)
    group = p.add_argument_group("model options (each model takes some of these; see `ae models`)")
    for key, (default, names) in sorted(seen.items()):
        group.add_argument("--" + key.replace("_", "-"), dest=f"model__{key}", type=_parser_for(default),
                           default=None, metavar=_metavar(default),
                           help=f"{MODEL_OPTION_HELP[key]} [{', '.join(names)}]")


def _metavar(kind) -> str:
    """N, X, A,B,... or NAME: what to type, instead of argparse's upper-cased destination."""
    if isinstance(kind, (tuple, list)):
        return "N,N,..."
    kind = type(kind).__name__ if not isinstance(kind, str) or kind not in _TYPES else kind
    return {"int": "N", "float": "X", "bool": "BOOL"}.get(kind, "NAME")


def _parser_for(default):
    """The argparse type of a model option, from its default: widths, counts and weights (the
    models' int options are sizes, their float options the weights of loss terms)."""
    if isinstance(default, bool):
        return boolean
    if isinstance(default, (tuple, list)):
        return int_list
    if isinstance(default, int):
        return positive_int
    return nonnegative_float if isinstance(default, float) else str


def _train(args) -> None:
    from .. import api
    from ..training import distributed

    if args.nproc is not None and not distributed.is_distributed():
        _exec_torchrun(args.nproc, args.argv)
    if args.resume:
        run = api.resume(args.resume, epochs=args.epochs, quiet=args.quiet)
    else:
        if not args.model:
            raise UsageError("MODEL is required (see `ae models`), or --resume RUN")
        options = {k: v for k, v in vars(args).items() if v is not None and _is_config_key(k)}
        options = {k.removeprefix("model__"): v for k, v in options.items()}
        config = api.make_config(args.model, args.data, **options)
        print(describe(config), flush=True)
        run = api.train_config(config, _run_folder(args), quiet=args.quiet, overwrite=args.overwrite)
    if run.history:
        last = run.history[-1]
        print(f"done: {run.path}  epoch {last['epoch']}  val loss {last['val']['loss']:.4f}")


def _run_folder(args) -> str:
    """The folder `ae train` writes: --resume RUN, --out, or runs/MODEL."""
    return args.resume or args.out or f"runs/{args.model}"


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
    os.execv(sys.executable, cmd)


def _is_config_key(key: str) -> bool:
    names = {f.name for f in _DATA_FLAGS + _TRAIN_FLAGS}
    return key.startswith("model__") or key in names


def _models(args) -> None:
    from ..registry import list_models, model_defaults, model_doc

    rows = {name: {"doc": model_doc(name), "options": model_defaults(name)} for name in list_models()}
    if args.json:
        print_json(rows)
        return
    for name, row in rows.items():
        opts = ", ".join(f"{k}={'auto' if v is None else v}" for k, v in row["options"].items())
        print(f"{name:<12} {row['doc']}\n{'':<12} {opts}")
