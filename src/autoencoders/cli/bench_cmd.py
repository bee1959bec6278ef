"""`ae bench`: the toolkit's trainer vs an idiomatic PyTorch loop, and both vs this machine's peak."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("bench", help="training throughput vs an idiomatic PyTorch loop and the matmul peak")
    p.add_argument("--models", help="comma-separated registered models (default: the article's)")
    p.add_argument("--epochs", type=int, default=3, help="measured epochs per loop, after one warm-up")
    p.add_argument("--data", default="mnist")
    p.add_argument("--limit", type=int, help="use the first N training samples")
    p.add_argument("--bf16", action="store_true", default=None, help="also time bf16 autocast")
    p.add_argument("-o", "--output", default="bench/RESULTS.md", help="Markdown table (JSON beside it)")
    p.set_defaults(func=_bench)


def _bench(args) -> None:
    from ..benchmark import run_suite

    models = args.models.split(",") if args.models else None
    json_path = args.output.rsplit(".", 1)[0] + ".json"
    run_suite(models, epochs=args.epochs, data=args.data, limit=args.limit, out_md=args.output,
              out_json=json_path, bf16=args.bf16)
    print(f"wrote {args.output} and {json_path}")
