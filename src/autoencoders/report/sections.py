"""The report's content: `Results` (results.py, i.e. `results.json`) turned into blocks (headings, paragraphs,
tables, figures), and docs/results.md's."""

from __future__ import annotations

from ..evaluation.quality import HIGHER_IS_BETTER
from ..presets import EXPERIMENTS
from .differences import DIFFERENCES
from .results import DatasetResult, ExperimentResult, Explorer, JPEGBaseline, Results

UNITS = ("Losses are test-set **per-pixel binary cross-entropy** (nats per pixel, the article's metric); "
         "nats per image = per-pixel BCE x pixels. BCE against grey-level targets is not a likelihood: "
         "even a perfect reconstruction scores the targets' own entropy (the *entropy floor* below), "
         "not 0. PSNR is in dB per image, averaged. Probes are test accuracies of classifiers fit on "
         "training codes (a seeded subset).")


def report_blocks(results: Results) -> list[tuple]:
    blocks: list[tuple] = [("h", 1, "Building Autoencoders in Keras — reproduced")]
    blocks.append(("p", f"Data: `{results.data}`; profile `{results.profile}`; recipes: "
                        f"{', '.join(results.recipes)}; total wall time {results.wall_seconds:.0f} s."))
    blocks.append(("code", results.command or "ae reproduce"))
    blocks += explorer_blocks(results.explorer)
    if results.summary_figure:
        blocks.append(("fig", *results.summary_figure))
    blocks += target_blocks(results)
    blocks += [("h", 2, "Results"), ("p", UNITS), ("table", *main_table(results))]
    blocks += verdict_blocks(results)
    if results.not_run:
        blocks.append(("p", "Not run (reported with `--no-train`, no finished run in the output folder): "
                            + ", ".join(results.not_run) + "."))
    blocks += baseline_blocks(results.dataset)
    for r in results.experiments:
        blocks += experiment_blocks(r, results.dataset)
    blocks += [("h", 2, "Where we differ from the article, and why"), ("list", DIFFERENCES)]
    env = results.environment
    blocks += [("h", 2, "Environment"), ("p", ", ".join(f"{k} {v}" for k, v in env.items()))]
    return blocks


def losses_to(r: ExperimentResult, dataset: DatasetResult) -> list[tuple[str, float]]:
    """The baselines a run's test BCE is worse than: the mean image, PCA and JPEG with as many
    numbers/bytes as the code (where they apply), as (name, their BCE)."""
    refs = [("the mean training image", dataset.mean_image.bce)]
    b = r.baselines
    if b:
        refs.append((f"PCA with {b.pca.components} components", b.pca.bce))
        if b.jpeg_8bit.fits:
            refs.append((f"JPEG in {r.code_numel} bytes", b.jpeg_8bit.bce))
    return [(name, bce) for name, bce in refs if r.metrics.bce > bce]


TARGET_UNITS = {"bce": "test per-pixel BCE", "psnr": "PSNR (dB) of the denoised noisy test set",
                "elbo": "test ELBO (nats per image)"}


def target_blocks(results: Results) -> list[tuple]:
    """Each run's quality target (the article's number, or our full-budget one less a margin): met
    or not, with the epochs and training seconds it took."""
    runs = [r for r in results.experiments if r.target]
    if not runs:
        return []
    header = ["experiment", "recipe", "target", "article", "ours", "met", "epochs", "train time"]
    rows = []
    for r in runs:
        t = r.target
        op = "≥" if HIGHER_IS_BETTER[t.metric] else "≤"
        rows.append([r.title, r.recipe, f"{TARGET_UNITS[t.metric]} {op} {t.value:g}", _f(r.article_loss, 3),
                     f"{t.measured:.4g}", "yes" if t.reached else "**no**", str(r.epochs), f"{r.train_seconds:.0f} s"])
    blocks = [("h", 2, "Targets"), ("table", header, rows)]
    first = next(iter(_by_recipe(runs).values()))  # the code activations of one recipe's runs
    codes = {r.key: r.metrics.code_mean for r in first}
    for exp in EXPERIMENTS:
        if exp.sparser_than and {exp.key, exp.sparser_than} <= set(codes):
            blocks.append(("p", f"Mean code activation, {exp.key} vs {exp.sparser_than}: "
                                f"{codes[exp.key]:.2f} vs {codes[exp.sparser_than]:.2f} (the article: 3.33 vs 7.30)."))
    return blocks


