"""Commands that use a finished run elsewhere: `ae score` (anomaly scores) and `ae export`."""

from __future__ import annotations

import argparse
import sys

from ..fileio import write_text
from . import UsageError, add_run_argument, finite_float, load_run_arg, percentile


def register(sub) -> None:
    p = sub.add_parser("score", help="anomaly scores of INPUT: with --fpr, p-values and flags at a false-alarm rate",
                       description=(
        "Score every sample of INPUT (higher = more anomalous). With --fpr ALPHA (or --score, --calibrate) the "
        "score is a fitted detector's (default: the best in bench/ANOMALY.md, standardised reconstruction error "
        "plus the local outlier factor and Mahalanobis distance of the code), calibrated on normal data the run "
        "never trained on (its held-out --validation slice, or --calibrate DATA) and stored in the run folder "
        "(anomaly.json): writes index,score,p_value,anomaly[,label], the flags at the split-conformal threshold whose "
        "false-positive rate on new normal data is at most ALPHA. Without them: the reconstruction error. "
        "CSV to -o (.csv, or .npy: columns score, p_value, anomaly) or stdout; a summary goes to stderr."))
    add_run_argument(p)
    p.add_argument("input", help="a dataset name (digits, mnist, fashion-mnist) or a .npy/.npz file")
    p.add_argument("--split", help="split of INPUT (default: test for built-ins, train for files)")
    p.add_argument("--threshold", type=_threshold, help="'auto' (the --percentile of the run's training-set errors) "
                   "or a number: adds an `anomaly` column, 1 above it")
    p.add_argument("--percentile", type=percentile, default=99.0, help="for --threshold auto (default: 99)")
    p.add_argument("--metric", choices=("bce", "mse"), help="error per value (default: the model's loss)")
    d = p.add_argument_group("a calibrated detector")
    d.add_argument("--fpr", type=_rate, help="target false-positive rate alpha in (0, 1), e.g. 0.01 (default 0.05 "
                   "with --score or --calibrate)")
    d.add_argument("--score", dest="score_name", metavar="SCORE",
                   help="parts joined by '+', e.g. mse+lof+maha: bce, mse, knn, lof, maha, elbo, iw "
                        "(default: the stored one, else the benchmark's best)")
    d.add_argument("--calibrate", metavar="DATA", help="normal samples the run never trained on (a .npy/.npz file or "
                   "folder; its train split): recalibrate on them")
    p.add_argument("-o", "--output", help="scores file (.csv or .npy); default: stdout (CSV)")
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
    if args.fpr is not None or args.score_name or args.calibrate:
        if args.threshold is not None or args.metric:
            raise UsageError("--threshold and --metric score the reconstruction error; --fpr, --score and "
                             "--calibrate a calibrated detector: give one or the other")
        return _detect(args, run, split)
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


def _detect(args, run, split: str) -> None:
    """Scores, p-values and flags of a calibrated detector; its calibration stored in the run folder."""
    import numpy as np

    from ..errors import AutoencodersError
    from ..evaluation.detection import DEFAULT_ALPHA, DEFAULT_SCORE, has_detector
    from ..fileio import write_npy

    alpha = DEFAULT_ALPHA if args.fpr is None else args.fpr
    stored = run.detector() if has_detector(run.path) and not args.calibrate else None
    if stored is not None and args.score_name and stored.scorer.name != args.score_name:
        stored = None  # another score: fit it anew
    if stored is None:
        detector = run.calibrate(args.calibrate, score=args.score_name or DEFAULT_SCORE, alpha=alpha)
        how = f"calibrated on {detector.calibration.n} held-out samples, wrote {run.path / 'anomaly.json'}"
    else:
        try:
            detector = stored.at(alpha)
        except AutoencodersError as e:
            raise type(e)(f"{run.path / 'anomaly.json'}: {e}") from None
        how = f"calibration of {detector.calibration.n} samples in {run.path / 'anomaly.json'}"
    inputs, labels = run.clean_split(split, args.input)
    result = detector.evaluate(run.model, inputs.cpu())
    if args.output and args.output.endswith(".npy"):
        write_npy(args.output, np.stack([result["score"], result["p_value"], result["anomaly"]], 1))
    else:
        table = _detector_csv(result, None if labels is None else labels.numpy())
        write_text(args.output, table) if args.output else sys.stdout.write(table)
    flagged = int(result["anomaly"].sum())
    print(f"{len(inputs)} samples of {args.input} ({split}), score {detector.scorer.name}: threshold "
          f"{detector.calibration.threshold:.6g} at alpha {alpha:g} ({how}): {flagged} flagged "
          f"({100 * flagged / max(1, len(inputs)):.1f}%)" + (f"; wrote {args.output}" if args.output else ""),
          file=sys.stderr)


def _detector_csv(result: dict, labels) -> str:
    rows = ["index,score,p_value,anomaly" + (",label" if labels is not None else "")]
    for i, (s, p, a) in enumerate(zip(result["score"], result["p_value"], result["anomaly"])):
        rows.append(f"{i},{s:.9g},{p:.9g},{int(a)}" + (f",{int(labels[i])}" if labels is not None else ""))
    return "\n".join(rows) + "\n"


def _rate(text: str) -> float:
    """An argparse type: a false-positive rate strictly between 0 and 1."""
    value = finite_float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a rate in (0, 1), e.g. 0.01; got {text}")
    return value


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
    from ..evaluation.detection import anomaly_metadata
    from ..export import export_model

    run = load_run_arg(args)
    path = export_model(run, args.output, part=args.part, format=args.format, metadata=anomaly_metadata(run.path))
    print(path)
