"""`ae data fetch|info|list`: get datasets into the cache and look at them."""

from __future__ import annotations

from . import print_json


def register(sub) -> None:
    p = sub.add_parser("data", help="fetch, inspect and list datasets")
    dsub = p.add_subparsers(dest="data_command", required=True, parser_class=type(p))
    for name, func, help_ in (
        ("fetch", _fetch, "download a dataset into the cache (verified by checksum)"),
        ("info", _info, "shape, splits, value range, class counts, source, checksum status"),
    ):
        q = dsub.add_parser(name, help=help_)
        q.add_argument("name", help="mnist, fashion-mnist, digits, or a path to your own data")
        _common(q)
        q.set_defaults(func=func)
    q = dsub.add_parser("list", help="built-in and cached datasets")
    _common(q)
    q.set_defaults(func=_list)


def _common(q) -> None:
    q.add_argument("--data-dir", help="cache folder (default: $AUTOENCODERS_DATA or the XDG cache)")
    q.add_argument("--offline", action="store_true", help="never touch the network")
    q.add_argument("--json", action="store_true", help="print JSON")


def _fetch(args) -> None:
    from ..data import fetch

    path = fetch(args.name, data_dir=args.data_dir, offline=args.offline)
    print(path)


def _info(args) -> None:
    from ..data import dataset_info

    info = dataset_info(args.name, data_dir=args.data_dir, offline=args.offline)
    if args.json:
        print_json(info)
        return
    for key, value in info.items():
        print(f"{key:>14}: {value}")


def _list(args) -> None:
    from ..data import list_datasets

    rows = list_datasets(args.data_dir)
    if args.json:
        print_json(rows)
        return
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
