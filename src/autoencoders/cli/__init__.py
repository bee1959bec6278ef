"""The `ae` command: argparse subcommands that parse arguments and call the Python API.

One module per group of subcommands, each with a `register(subparsers)` function.

No logic lives here beyond turning flags into API calls and results into text or files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

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


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except AutoencodersError as e:
        print(f"ae {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last finished epoch's checkpoint is kept", file=sys.stderr)
        return 130


def build_parser() -> Parser:
    parser = Parser(prog="ae", description="Train, evaluate and use autoencoders.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    from . import bench_cmd, data_cmd, explore_cmd, model_cmd, report_cmd, run_cmd, train_cmd, use_cmd

    for module in (data_cmd, train_cmd, run_cmd, model_cmd, report_cmd, use_cmd, explore_cmd, bench_cmd):
        module.register(sub)
    return parser


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))
