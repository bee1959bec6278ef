"""Commands on a finished run: evaluate, reconstruct, encode."""

from __future__ import annotations

import sys

from ..fileio import write_json, write_npy
from . import UsageError, add_run_argument, load_run_arg, positive_int, print_json


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="test metrics of a run: BCE, MSE, PSNR, code activation")
    _run_args(p)
    p.add_argument("--json", action="store_true", help="print JSON (also written to RUN/metrics.json)")
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("reconstruct", help="originals over reconstructions (figure) and/or all as .npy")
    _run_args(p)
    p.add_argument("--n", type=positive_int, default=10, help="images in the figure")
    p.add_argument("-o", "--output", help="figure file (.png, .pdf, .svg)")
    p.add_argument("--npy", help="write every reconstruction of the split as (N, C, H, W) float32")
    p.set_defaults(func=_reconstruct)
    p = sub.add_parser("encode", help="codes of every sample of a split, in dataset order")
    _run_args(p)
    p.add_argument("-o", "--output", required=True, help="codes file (.npy, .csv, .parquet)")
    p.add_argument("--format", choices=("npy", "csv", "parquet"),
                   help="default: from -o's suffix; csv and parquet hold columns z0..z{k-1}")
    p.set_defaults(func=_encode)


def _run_args(p) -> None:
    add_run_argument(p)
    p.add_argument("--split", default="test", help="train or test (default: test)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")


def _evaluate(args) -> None:
    run = load_run_arg(args)
    metrics = run.evaluate(args.split)
    try:
        write_json(run.path / "metrics.json", metrics)
        unsaved = None
    except OSError as e:  # a read-only run is still worth evaluating: print, and say it was not kept
        unsaved = f"note: metrics not saved: cannot write {run.path / 'metrics.json'} ({e.strerror or e})"
    if args.json:
        print_json(metrics)
    else:
        for key, value in metrics.items():
            print(f"{key:>20}: {value:.5f}" if isinstance(value, float) else f"{key:>20}: {value}")
    if unsaved:
        print(unsaved, file=sys.stderr)


def _reconstruct(args) -> None:
    from ..viz import reconstruction_figure, save_figure

    if not (args.output or args.npy):
        raise UsageError("give -o FIGURE and/or --npy FILE")
    run = load_run_arg(args)
    inputs, targets, _ = run.split(args.split)
    if args.output:
        n = min(args.n, len(inputs))
        clean = targets[:n].cpu() if run.denoises else None  # a denoiser's input is the noisy image
        save_figure(reconstruction_figure(inputs[:n].cpu(), run.reconstruct(inputs[:n]), clean, n=n), args.output)
        print(args.output)
    if args.npy:
        write_npy(args.npy, run.reconstruct(inputs).numpy().astype("float32"))
        print(args.npy)


def _encode(args) -> None:
    from ..export import save_table

    run = load_run_arg(args)
    inputs, _, _ = run.split(args.split)
    save_table(args.output, run.encode(inputs).numpy(), format=args.format)
    print(args.output)