def main_table(results: Results):
    """One row per experiment; a recipe's column only when it was run. A loss is bold only when it
    beats every baseline that applies; one that loses to a baseline is marked (see below the table)."""
    recipes = list(results.recipes)
    header = (["experiment", "article BCE"] + [f"ours ({r} recipe)" for r in recipes]
              + ["ours, code at 8 bits", "PCA, same size", "JPEG, same bytes (8-bit code)", "mean code activation",
                 "linear probe", "k-NN probe", "epochs", "train time"])
    by_key: dict = {}
    for r in results.experiments:
        by_key.setdefault(r.key, {})[r.recipe] = r
    rows = []
    for recs in by_key.values():
        main = next(recs[rec] for rec in recipes if rec in recs)
        b, probes = main.baselines, main.probes
        rows.append([main.title, _f(main.article_loss, 3)]
                    + [_bce(recs.get(rec), results.dataset) for rec in recipes]
                    + [_f(main.bce_code_8bit), _f(b.pca.bce) if b else "does not apply",
                       _jpeg(b.jpeg_8bit) if b else "does not apply", _f(main.metrics.code_mean, 2),
                       _pct(probes and probes.linear_probe) + ("" if _converged(main) else " †"),
                       _pct(probes and probes.knn_probe), " / ".join(str(r.epochs) for r in recs.values()),
                       " / ".join(f"{r.train_seconds:.0f} s" + (f" ({r.recipe})" if len(recs) > 1 else "")
                                  for r in recs.values())])
    return header, rows


def verdict_blocks(results: Results) -> list[tuple]:
    """Say which results lose to a baseline (habit 11: worse than its baseline is said so)."""
    lines = []
    for r in results.experiments:
        worse = losses_to(r, results.dataset)
        if worse:
            lines.append(f"{r.title} ({r.recipe}): test BCE {r.metrics.bce:.4f} is worse than "
                         + ", ".join(f"{name} ({bce:.4f})" for name, bce in worse) + ".")
    blocks = []
    if lines:
        blocks += [("p", "⚠ marks a result worse than a baseline; bold marks one that beats every baseline "
                         "that applies (mean image, PCA and JPEG at the code's size):"), ("list", lines)]
    if not all(_converged(r) for r in results.experiments):
        blocks.append(("p", "† The linear probe's logistic regression stopped at its iteration limit "
                            "before converging: its accuracy is a lower bound."))
    return blocks


def baseline_blocks(d: DatasetResult) -> list[tuple]:
    rows = [["mean training image", _f(d.mean_image.bce), _db(d.mean_image.psnr), _f(d.mean_image.ssim, 3)],
            ["entropy floor (perfect reconstruction)", _f(d.entropy_floor), _db(None), "1.000"]]
    blocks = [("h", 2, "Baselines"),
              ("p", f"`{d.name}`: {d.n_train} training and {d.n_test} test images of shape {d.shape}. "
                    "A loss only means something next to these. PSNR is ∞ for an exact reconstruction."),
              ("table", ["baseline", "test BCE", "PSNR", "SSIM"], rows)]
    if d.pixel_probes:
        p = d.pixel_probes
        blocks.append(("p", f"Probes on raw pixels: linear {_pct(p.linear_probe)}, k-NN {_pct(p.knn_probe)}."))
    blocks += [("fig", path, caption) for path, caption in d.figures]
    return blocks


def experiment_blocks(r: ExperimentResult, dataset: DatasetResult) -> list[tuple]:
    m = r.metrics
    text = (f"`{r.model}`, {r.recipe} recipe: {r.optimizer} (lr {r.lr:g}), batch {r.batch_size}, "
            f"{r.epochs} epochs" + (f" on the first {r.train_limit} training images" if r.train_limit else "")
            + f". Test BCE {m.bce:.4f}, MSE {m.mse:.4f}, PSNR {_db(m.psnr)}, SSIM {_f(m.ssim, 3)}; "
            f"code of {r.code_numel} numbers, mean activation {m.code_mean:.3f}, "
            f"dead units {m.dead_units:.0%}.")
    if m.input_psnr is not None:
        text += f" The noisy input itself has PSNR {_db(m.input_psnr)}, SSIM {_f(m.input_ssim, 3)}."
    if r.likelihood:
        v = r.likelihood
        text += (f" On the first {v.n} test images: ELBO {v.elbo:.2f} nats/image, importance-weighted "
                 f"bound (k={v.k}) {v.iw_bound:.2f} ({v.bits_per_dim:.3f} bits per dimension; a Bernoulli "
                 f"likelihood of grey levels, not of the images); {v.active_units} active latent units, "
                 f"KL {v.kl:.2f} nats in all, per dimension " + ", ".join(f"{x:.2f}" for x in v.kl_per_dim) + ".")
    blocks = [("h", 3, f"{r.title} ({r.recipe})"), ("p", text)]
    worse = losses_to(r, dataset)
    if worse:
        blocks.append(("p", "⚠ **Worse than a baseline:** " + "; ".join(f"{n} scores {b:.4f}" for n, b in worse)
                            + f", against this model's {m.bce:.4f}."))
    blocks.append(("p", _baseline_text(r)))
    blocks += [("fig", path, caption) for path, caption in r.figures]
    return blocks


