"""report/render.py, sections.py and figures.py: Markdown rendered by a real library, results
worse than a baseline flagged (never bold), one PSNR convention, figures that read."""

import re
from types import SimpleNamespace

import pytest
import torch

from autoencoders.cli import main
from autoencoders.report.results import JPEGBaseline, PCABaseline, Quality
from autoencoders.report.sections import _bce, losses_to
from autoencoders.viz import latent


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    assert main(["reproduce", "--profile", "tiny", "--recipe", "modern", "--data", "digits", "--out", str(out),
                 "--quiet"]) == 0
    return out, (out / "report.md").read_text(), (out / "report.html").read_text()


@pytest.mark.slow
def test_markdown_is_rendered_by_a_markdown_library(report):
    _, md, page = report
    assert "*entropy floor*" in md and "<em>entropy floor</em>" in page and "*entropy floor*" not in page
    assert "<li><strong>Optimizer.</strong>" in page and "<p>- " not in page
    assert "overflow-x:auto" in page  # the wide results table scrolls in its box, not the page


@pytest.mark.slow
def test_only_the_recipes_run_have_columns(report):
    _, md, _ = report
    header = next(line for line in md.splitlines() if line.startswith("| experiment"))
    assert "ours (modern recipe)" in header and "article recipe" not in header and "not run" not in md


@pytest.mark.slow
def test_one_psnr_convention(report):
    _, md, _ = report
    assert "100.00" not in md and not re.search(r"\binf\b", md)
    assert "| ∞ |" in md  # the entropy floor: an exact reconstruction


@pytest.mark.slow
def test_the_denoiser_gets_no_clean_image_baselines(report):
    _, md, _ = report
    section = md.split("### Denoising convolutional", 1)[1].split("\n### ", 1)[0]
    assert "Same budget baselines" not in section and "No compression baseline applies" in section
    row = next(line for line in md.splitlines() if line.startswith("| Denoising"))
    assert row.count("does not apply") == 2


@pytest.mark.slow
def test_results_worse_than_a_baseline_are_flagged_not_bold(report):
    _, md, _ = report
    rows = [line for line in md.splitlines() if line.startswith("| ") and "⚠" in line]
    assert len(rows) == 7 and not any("**" in line for line in rows)  # one epoch: all worse than the mean image
    assert "is worse than the mean training image" in md
    assert "⚠ **Worse than a baseline:**" in md


def test_bold_only_when_every_baseline_is_beaten():
    dataset = SimpleNamespace(mean_image=Quality(bce=0.26, mse=0.07, psnr=11.0, ssim=None))
    pca = PCABaseline(bce=0.12, mse=0.02, psnr=17.0, ssim=None, components=32)
    jpeg = JPEGBaseline(bce=0.12, mse=0.02, psnr=17.0, ssim=None, n=10, payload_bytes=31.0, file_bytes=330.0,
                        over_budget=0.0)
    baselines = SimpleNamespace(pca=pca, jpeg_8bit=jpeg)
    win = SimpleNamespace(metrics=SimpleNamespace(bce=0.09), code_numel=32, baselines=baselines)
    lose = SimpleNamespace(metrics=SimpleNamespace(bce=0.29), code_numel=32, baselines=baselines)  # the demo's LSTM
    assert _bce(win, dataset) == "**0.0900**" and losses_to(win, dataset) == []
    assert _bce(lose, dataset) == "0.2900 ⚠"
    assert [n for n, _ in losses_to(lose, dataset)][0] == "the mean training image"


@pytest.mark.slow
def test_report_opens_with_every_model_on_the_same_digits(report):
    out, md, _ = report
    first = re.search(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert first.start() < md.index("## Results") and first.group(1) == "figures/summary.png"
    assert (out / "figures" / "summary.png").stat().st_size > 1000


@pytest.mark.slow
def test_captions_promise_nothing_that_is_missing(report):
    _, md, _ = report
    assert "t-SNE below" not in md and "codes' t-SNE below" not in md


def test_wide_codes_are_tiles_not_strips():
    fig = latent.code_pictures(torch.rand(10, 32, 7, 7))
    assert fig.axes[0].images[0].get_array().shape == (4 * 8, 8 * 8)  # 32 maps of 7x7 (+ a gap), 8 a row


def test_colour_bar_ticks_sit_on_their_blocks():
    fig = latent.latent_scatter(torch.randn(200, 2), torch.arange(200) % 10)
    bar = fig.axes[1]
    assert list(bar.get_yticks()) == list(range(10)) and bar.get_ylim() == (-0.5, 9.5)


@pytest.mark.slow
def test_manifold_and_curves_have_labelled_axes_with_units(report):
    fig = latent.manifold(lambda z: torch.rand(len(z), 1, 28, 28), n=5)
    assert fig.axes[0].get_xlabel().startswith("z1") and fig.axes[0].get_ylabel().startswith("z2")
    from autoencoders.api import load_run
    from autoencoders.report.figures import _curves

    out, _, _ = report
    assert "nats per pixel" in _curves(load_run(out / "runs" / "modern-vae")).axes[0].get_ylabel()
    assert "nats per pixel" in _curves(load_run(out / "runs" / "modern-dense")).axes[0].get_ylabel()
