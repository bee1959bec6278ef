"""`ae reproduce`: the whole article in one command, with metrics, baselines and a report."""

from __future__ import annotations

from . import experiments, seed


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="train and evaluate the article's seven experiments; write a report")
    p.add_argument("--profile", default="demo",
                   help="demo (the recipe's budget, evaluation in seconds), full (evaluation for reported "
                        "numbers), quick (10,000 images, a smoke run), tiny")
    p.add_argument("--recipe", default="fast",
                   help="fast (one-cycle Adam, fewest epochs to the article's numbers), modern (Adam on the "
                        "article's budgets), article (its own optimizers), both (modern and article), all")
    p.add_argument("--data", default="mnist", help="dataset (default: mnist)")
    p.add_argument("--out", default="reproduce", help="output folder (runs are reused from it)")
    p.add_argument("--only", type=experiments,
                   help="comma-separated experiments: dense,sparse,deep,conv,denoise,lstm,vae")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--no-train", action="store_true",
                   help="report only the runs already finished in OUT/runs; list the others as not run")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_reproduce)


def _reproduce(args) -> None:
    from ..report.pipeline import reproduce

    results = reproduce(args.out, profile=args.profile, recipe=args.recipe, data=args.data, only=args.only,
                        seed=args.seed, quiet=args.quiet, train=not args.no_train)
    print(f"report: {args.out}/report.md and {args.out}/report.html ({results.wall_seconds:.0f} s)")
