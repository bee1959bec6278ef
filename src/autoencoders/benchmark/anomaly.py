"""`ae bench --anomaly`: the one-class protocol (Ruff et al. 2018), our scores against classical baselines.

For each class c and seed: the training images of class c are the normal data; a seeded 10% of
them is held out as calibration data (never trained on), the net trains on the other 90% with
`presets.ANOMALY`; the whole test set is scored, normal = class c, anomalous = the other classes. Every
score of evaluation/detection.py and the baselines (fitted on the same 90%, pixels flattened) are
measured on the same split in the same process: ROC AUC and average precision (anomalies
positive), and for the scores the realised false-positive rate on the test set's normal class of
the conformal threshold at alpha 0.05 and 0.01 (calibrated on the second half of the held-out
slice; the first half standardises the combined scores). OneClassSVM and LocalOutlierFactor fit
on a seeded subsample of `SUBSAMPLE` training images (their fit grows quadratically); the table
says so. Net, recipe and default score are chosen on MNIST and applied unchanged elsewhere.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict

import numpy as np
import torch

from ..api import train
from ..data import load_dataset
from ..evaluation.detection import DEFAULT_SCORE, Calibration, fit_scorer, min_calibration
from ..fileio import write_json, write_text
from ..presets import ANOMALY, AnomalyRecipe
from ..registry import create_model

CALIBRATION = ANOMALY.calibration  # of each class's training images, held out (presets.ANOMALY)
SUBSAMPLE = 2000  # training images for OneClassSVM and LOF
ALPHAS = (0.05, 0.01)
SCORES = ("bce", "mse", "knn", "lof", "maha", "mse+maha", "mse+knn+maha", "mse+lof", "mse+lof+maha",
          "mse+knn+lof+maha")
BASELINES = ("pca-32", "knn-pixels", "isolation-forest", "ocsvm", "lof")
PUBLISHED = (  # quoted from the papers, not measured here
    ("Deep SVDD (Ruff et al. 2018, ICML, \"Deep One-Class Classification\")", {"mnist": 0.948}),
    ("OCGAN (Perera et al. 2019, CVPR, \"OCGAN: One-class novelty detection using GANs with constrained "
     "latent representations\")", {"mnist": 0.975}),
    ("GEOM (Golan & El-Yaniv 2018, NeurIPS, \"Deep Anomaly Detection Using Geometric Transformations\")",
     {"mnist": 0.980, "fashion-mnist": 0.935}),
)




def _metrics(normal: np.ndarray, anomalous: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
    scores = np.r_[normal, anomalous]
    return {"auroc": float(roc_auc_score(labels, scores)), "auprc": float(average_precision_score(labels, scores))}


def baseline_scores(train: np.ndarray, test: np.ndarray, seed: int) -> dict:
    """name -> (N,) anomaly scores (higher = more anomalous) of each baseline, pixels flattened."""
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor
    from sklearn.svm import OneClassSVM

    rng = np.random.default_rng(seed)
    sub = train[rng.permutation(len(train))[:SUBSAMPLE]]
    pca = PCA(32, random_state=seed).fit(train)
    recon = pca.inverse_transform(pca.transform(test))
    knn = torch.cat([torch.cdist(c, torch.tensor(train)).min(1).values for c in torch.tensor(test).split(1024)])
    return {
        "pca-32": ((recon - test) ** 2).mean(1),
        "knn-pixels": knn.double().numpy(),
        "isolation-forest": -IsolationForest(random_state=seed).fit(train).score_samples(test),
        "ocsvm": -OneClassSVM(gamma="scale", nu=0.1).fit(sub).score_samples(test),
        "lof": -LocalOutlierFactor(novelty=True).fit(sub).score_samples(test),
    }


def one_class(data: str, cls: int, seed: int, recipe: AnomalyRecipe = ANOMALY, log=print) -> dict:
    """Train on class `cls` of `data`, score its test set: every score and baseline."""
    tr, te = load_dataset(data, "train"), load_dataset(data, "test")
    normal = tr.images[tr.labels == cls].float()
    perm = torch.randperm(len(normal), generator=torch.Generator().manual_seed(seed))
    n_cal = int(round(len(normal) * recipe.calibration))
    fit, cal = normal[perm[n_cal:]], normal[perm[:n_cal]]
    held, rest = cal[: n_cal // 2], cal[n_cal // 2 :]
    torch.manual_seed(seed)
    model = create_model(recipe.model, tuple(normal.shape[1:]))
    start = time.perf_counter()
    options = recipe.train_options()
    train(model, data=fit, seed=seed, quiet=True, **options)
    seconds = time.perf_counter() - start
    parts = sorted({p for s in SCORES for p in s.split("+")})
    scorer = fit_scorer(model, fit, held, score="+".join(parts))
    raw_test, raw_cal = scorer.raw(model, te.images), scorer.raw(model, rest)
    is_normal = (te.labels == cls).numpy()
    row = {"class": cls, "seed": seed, "train_seconds": round(seconds, 1), "n_train": len(fit), "n_cal": len(rest),
           "scores": {}, "baselines": {}}
    for name in SCORES:
        s = scorer.select(name)
        test, calib = s.combine(raw_test), s.combine(raw_cal)
        result = _metrics(test[is_normal], test[~is_normal])
        for alpha in ALPHAS:  # None where too few held-out samples (a small data set)
            result[f"fpr@{alpha:g}"] = (float(Calibration.fit(name, calib, alpha).flags(test[is_normal]).mean())
                                        if len(calib) >= min_calibration(alpha) else None)
        row["scores"][name] = result
    start = time.perf_counter()
    flat_fit, flat_test = fit.flatten(1).numpy().astype(np.float64), te.images.flatten(1).numpy().astype(np.float64)
    for name, s in baseline_scores(flat_fit, flat_test, seed).items():
        row["baselines"][name] = _metrics(s[is_normal], s[~is_normal])
    row["baseline_seconds"] = round(time.perf_counter() - start, 1)
    log(f"{data} class {cls} seed {seed}: trained {seconds:.0f} s; " + ", ".join(
        f"{k} {v['auroc']:.3f}" for k, v in {**row["scores"], **row["baselines"]}.items()))
    return row


def run_anomaly(data: str = "mnist", classes=None, seeds: int = 1, *, out_md="bench/ANOMALY.md",
                recipe: AnomalyRecipe = ANOMALY, log=print) -> dict:
    """Every (seed, class); the Markdown and JSON rewritten after each, so an interruption keeps the rest."""
    classes = list(range(10)) if classes is None else list(classes)
    result = {"data": data, "recipe": asdict(recipe), "default_score": DEFAULT_SCORE, "calibration": recipe.calibration,
              "subsample": SUBSAMPLE, "started": time.strftime("%Y-%m-%d %H:%M"),
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              "cpu": platform.processor() or platform.machine(), "rows": []}
    out_json = str(out_md).rsplit(".", 1)[0] + ".json"
    for seed in range(seeds):
        for cls in classes:
            result["rows"].append(one_class(data, cls, seed, recipe, log))
            write_json(out_json, result)
            write_text(out_md, to_markdown(result))
    return result


def _mean(rows, group, name, key):
    return float(np.mean([r[group][name][key] for r in rows]))


def _rate(rows, score, alpha) -> str:
    values = [row["scores"][score][f"fpr@{alpha:g}"] for row in rows]
    return "-" if None in values else f"{100 * np.mean(values):.1f}%"


def to_markdown(r: dict) -> str:
    rows, data = r["rows"], r["data"]
    seeds = sorted({row["seed"] for row in rows})
    classes = sorted({row["class"] for row in rows})
    columns = [("scores", s) for s in SCORES] + [("baselines", b) for b in BASELINES]
    label = lambda g, n: f"**{n}**" if n == r["default_score"] else (n if g == "scores" else f"_{n}_")  # noqa: E731
    rec = r["recipe"]
    lines = [f"# Anomaly detection, one-class {data}", "",
             f"Generated by `ae bench --anomaly --data {data} --seeds {len(seeds)}` "
             f"(started {r['started']}, {r['threads']} threads, torch {r['torch']}, {r['cpu']}).", "",
             f"Protocol: train on one class's training images ({100 * (1 - r['calibration']):.0f}%; "
             f"{100 * r['calibration']:.0f}% held out for calibration), score the whole test set, normal = that class. "
             f"Net `{rec['model']}`, {rec['epochs']} epochs, batch {rec['batch_size']}, lr {rec['lr']}, "
             f"{rec['schedule']}" + (f", noise {rec['noise']}" if rec.get("noise") else "") + ". "
             f"Our scores are plain; baselines in _italics_ (scikit-learn on raw pixels, fitted on the same "
             f"images; OneClassSVM and LOF on a random {r['subsample']} of them). Bold: the default score.", ""]
    for metric in ("auroc", "auprc"):
        lines += [f"## {metric.upper()} per class (mean over seeds {', '.join(map(str, seeds))})", "",
                  "| class | " + " | ".join(label(g, n) for g, n in columns) + " |",
                  "|---|" + "---|" * len(columns)]
        for c in classes:
            rs = [row for row in rows if row["class"] == c]
            lines.append(f"| {c} | " + " | ".join(f"{_mean(rs, g, n, metric):.3f}" for g, n in columns) + " |")
        lines.append("| **mean** | " + " | ".join(f"**{_mean(rows, g, n, metric):.3f}**" for g, n in columns) + " |")
        lines.append("")
    lines += ["## Realised false-positive rate on the test set's normal class (conformal threshold)", "",
              "| class | train s | " + " | ".join(f"{s} @{a:g}" for s in ("mse", r["default_score"]) for a in ALPHAS)
              + " |", "|---|---|" + "---|" * 2 * len(ALPHAS)]
    for c in classes:
        rs = [row for row in rows if row["class"] == c]
        lines.append(f"| {c} | {np.mean([x['train_seconds'] for x in rs]):.0f} | " + " | ".join(
            _rate(rs, s, a) for s in ("mse", r["default_score"]) for a in ALPHAS) + " |")
    lines += ["", "Mean over classes, every score:", "",
              "| score | " + " | ".join(f"FPR @{a:g}" for a in ALPHAS) + " |",
              "|---|" + "---|" * len(ALPHAS)]
    lines += [f"| {s} | " + " | ".join(_rate(rows, s, a) for a in ALPHAS) + " |" for s in SCORES]
    lines += ["", "## Published (quoted from the papers, not measured here)", "",
              "| method | mean AUROC |", "|---|---|"]
    lines += [f"| {name} | {values[data]:.3f} |" for name, values in PUBLISHED if data in values]
    return "\n".join(lines) + "\n"
