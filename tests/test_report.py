"""`ae reproduce` end to end on digits with the tiny profile: report complete, offline, resumable."""

import base64
import io
import json
import re
from types import SimpleNamespace

import pytest
from PIL import Image

from autoencoders import presets
from autoencoders.cli import main
from autoencoders.errors import ConfigError
from autoencoders.report import sections
from autoencoders.report.pipeline import reproduce
from autoencoders.report.results import TargetResult


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    assert main(["reproduce", "--profile", "tiny", "--recipe", "modern", "--data", "digits", "--out", str(out),
                 "--quiet"]) == 0
    return out


@pytest.mark.slow
def test_every_experiment_and_section_present(report_dir):
    md = (report_dir / "report.md").read_text()
    for exp in presets.EXPERIMENTS:
        assert f"### {exp.title} (modern)" in md
    for heading in ("## Results", "## Baselines", "## Where we differ from the article", "## Environment"):
        assert heading in md
    # the denoising net's target is the clean image: no compression baseline of it applies
    assert "No compression baseline applies" in md
    assert "SSIM" in md and "The noisy input itself has PSNR" in md
    assert "bits per dimension" in md and "per dimension" in md
    results = json.loads((report_dir / "results.json").read_text())
    assert [r["key"] for r in results["experiments"]] == [e.key for e in presets.EXPERIMENTS]
    assert "## Targets" not in md and all(r["target"] is None for r in results["experiments"])  # MNIST's
    for path in re.findall(r"\]\((figures/[^)]+)\)", md):
        assert (report_dir / path).stat().st_size > 1000, path


@pytest.mark.slow
def test_results_json_reads_back_as_the_results_and_makes_the_page(report_dir):
    # before the tests below rerun reproduce into report_dir (their results.json holds one run)
    from autoencoders.report.results import Results, markdown

    results = Results.load(report_dir / "results.json")  # every key and type checked
    assert json.loads(json.dumps(results.to_dict())) == json.loads((report_dir / "results.json").read_text())
    assert [(r.recipe, r.key) for r in results.experiments] == [("modern", e.key) for e in presets.EXPERIMENTS]
    page = markdown(results)
    for exp in presets.EXPERIMENTS:
        assert f"| {exp.title} |" in page


def test_targets_table_says_met_or_not_with_epochs_and_time():
    def run(key, metric, value, measured, reached, code_mean):
        return SimpleNamespace(key=key, title=key.title(), recipe="fast", article_loss=0.1, epochs=2,
                               train_seconds=3.4, metrics=SimpleNamespace(code_mean=code_mean),
                               target=TargetResult(metric=metric, value=value, measured=measured, reached=reached))

    results = SimpleNamespace(experiments=[run("dense", "bce", 0.1, 0.0941, True, 6.1),
                                           run("sparse", "bce", 0.11, 0.0952, True, 2.9),
                                           run("vae", "elbo", -153.0, -155.2, False, 0.0)])
    blocks = sections.target_blocks(results)
    header, rows = blocks[1][1:]
    assert header[:6] == ["experiment", "recipe", "target", "article", "ours", "met"]
    assert [row[5] for row in rows] == ["yes", "yes", "**no**"]
    assert rows[2][2] == "test ELBO (nats per image) ≥ -153" and rows[0][-1] == "3 s"
    assert "sparse vs dense: 2.90 vs 6.10" in blocks[2][1]


@pytest.mark.slow
def test_html_is_self_contained_and_every_image_decodes(report_dir):
    page = (report_dir / "report.html").read_text()
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    md_figures = re.findall(r"\]\((figures/[^)]+)\)", (report_dir / "report.md").read_text())
    assert len(sources) == len(md_figures) > 0
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).load()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page


@pytest.mark.slow
def test_finished_runs_are_reused_and_the_data_baselines_not_redone(report_dir, monkeypatch):
    """The second reproduction trains nothing and reads the data's own baselines from their cache
    (tests/test_report_baselines.py); the model's numbers and its codes' t-SNE are measured again."""
    import autoencoders.api as api
    from autoencoders.evaluation import baselines
    from autoencoders.report import data_baselines
    from autoencoders.viz import latent

    def refuse(what):
        def called(*a, **k):
            raise AssertionError(f"{what} was computed again")
        return called

    monkeypatch.setattr(api, "fit_run", refuse("a finished run"))
    for name in ("mean_image", "entropy_floor", "pca_baseline", "jpeg_baseline"):
        monkeypatch.setattr(baselines, name, refuse(name))
    monkeypatch.setattr(data_baselines, "probes", refuse("a raw-pixel or PCA probe"))
    projections, project_2d = [], latent.project_2d
    monkeypatch.setattr(latent, "project_2d", lambda z, *a, **k: projections.append(len(z)) or project_2d(z, *a, **k))
    results = reproduce(report_dir, profile="tiny", recipe="modern", data="digits", only="dense", quiet=True)
    assert projections == [presets.PROFILES["tiny"].tsne_samples]  # the dense codes' t-SNE, not the pixels' again
    assert results.experiments[0].metrics.n == results.dataset.n_test  # the model's metrics: the whole test split


@pytest.mark.slow
def test_no_train_reports_finished_runs_and_lists_the_rest(report_dir, monkeypatch):
    import autoencoders.api as api

    def no_training(*a, **k):
        raise AssertionError("--no-train trained a run")

    monkeypatch.setattr(api, "fit_run", no_training)
    results = reproduce(report_dir, profile="tiny", recipe="both", data="digits", only="dense", quiet=True,
                        train=False)
    assert [(r.recipe, r.key) for r in results.experiments] == [("modern", "dense")]
    assert results.not_run == ["article dense"]
    assert "Not run" in (report_dir / "report.md").read_text()
    assert not (report_dir / "runs" / "article-dense").exists()


def test_bad_names_fail_before_training(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'dense'"):
        reproduce(tmp_path, profile="tiny", data="digits", only="dens")
    with pytest.raises(ConfigError, match="profile"):
        reproduce(tmp_path, profile="fast", data="digits")
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_report_links_the_explorer(report_dir):
    page = report_dir / "explorer.html"
    assert page.stat().st_size < 10e6  # every experiment's model, in one page
    assert 'href="explorer.html"' in (report_dir / "report.html").read_text()
    assert "](explorer.html)" in (report_dir / "report.md").read_text()


@pytest.mark.parametrize("only,needle", [
    ("dense,dense", "argument --only: experiment 'dense' is named twice in 'dense,dense'"),
    ("dens", "argument --only: unknown experiment 'dens' (did you mean 'dense'?)"),
])
def test_reproduce_only_is_checked_while_parsing(only, needle, tmp_path, capsys, exit_code):
    out = tmp_path / "out"
    assert exit_code(["reproduce", "--profile", "tiny", "--data", "digits", "--only", only, "--out", str(out),
                      "--quiet"]) == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()