def _baseline_text(r: ExperimentResult) -> str:
    b = r.baselines
    if not b:
        return ("No compression baseline applies: this model's input is a noisy image and its target the clean "
                "one, which PCA or JPEG of the clean image would simply be given.")
    k = b.pca.components
    pca_size = f"{k}" if k == r.code_numel else f"all {k} (the code has more numbers than the image)"
    return (f"Same budget baselines: PCA with {pca_size} components: BCE {b.pca.bce:.4f}, "
            f"PSNR {_db(b.pca.psnr)}, SSIM {_f(b.pca.ssim, 3)}; JPEG with {4 * r.code_numel} "
            f"bytes of payload: {_jpeg(b.jpeg_float32)}; with {r.code_numel} bytes: {_jpeg(b.jpeg_8bit)} "
            f"(JPEG on the first {b.jpeg_8bit.n} test images; payload = the file less its shareable headers).")


def _by_recipe(runs: list[ExperimentResult]) -> dict[str, list[ExperimentResult]]:
    groups: dict[str, list[ExperimentResult]] = {}
    for r in runs:
        groups.setdefault(r.recipe, []).append(r)
    return groups


def _converged(r: ExperimentResult) -> bool:
    return r.probes is None or r.probes.linear_probe_converged


def _bce(r: ExperimentResult | None, dataset: DatasetResult) -> str:
    if r is None:
        return "-"
    value = f"{r.metrics.bce:.4f}"
    return f"{value} ⚠" if losses_to(r, dataset) else f"**{value}**"


def _db(x, digits: int = 1) -> str:
    """PSNR in dB; the metric caps an exact reconstruction at 100 dB, shown (as everywhere) as ∞."""
    return "∞" if x is None or x >= 100.0 else f"{x:.{digits}f} dB"


def _jpeg(j: JPEGBaseline) -> str:
    if not j.fits:
        return f"does not fit ({j.payload_bytes:.0f} B at lowest quality)"
    ssim = f", SSIM {j.ssim:.3f}" if j.ssim is not None else ""
    return f"BCE {j.bce:.4f}, PSNR {_db(j.psnr)}{ssim}"


def _f(x, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def explorer_blocks(explorer: Explorer) -> list[tuple]:
    """A link to the interactive page `ae explore` wrote beside the report, or why there is none."""
    if explorer.path:
        return [("link", explorer.path, f"Open the interactive explorer ({explorer.path}, "
                 f"{explorer.bytes / 1e6:.1f} MB; runs: {', '.join(explorer.runs)}): draw a digit, "
                 "walk the VAE's latent plane, denoise, all computed in the browser.")]
    if explorer.skipped:
        return [("p", f"No interactive explorer: {explorer.skipped}")]
    return []


def results_page_blocks(results: Results) -> list[tuple]:
    """docs/results.md: how the results were made, the targets table (each experiment's article
    number, target, ours, epochs and training time) and the results table with its baselines."""
    env = results.environment
    blocks: list[tuple] = [
        ("h", 1, "Results"),
        ("p", f"`{results.command or 'ae reproduce'}`: data `{results.data}`, profile `{results.profile}`, recipes "
              f"{', '.join(results.recipes)}; {results.wall_seconds:.0f} s of wall time in all on "
              f"{env.get('processor', '?')} ({env.get('threads', '?')} threads, torch {env.get('torch', '?')}). "
              "Generated from that run's `results.json` by `python -m autoencoders.report.results "
              "docs/results.md RESULTS_JSON`; the full report, with figures, is the run's `report.html`. "
              "[Where we differ from the article](differences.md)."),
    ]
    blocks += target_blocks(results)
    blocks += [("h", 2, "Against the baselines"), ("p", UNITS), ("table", *main_table(results))]
    blocks += verdict_blocks(results)
    if results.not_run:
        blocks.append(("p", "Not run: " + ", ".join(results.not_run) + "."))
    return blocks
