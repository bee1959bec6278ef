"""`ae bench`: the toolkit's trainer vs an idiomatic PyTorch loop, and both vs this machine's peak."""

from __future__ import annotations

import argparse

from . import experiments, nonnegative_int, positive_float, positive_int, recipe_list


def register(sub) -> None:
    p = sub.add_parser("bench", help="training throughput vs an idiomatic PyTorch loop and the matmul peak")
    p.add_argument("--models", help="comma-separated registered models (default: the article's)")
    p.add_argument("--epochs", type=positive_int, default=3, help="measured epochs per loop, after one warm-up")
    p.add_argument("--data", default="mnist")
    p.add_argument("--limit", type=positive_int, help="use the first N training samples")
    p.add_argument("--bf16", action="store_true", default=None, help="also time bf16 autocast")
    p.add_argument("-o", "--output", help="Markdown table, JSON beside it (default: bench/RESULTS.md, "
                                          "or bench/TO_QUALITY.md with --to-quality)")
    q = p.add_argument_group("time to quality (the headline speed figure)")
    q.add_argument("--to-quality", action="store_true",
                   help="seconds until each experiment's test metric reaches its target, per recipe")
    q.add_argument("--recipes", type=recipe_list, default="fast,modern,article",
                   help="comma-separated recipes to compare (or the sets both, all), each once")
    q.add_argument("--only", type=experiments,
                   help="comma-separated experiments: dense,sparse,deep,conv,denoise,lstm,vae")
    q.add_argument("--max-seconds", type=positive_float, default=600.0,
                   help="give up on a modern or article run after this much training time (default: 600); "
                        "the fast recipe runs its own budget")
    a = p.add_argument_group("anomaly detection (the one-class protocol, bench/ANOMALY.md)")
    a.add_argument("--anomaly", action="store_true", help="train on one class, score the test set: our scores "
                   "against PCA, kNN, IsolationForest, OneClassSVM and LOF (--data mnist or fashion-mnist)")
    a.add_argument("--classes", type=_classes, help="comma-separated classes (default: all ten)")
    a.add_argument("--seeds", type=positive_int, default=1, help="seeds 0..N-1 (default: 1)")
    a.add_argument("--figures", default="docs/figures", help="folder for the figures of one class at seed 0 "
                   "(default: docs/figures, where docs/anomaly.md shows them)")
    p.set_defaults(func=_bench)


def _bench(args) -> None:
    if args.to_quality:
        return _to_quality(args)
    if args.anomaly:
        return _anomaly(args)
    from ..benchmark import run_suite

    args.output = args.output or "bench/RESULTS.md"
    models = args.models.split(",") if args.models else None
    json_path = args.output.rsplit(".", 1)[0] + ".json"
    run_suite(models, epochs=args.epochs, data=args.data, limit=args.limit, out_md=args.output,
              out_json=json_path, bf16=args.bf16)
    print(f"wrote {args.output} and {json_path}")


def _to_quality(args) -> None:
    from ..benchmark.to_quality import run_to_quality
    from ..presets import recipes_listed

    recipes = recipes_listed(args.recipes)
    output = args.output or "bench/TO_QUALITY.md"
    run_to_quality(args.only, recipes, data=args.data, max_seconds=args.max_seconds, out_md=output)
    print(f"wrote {output} and {output.rsplit('.', 1)[0]}.json")


def _anomaly(args) -> None:
    from ..benchmark.anomaly import run_anomaly

    output = args.output or ("bench/ANOMALY.md" if args.data == "mnist" else f"bench/ANOMALY_{args.data}.md")
    run_anomaly(args.data, args.classes, args.seeds, out_md=output, figures=args.figures)
    print(f"wrote {output} and {output.rsplit('.', 1)[0]}.json, figures in {args.figures}")


def _classes(text: str) -> tuple[int, ...]:
    """Comma-separated class labels, e.g. 0,3,8: non-negative integers."""
    try:
        return tuple(nonnegative_int(item.strip()) for item in text.split(","))
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"--classes takes comma-separated labels, e.g. 0,3,8: {e}") from None
