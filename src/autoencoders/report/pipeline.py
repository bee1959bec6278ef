"""`ae reproduce`: train, evaluate and draw each of the article's experiments, then write the report.

Finished runs in the output folder are reused and interrupted ones resumed, so an interrupted
reproduce continues where it stopped. Everything a report shows is in `results.json` (results.py).
"""

from __future__ import annotations

import math
import platform
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..api import Run, is_finished, train
from ..evaluation.metrics import bce, quantize_codes
from ..evaluation.probes import probes
from ..evaluation.quality import HIGHER_IS_BETTER, meets, quality
from ..presets import (
    TARGET_DATA,
    Experiment,
    Profile,
    Recipe,
    epochs_for,
    get_profile,
    recipes_named,
    run_config,
    run_path,
    select,
)
from .data_baselines import DataBaselines
from .figures import experiment_figures, summary_figure
from .progress import ReproduceProgress, epoch_cost
from .results import DatasetResult, ExperimentResult, Explorer, Likelihood, Metrics, Probes, Results, TargetResult


def reproduce(out="reproduce", *, profile: str | Profile = "demo", recipe: str | Recipe = "fast",
              data: str = "mnist", only: str | None = None, seed: int = 0, quiet: bool = False,
              train: bool = True) -> Results:
    """Run the selected experiments under one recipe (or `both`) and write report.md/.html in `out`.

    `recipe` and `profile` are names (presets.RECIPES, RECIPE_SETS, PROFILES) or your own objects.
    With `train=False` only runs already finished in `out/runs` are reported; the others are listed
    as not run (a report of what a long reproduction has finished so far).
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    recipes = (recipe,) if isinstance(recipe, Recipe) else recipes_named(recipe)
    experiments = select(only)
    for r in recipes:  # fail on a bad recipe or model before any training starts
        [run_config(e, r, prof, data, seed) for e in experiments]
    out = Path(out)
    start, env, not_run = time.perf_counter(), environment(), []
    jobs = [(e, r) for r in recipes for e in experiments]
    if not train:
        finished = [(e, r) for e, r in jobs
                    if is_finished(run_config(e, r, prof, data, seed), run_path(out, r, e))]
        not_run = [f"{r.name} {e.key}" for e, r in jobs if (e, r) not in finished]
        jobs = finished
    data_baselines = DataBaselines(data, seed)  # the splits, loaded once; their baselines cached beside them
    progress = ReproduceProgress({f"{r.name} {e.key}": (epochs_for(e, prof, r), _cost(e, prof, data_baselines.train))
                                  for e, r in jobs}, quiet=quiet)
    rows: list[ExperimentResult] = []
    first = []  # one set of models for the summary and the explorer, the first recipe's: (exp, recipe, row, Run)
    try:
        progress.phase("baselines of the data")
        dataset = data_baselines.section(prof, out)
        for exp, rec in jobs:
            row, run = run_experiment(exp, rec, prof, data, out, seed, dataset, progress, data_baselines)
            rows.append(row)
            if rec == recipes[0]:
                run.forget()  # its splits and test-set pass: the summary and the explorer need little of them
                first.append((exp, rec, row, run))
            if not quiet:
                tqdm.write(_progress_line(rows[-1]))
        progress.phase("summary figure")
        summary = _summary(first, dataset, out, data_baselines.test)
        progress.phase("explorer page")
        explorer = explorer_section(out, [(e, r) for e, r, _, _ in first], [run for *_, run in first])
    finally:
        progress.close()
    results = Results(profile=prof.name, data=data, recipes=[r.name for r in recipes], command=" ".join(sys.argv),
                      environment=env, dataset=dataset, experiments=rows, not_run=not_run, summary_figure=summary,
                      explorer=explorer, wall_seconds=round(time.perf_counter() - start, 1))
    results.write(out / "results.json")
    from .render import write_report

    write_report(results, out)
    return results


def explorer_section(out: Path, jobs: list, runs: list[Run] | None = None) -> Explorer:
    """`out/explorer.html` for the first recipe's runs (fast, or modern of `both`: one set of models
    keeps the page light). Without the ONNX exporter installed it is skipped, and the report says why.
    runs : the jobs' Runs where they are loaded already."""
    from ..errors import ConfigError
    from ..explore import explore

    if not jobs:
        return Explorer(skipped="no finished run")
    try:
        page = explore([run_path(out, r, e) for e, r in jobs], out / "explorer.html",
                       title="Building Autoencoders in Keras — explorer", runs=runs)
    except ConfigError as e:
        return Explorer(skipped=str(e))
    return Explorer(path="explorer.html", bytes=page["bytes"], runs=page["runs"], skipped_runs=page["skipped"])


