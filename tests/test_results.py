"""`results.json` is written from typed dataclasses (report/results.py) and read back, validated, as
the same object; docs/results.md is such a file as a page, generated and checked current as
docs/differences.md is."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autoencoders.errors import DataError
from autoencoders.report import results as results_module
from autoencoders.report.results import (
    Baselines,
    DatasetResult,
    ExperimentResult,
    Explorer,
    JPEGBaseline,
    Likelihood,
    Metrics,
    PCABaseline,
    Probes,
    Quality,
    Results,
    TargetResult,
)

ROOT = Path(__file__).resolve().parents[1]


def _metrics(bce: float, **extra) -> Metrics:
    return Metrics(split="test", n=10000, model="dense", loss=bce, terms={"recon": bce}, bce=bce, mse=0.01,
                   psnr=20.9, ssim=0.91, code_mean=6.3, code_abs_mean=6.3, dead_units=0.0, near_zero_fraction=0.1,
                   **extra)


def _results() -> Results:
    """A results.json's worth of every kind of field: baselines, probes, a target, a VAE's bounds."""
    probes = Probes(linear_probe=0.898, linear_probe_converged=False, knn_probe=0.942)
    jpeg = dict(mse=0.03, psnr=15.2, ssim=0.7, n=1000, payload_bytes=31.5, file_bytes=340.0)
    baselines = Baselines(pca=PCABaseline(bce=0.1174, mse=0.02, psnr=18.0, ssim=0.8, components=32, probes=probes),
                          jpeg_float32=JPEGBaseline(bce=0.11, over_budget=0.0, **jpeg),
                          jpeg_8bit=JPEGBaseline(bce=0.1235, over_budget=0.0, **jpeg))
    dense = ExperimentResult(
        key="dense", title="Shallow dense 784-32-784", recipe="fast", model="dense", article_loss=0.1, epochs=2,
        batch_size=128, optimizer="adam", lr=0.01, train_limit=None, train_seconds=12.3, metrics=_metrics(0.0941),
        history=[{"epoch": 1, "seconds": 6.1, "train": {"loss": 0.2}}], code_numel=32, bce_code_8bit=0.0942,
        probes=probes, target=TargetResult(metric="bce", value=0.1, measured=0.0941, reached=True),
        baselines=baselines, figures=[("figures/fast-dense-curves.png", "Training and validation loss")])
    vae = dataclasses.replace(
        dense, key="vae", title="Variational, 2-D latent", model="vae", article_loss=None, epochs=16,
        metrics=_metrics(0.19, input_psnr=None), baselines=None, probes=None,
        target=TargetResult(metric="elbo", value=-153.0, measured=-155.2, reached=False),
        likelihood=Likelihood(elbo=-155.2, iw_bound=-150.1, k=500, n=1000, bits_per_dim=0.276, active_units=2,
                              kl=6.9, kl_per_dim=[3.4, 3.5]))
    dataset = DatasetResult(name="mnist", n_train=60000, n_test=10000, shape=[1, 28, 28],
                            mean_image=Quality(bce=0.2640, mse=0.067, psnr=11.8, ssim=0.2), entropy_floor=0.0817,
                            pixel_probes=Probes(linear_probe=0.92, linear_probe_converged=True, knn_probe=0.97))
    return Results(profile="demo", data="mnist", recipes=["fast"], command="ae reproduce --recipe fast",
                   environment={"python": "3.11.7", "threads": 2}, dataset=dataset, experiments=[dense, vae],
                   not_run=["fast lstm"], summary_figure=("figures/summary.png", "The same ten test digits"),
                   explorer=Explorer(skipped="no exporter"), wall_seconds=847.0)


def test_results_round_trip_through_json():
    results = _results()
    text = json.dumps(results.to_dict())
    assert Results.from_dict(json.loads(text)) == results
    assert json.loads(text)["experiments"][0]["baselines"]["jpeg_8bit"]["over_budget"] == 0.0  # the keys read before


def test_results_write_and_load(tmp_path):
    results = _results()
    results.write(tmp_path / "results.json")
    assert Results.load(tmp_path / "results.json") == results


@pytest.mark.parametrize("path, value, message", [
    (("experiments", 0, "baselines", "jpeg_8bit", "over_budget"), "0.0", "results.experiments[0].baselines"
                                                                         ".jpeg_8bit.over_budget' must be float"),
    (("experiments", 1, "epochs"), 16.5, "'results.experiments[1].epochs' must be int"),
    (("dataset", "pixel_probes", "knn_probe"), None, "'results.dataset.pixel_probes.knn_probe' must be float"),
    (("summary_figure",), ["figures/summary.png"], "'results.summary_figure' must be a list of 2"),
])
def test_a_bad_value_fails_naming_its_key(path, value, message):
    d = _results().to_dict()
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(DataError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Results.from_dict(d)


def test_unknown_and_missing_keys_fail(tmp_path):
    d = _results().to_dict()
    d["experiments"][0]["metrics"]["bcee"] = 0.1
    with pytest.raises(DataError, match=r"unknown key 'results.experiments\[0\].metrics.bcee'"):
        Results.from_dict(d)
    d = _results().to_dict()
    del d["dataset"]["entropy_floor"]
    (tmp_path / "results.json").write_text(json.dumps(d))
    with pytest.raises(DataError, match="results.json: missing key 'results.dataset.entropy_floor'"):
        Results.load(tmp_path / "results.json")


def test_the_page_says_per_experiment_the_articles_number_the_target_ours_epochs_and_time():
    page = results_module.markdown(_results())
    assert page.startswith("# Results\n") and "`ae reproduce --recipe fast`: data `mnist`, profile `demo`" in page
    assert "| experiment | recipe | target | article | ours | met | epochs | train time |" in page
    assert "| Shallow dense 784-32-784 | fast | test per-pixel BCE ≤ 0.1 | 0.100 | 0.0941 | yes | 2 | 12 s |" in page
    assert "| Variational, 2-D latent | fast | test ELBO (nats per image) ≥ -153 | - | -155.2 | **no** | 16 |" in page
    assert "| Shallow dense 784-32-784 | 0.100 | **0.0941** |" in page  # beats every baseline: bold
    assert "† The linear probe" in page and "Not run: fast lstm." in page
    assert "](figures/" not in page  # the run's figures stay with its report


def test_the_page_is_written_by_the_module(tmp_path):
    _results().write(tmp_path / "results.json")
    command = [sys.executable, "-m", "autoencoders.report.results", tmp_path / "results.md", tmp_path / "results.json"]
    subprocess.run(command, check=True)
    assert (tmp_path / "results.md").read_text(encoding="utf-8") == results_module.markdown(_results())


def test_docs_page_is_the_generated_one():
    source = ROOT / "docs" / "results.json"
    if not source.exists():
        pytest.skip("no real run's results.json committed in docs/ yet: copy one there (make demo: "
                    "reproduce-demo/results.json), then python -m autoencoders.report.results docs/results.md "
                    "docs/results.json")
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert page == results_module.markdown(Results.load(source)), (
        "docs/results.md is stale: python -m autoencoders.report.results docs/results.md docs/results.json")
