"""Commands that use a finished run elsewhere: `ae score` (anomaly scores) and `ae export`."""

from __future__ import annotations

import argparse
import sys

from ..fileio import write_text
from . import add_run_argument, finite_float, load_run_arg, percentile


def register(sub) -> None:
    p = sub.add_parser("score", help="anomaly scores: per-sample reconstruction error of INPUT", description=(
        "Score every sample of INPUT by its reconstruction error (higher = more anomalous). "
        "Writes CSV (index,score[,label][,anomaly]) to -o or stdout; a summary goes to stderr."))
    add_run_argument(p)
    p.add_argument("input", help="a dataset name (digits, mnist, fashion-mnist) or a .npy/.npz file")
    p.add_argument("--split", help="split of INPUT (default: test for built-ins, train for files)")
    p.add_argument("--threshold", type=_threshold, help="'auto' (the --percentile of the run's training-set errors) "
                   "or a number: adds an `anomaly` column, 1 above it")
    p.add_argument("--percentile", type=percentile, default=99.0, help="for --threshold auto (default: 99)")
    p.add_argument("--metric", choices=("bce", "mse"), help="error per value (default: the model's loss)")
    p.add_argument("-o", "--output", help="scores file (.csv); default: stdout")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=_score)
    p = sub.add_parser("export", help="a run's encoder, decoder or autoencoder as ONNX or TorchScript")
    add_run_argument(p)
    p.add_argument("--format", choices=("onnx", "torchscript"), help="default: from -o's suffix (.onnx, .pt)")
    p.add_argument("--part", choices=("encoder", "decoder", "autoencoder"), default="autoencoder",
                   help="encoder: x -> z; decoder: z -> probabilities; autoencoder: x -> probabilities")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.set_defaults(func=_export)


def _score(args) -> None:
    from ..data.datasets import BUILTINS
    from ..evaluation.anomaly import dataset_errors, threshold_from_scores

    run = load_run_arg(args)
    split = args.split or ("test" if args.input in BUILTINS else "train")
    scores, labels = dataset_errors(run, args.input, split, metric=args.metric)
    threshold, how = None, ""
    if args.threshold == "auto":
        train_scores, _ = dataset_errors(run, None, "train", metric=args.metric)
        threshold = threshold_from_scores(train_scores, args.percentile)
        how = f" ({args.percentile:g}th percentile of {len(train_scores)} training errors)"
    elif args.threshold is not None:
        threshold = args.threshold
    table = _csv(scores, None if labels is None else labels.numpy(), threshold)
    if args.output:
        write_text(args.output, table)
    else:
        sys.stdout.write(table)
    summary = f"{len(scores)} samples of {args.input} ({split}): mean score {scores.mean():.5f}"
    if threshold is not None:
        flagged = int((scores > threshold).sum())
        summary += f"; threshold {threshold:.5f}{how}: {flagged} flagged ({100 * flagged / len(scores):.1f}%)"
    print(summary + (f"; wrote {args.output}" if args.output else ""), file=sys.stderr)


def _threshold(text: str):
    """An argparse type: 'auto', or a finite number (nan would flag nothing, -inf everything)."""
    if text == "auto":
        return text
    try:
        return finite_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a finite number, got {text!r}") from None


def _csv(scores, labels, threshold) -> str:
    header = ["index", "score"] + (["label"] if labels is not None else []) + (
        ["anomaly"] if threshold is not None else [])
    rows = [",".join(header)]
    for i, score in enumerate(scores):
        row = [str(i), f"{score:.9g}"]
        if labels is not None:
            row.append(str(int(labels[i])))
        if threshold is not None:
            row.append(str(int(score > threshold)))
        rows.append(",".join(row))
    return "\n".join(rows) + "\n"


def _export(args) -> None:
    from ..export import export_model

    path = export_model(load_run_arg(args), args.output, part=args.part, format=args.format)
    print(path)