def run_experiment(exp: Experiment, recipe: Recipe, prof: Profile, data: str, out: Path, seed: int,
                   dataset: DatasetResult, progress: ReproduceProgress | None = None,
                   data_baselines: DataBaselines | None = None) -> tuple[ExperimentResult, Run]:
    """Train (or reuse) one experiment's run, then measure it and draw its figures: (its result, the Run).

    `data_baselines` gives the same-size baselines (PCA, JPEG), computed once per dataset.
    """
    config = run_config(exp, recipe, prof, data, seed)
    if progress is not None:
        progress.start(f"{recipe.name} {exp.key}")
    run = train(config, out=run_path(out, recipe, exp), resume="auto", quiet=True,
                progress=progress.hook if progress is not None else None)
    if progress is not None:
        progress.done()
    metrics = Metrics.from_evaluation(run.evaluate("test"))
    code = code_section(run, prof, seed)
    likelihood = likelihood_section(run, prof, seed)
    target = target_section(run, exp, seed) if data == TARGET_DATA else None
    # a denoiser's target is the clean image: PCA or JPEG of that image would be given the answer
    noisy = run.denoises
    matched = None
    if not noisy:
        data_baselines = data_baselines if data_baselines is not None else DataBaselines(data, seed)
        matched = data_baselines.matched(code["code_numel"], prof)
    return ExperimentResult(
        key=exp.key, title=exp.title, recipe=recipe.name, model=exp.model, article_loss=exp.article_loss,
        epochs=config.train.epochs, batch_size=config.train.batch_size, optimizer=config.train.optimizer,
        lr=config.train.learning_rate, train_limit=config.data.limit,
        train_seconds=round(sum(r["seconds"] for r in run.history), 1), metrics=metrics, history=run.history,
        **code, likelihood=likelihood, target=target, baselines=matched,
        figures=experiment_figures(run, exp, recipe.name, out / "figures", prof, seed)), run


def target_section(run: Run, exp: Experiment, seed: int) -> TargetResult | None:
    """The experiment's quality target (presets.py) measured on the whole test split,
    as `ae bench --to-quality` measures it (evaluation/quality.py), on the test split's
    reconstructions that Run.evaluate scored (`Run.outputs`)."""
    if exp.target is None:
        return None
    inputs, targets, _ = run.split("test")
    value = quality(run.model, inputs, targets, exp.target.metric, seed=seed, recon=run.outputs("test").recon)
    return TargetResult(metric=exp.target.metric, value=exp.target.value, measured=value,
                        reached=meets(value, exp.target.metric, exp.target.value))


def _summary(first: list, dataset: DatasetResult, out: Path, test):
    """The summary figure from the first recipe's runs ([(experiment, recipe, its result, its Run)]), one row each."""
    rows = [(_summary_label(row, dataset), run) for _, _, row, run in first]
    if not rows:
        return None
    return summary_figure(rows, test.images, out / "figures")


def _summary_label(r: ExperimentResult, dataset: DatasetResult) -> str:
    from .sections import losses_to

    worse = losses_to(r, dataset)
    return f"{r.key}: test BCE {r.metrics.bce:.4f}" + (f"  ⚠ worse than {worse[0][0]}" if worse else "")


def _cost(exp: Experiment, prof: Profile, train) -> float:
    """One epoch's work for the progress bar: training samples x forward FLOPs per sample."""
    shape = tuple(train.images.shape[1:])
    shape = shape[1:] if exp.data.get("as_sequence") else shape  # (1, H, W) read as H steps of W
    n = min(len(train), prof.limit) if prof.limit else len(train)
    return epoch_cost(exp.model, exp.options, shape, n)


def code_section(run: Run, prof: Profile, seed: int) -> dict:
    """Code size, the loss with codes stored at 8 bits, and probe accuracies (linear and k-NN) on a
    seeded subset of training codes (None without labels): ExperimentResult's fields of those names."""
    train_in, _, train_y = run.split("train")
    test_in, test_target, test_y = run.split("test")
    z_test = run.outputs("test").codes  # the codes Run.evaluate measured
    recon_8bit = run.decode(quantize_codes(z_test, bits=8)).clamp(1e-7, 1 - 1e-7)
    out = {"code_numel": int(z_test[0].numel()), "bce_code_8bit": bce(recon_8bit, test_target.cpu()), "probes": None}
    if train_y is None or test_y is None:
        return out
    rows = torch.randperm(len(train_in), generator=torch.Generator().manual_seed(seed))[: prof.probe_samples]
    out["probes"] = Probes(**probes(run.encode(train_in[rows]), train_y[rows], z_test, test_y))
    return out


def likelihood_section(run: Run, prof: Profile, seed: int) -> Likelihood | None:
    """VAEs only: test ELBO and the importance-weighted bound (nats per image) on a test subset."""
    from ..evaluation.likelihood import is_variational, likelihood_report

    if not is_variational(run.model):
        return None
    inputs, _, _ = run.split("test")
    report = likelihood_report(run.model, inputs[: prof.iw_images], k=prof.iw_k, seed=seed)
    return Likelihood(**{k: report[k] for k in ("elbo", "iw_bound", "k", "n", "active_units", "kl", "kl_per_dim")},
                      bits_per_dim=-report["iw_bound"] / (inputs[0].numel() * math.log(2)))


def environment() -> dict:
    import numpy
    import sklearn

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__, "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(), "threads": torch.get_num_threads()}


def _progress_line(r: ExperimentResult) -> str:
    m, t = r.metrics, r.target
    target = ""
    if t:
        op = ">=" if HIGHER_IS_BETTER[t.metric] else "<="
        target = f"  target {t.metric} {op} {t.value:g}: {t.measured:.4g} {'met' if t.reached else 'NOT MET'}"
    return (f"{r.recipe:>7} {r.key:<8} test BCE {m.bce:.4f} (article {r.article_loss or '-'})"
            f"  PSNR {m.psnr:.1f} dB{target}  {r.epochs} epochs  {r.train_seconds:.0f}s")
