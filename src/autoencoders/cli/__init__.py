"""The `ae` command: argparse subcommands that parse arguments and call the Python API.

One module per group of subcommands, each with a `register(subparsers)` function.

No logic lives here beyond turning flags into API calls and results into text or files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import traceback

from ..errors import AutoencodersError, suggest


class Parser(argparse.ArgumentParser):
    """argparse with 'did you mean' for mistyped options, and no silent abbreviations."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        m = re.search(r"unrecognized arguments: (\S+)", message)
        if m and m.group(1).startswith("-"):
            options = [s for a in self._actions for s in a.option_strings]
            for sub in self._subparsers._group_actions if self._subparsers else []:
                for p in getattr(sub, "choices", {}).values():
                    options += [s for a in p._actions for s in a.option_strings]
            message += suggest(m.group(1).split("=")[0], options)
        super().error(message)


def console() -> int:
    """The `ae` program: choose CPU threading for this machine's load (cli/cpu.py), then `main`."""
    if not {"-h", "--help", "--version"} & set(sys.argv[1:]) and len(sys.argv) > 1:
        from .cpu import configure

        configure()
    return main()


def main(argv=None) -> int:
    """Run one command: toolkit errors are one line and exit 2; anything else is a bug report.

    `ae --debug ...` or AE_DEBUG=1 lets every exception through with its traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--debug"]
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    debug = args.debug or os.environ.get("AE_DEBUG", "") not in ("", "0")
    try:
        return args.func(args) or 0
    except AutoencodersError as e:
        if debug:
            raise
        print(f"ae {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr)
        return 130
    except OSError as e:  # the machine's problem, not a bug: a full disk, a permission, a missing path
        if debug:
            raise
        where = f" ({e.filename})" if e.filename else ""
        print(f"ae {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - the last resort: a bug, reported as one
        if debug:
            raise
        where = save_traceback(args.command)
        print(f"ae {args.command}: internal error: {type(e).__name__}: {_first_line(e)}\n"
              f"This is a bug in autoencoders; please report it with the traceback saved in {where} "
              "(or rerun with --debug to print it)", file=sys.stderr)
        return 1


def _interrupted(args) -> str:
    """What an interrupt left behind: the run folder's last checkpoint, or that there is none."""
    if getattr(args, "run_folder", None) is None:
        return "interrupted"
    from ..training.checkpoint import saved_trainer_state

    folder = args.run_folder(args)
    try:
        state = saved_trainer_state(folder)
    except AutoencodersError:
        state = None
    if state is None:
        return f"interrupted before an epoch was checkpointed: {folder} holds no trained weights"
    return (f"interrupted; {folder} keeps the checkpoint of epoch {state['epoch']} "
            f"(continue: ae train --resume {folder})")


def save_traceback(command: str) -> str:
    """Write the current exception's traceback to a new file in the temp folder; return its path."""
    fd, path = tempfile.mkstemp(prefix=f"ae-{command}-crash-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"ae {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}")
    return path


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else "(no message)"


def seed(text: str) -> int:
    """An argparse type: a seed torch's generators take (0..2**32-1), like TrainConfig.seed."""
    from ..config import MAX_SEED

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be in 0..{MAX_SEED}, got {value}")
    return value


def add_run_argument(p, *, many: bool = False) -> None:
    """RUN (or RUN...), and the opt-in that lets a run of your own module import its class."""
    if many:
        p.add_argument("runs", nargs="+", metavar="RUN", help="run directories written by `ae train` or `ae reproduce`")
    else:
        p.add_argument("run", help="run directory written by `ae train`")
    p.add_argument("--trust-module", action="append", metavar="MODULE:CLASS",
                   help="import this class for a run of your own module, as its config.json names it: "
                        "code runs, so name only code you trust (repeatable)")


def load_run_arg(args):
    """The run that `add_run_argument` declared, on --device where the command has it."""
    from ..api import load_run

    return load_run(args.run, device=getattr(args, "device", "cpu"), trust_module=args.trust_module)


class _Version(argparse.Action):
    """`ae --version`, from the installed package's metadata (looked up only when asked)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        import autoencoders

        print(f"{parser.prog} {autoencoders.__version__}")
        parser.exit()


def build_parser() -> Parser:
    parser = Parser(prog="ae", description="Train, evaluate and use autoencoders.")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks (also AE_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    from . import bench_cmd, data_cmd, explore_cmd, model_cmd, report_cmd, run_cmd, train_cmd, use_cmd

    for module in (data_cmd, train_cmd, run_cmd, model_cmd, report_cmd, use_cmd, explore_cmd, bench_cmd):
        module.register(sub)
    return parser


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))
