"""The `ae` command: argparse subcommands that parse arguments and call the Python API.

One module per group of subcommands, each with a `register(subparsers)` function.

No logic lives here beyond turning flags into API calls and results into text or files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
import traceback

from ..errors import AutoencodersError, suggest

INTERRUPTED = 130  # the shell's exit status for a process ended by Ctrl-C (128 + SIGINT)


class Parser(argparse.ArgumentParser):
    """argparse with 'did you mean' for mistyped options, and no silent abbreviations."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):
        """An unknown option is reported by the command it was given to (its usage, its options):
        argparse leaves them to the top-level parser, which would suggest other commands' options."""
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(self, "commands", {}).get(getattr(namespace, "command", None))
            (command or self).error("unrecognized arguments: " + " ".join(extras))
        return namespace

    def error(self, message):
        m = re.search(r"unrecognized arguments: (\S+)", message)
        word = m.group(1).split("=")[0] if m else ""
        if word.startswith("--"):  # a short option (-o) is too short to have a nearest one
            options = [s for a in self._actions for s in a.option_strings]
            for sub in self._subparsers._group_actions if self._subparsers else []:
                for p in getattr(sub, "choices", {}).values():
                    options += [s for a in p._actions for s in a.option_strings]
            message += suggest(word, [o for o in options if o != word])
        super().error(message)


def console() -> int:
    """The `ae` program: choose CPU threading for this machine's load (cli/cpu.py), load the
    numerical libraries with Ctrl-C held back (`_start`), then `main`."""
    if not {"-h", "--help", "--version"} & set(sys.argv[1:]) and len(sys.argv) > 1:
        if _start():
            print("interrupted while starting; nothing was done", file=sys.stderr)
            return 130
    code = main()
    if code == INTERRUPTED:
        # Interrupted: the run's own clean-up has run (checkpoint kept, folder released). Leave
        # now rather than through the interpreter's shutdown, which can wait on a library's
        # thread forever, or die of SIGINT when a library reported the interrupt on its way out.
        sys.stdout.flush()
        sys.stderr.flush()
        from .cpu import release

        release()  # os._exit runs no atexit
        os._exit(code)
    return code


def _start() -> bool:
    """Configure the threads and import numpy and torch with SIGINT held back; True if one came.

    A Ctrl-C that lands inside an extension module's import leaves half-made modules behind
    (numpy then raises ImportError, torch AttributeError on the next import, and Python may
    report the interrupt as unhandled and kill itself with SIGINT at exit). Held back, it is
    honoured as soon as the imports are done: a second or two."""
    import signal

    pending: list = []
    previous = signal.signal(signal.SIGINT, lambda *_: pending.append(True))
    try:
        from .cpu import configure

        configure()
        import numpy  # noqa: F401
        import torch  # noqa: F401
    finally:
        keep = previous is signal.SIG_IGN  # a background job's ignored Ctrl-C stays ignored
        signal.signal(signal.SIGINT, previous if keep else _on_sigint)
    return bool(pending)


