"""`ae explore`: one self-contained HTML page where runs reconstruct, decode and denoise live."""

from __future__ import annotations

import sys

from . import add_run_argument


def register(sub) -> None:
    p = sub.add_parser("explore", help="an interactive page: draw digits, move through the latent space", description=(
        "Write one self-contained HTML page (opens from file://, fetches nothing) where the runs' "
        "ONNX-exported encoders and decoders run in the browser (onnxruntime-web, vendored): a "
        "drawing pad with every run's reconstruction, code, error map and anomaly score; the 2-D "
        "latent plane decoded live; sliders along main code directions; a noise slider for denoising runs."))
    add_run_argument(p, many=True)
    p.add_argument("-o", "--output", default="explorer.html", help="page to write (default: explorer.html)")
    p.add_argument("--title", default="Autoencoder explorer", help="the page's title")
    p.set_defaults(func=_explore)


def _explore(args) -> None:
    from ..explore import explore

    result = explore(args.runs, args.output, title=args.title, trust_module=args.trust_module)
    for s in result["skipped"]:
        print(f"skipped {s['name']}: {s['reason']}", file=sys.stderr)
    print(f"{result['path']} ({result['bytes'] / 1e6:.1f} MB): {', '.join(result['runs'])}")