def main(argv=None) -> int:
    """Run one command: toolkit errors are one line and exit 2; anything else is a bug report.

    `ae --debug ...` or AE_DEBUG=1 lets every exception through with its traceback.
    """
    try:
        parser = build_parser()
    except KeyboardInterrupt:
        print("interrupted while starting; nothing was done", file=sys.stderr)
        return INTERRUPTED
    args = parser.parse_args(argv)
    args.argv = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--debug"]
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    debug = args.debug or os.environ.get("AE_DEBUG", "") not in ("", "0")
    try:
        return _command(args)
    except UsageError as e:
        parser.commands[args.command].error(str(e))  # usage line, message, exit 2
    except AutoencodersError as e:
        if debug:
            raise
        print(f"ae {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr)
        return INTERRUPTED
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


_SIGINTS: list = []  # when the program's Ctrl-Cs came (console's handler records them)


def _on_sigint(signum, frame):
    """Python's own Ctrl-C (KeyboardInterrupt), remembered."""
    _SIGINTS.append(time.monotonic())
    raise KeyboardInterrupt


def _command(args) -> int:
    """The command; after a Ctrl-C, any failure is the Ctrl-C's: a C extension interrupted inside
    its own import raises an error of its own (scipy: ImportError "initialization failed")."""
    try:
        return args.func(args) or 0
    except Exception as e:
        if _SIGINTS:
            raise KeyboardInterrupt from e
        raise


def _interrupted(args) -> str:
    """What an interrupt left behind: the run folder's last checkpoint, or that there is none.

    An interrupt during start-up can land inside `import torch`: importing it again here would
    fail on the half-made module, so before training has begun (the checkpoint module is not
    loaded yet) nothing is imported, and nothing this process did needs saying."""
    if getattr(args, "run_folder", None) is None:
        return "interrupted"
    folder = args.run_folder(args)
    if "autoencoders.training.checkpoint" not in sys.modules:
        return f"interrupted while starting: {folder} is as it was"
    from ..training.checkpoint import saved_trainer_state

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


# argparse types: each value is checked while the command line is parsed, so a bad one is a
# one-line "argument --flag: ..." error with exit 2 before any work starts (and no value means
# something nobody asked for: `--n 0` "all", `--limit -5` "all but five"). Torch-free: `--help`.

def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def finite_float(text: str) -> float:
    """Any real number; nan and inf compare false (or true) with everything, so they are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def seed(text: str) -> int:
    """An argparse type: a seed torch's generators take (0..2**32-1), like TrainConfig.seed."""
    from ..config import MAX_SEED

    value = _integer(text)
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


def positive_int(text: str) -> int:
    """A count or a size (samples, images, epochs, steps): 1 or more; 0 would mean nothing or 'all'."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """An index (a sample's position): 0 or more; a negative one would count from the end."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """A rate, a budget or a limit (lr, GB, seconds, a norm): finite and > 0."""
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A weight (a penalty's, the KL term's): finite and >= 0; 0 turns the term off."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A share of something that must leave some of it (the warm-up's share of the steps): [0, 1)."""
    value = finite_float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text!r}")
    return value


def percentile(text: str) -> float:
    """A percentile: a number in [0, 100]."""
    value = finite_float(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a percentile in [0, 100], got {text!r}")
    return value


_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


def boolean(text: str) -> bool:
    """true/yes/1 or false/no/0 (any case); anything else is a mistake, not false."""
    word = text.strip().lower()
    if word not in _TRUE + _FALSE:
        raise argparse.ArgumentTypeError(f"must be true or false (or yes/no, 1/0), got {text!r}")
    return word in _TRUE


def int_list(text: str) -> tuple[int, ...]:
    """Comma-separated widths, e.g. 128,64: at least one, each a positive integer, no empty items
    (`--hidden ,` used to mean no hidden layer at all)."""
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise argparse.ArgumentTypeError(f"needs one or more comma-separated positive integers, e.g. 128,64; "
                                         f"got {text!r}")
    values = []
    for item in items:
        if not item:
            raise argparse.ArgumentTypeError(f"empty item in {text!r}; give positive integers separated by commas")
        try:
            values.append(positive_int(item))
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"{item!r} in {text!r}: {e}" if len(items) > 1 else str(e)) from None
    return tuple(values)


def experiments(text: str) -> str:
    """Comma-separated experiments of `ae reproduce` / `ae bench --to-quality`, checked by the one
    rule for them (presets.select: known names, each once) before anything trains."""
    from ..presets import select

    return _checked_by(select, text)


def recipe_list(text: str) -> str:
    """Comma-separated recipes of `ae bench --to-quality`, checked by presets.recipes_listed (known
    names, each once) while parsing."""
    from ..presets import recipes_listed

    return _checked_by(recipes_listed, text)


def _checked_by(check, text: str) -> str:
    """`text` as given once `check(text)` accepts it; its ConfigError as argparse's usage error."""
    try:
        check(text)
    except AutoencodersError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


class UsageError(Exception):
    """A command line that parses but cannot run as given (a missing argument argparse cannot
    express): `main` prints the command's usage and the message, and exits 2."""


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
    parser.commands = sub.choices  # name -> its parser, for UsageError's usage line
    return parser


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))
