"""The README's quick start runs as written (lucidrains' test_readme.py habit), and says what it does."""

import json
import math
import re

import pytest

import docpages
from autoencoders.cli import main


def quick_start_blocks():
    bash = [b for b in docpages.blocks("README.md", "bash", section="Quick start") if b.runs]
    python = docpages.python_source("README.md", section="Quick start")
    return bash[0].code, python


def test_quick_start_commands_and_python_run(tmp_path, monkeypatch, capsys):
    bash, python = quick_start_blocks()
    monkeypatch.chdir(tmp_path)
    for argv in docpages.ae_lines(bash):  # `source .venv/bin/activate`: this interpreter is already in it
        assert main(argv[1:]) == 0, argv
    assert (tmp_path / "recon.png").exists() and (tmp_path / "codes.npy").exists()
    # a recognisable reconstruction, not the mean image's grey blobs (test BCE 0.425 on digits)
    bce = json.loads((tmp_path / "runs/digits-dense/metrics.json").read_text())["bce"]
    assert bce < 0.3
    scope: dict = {}
    exec(compile(python, str(docpages.README), "exec"), scope)
    assert tuple(scope["codes"].shape) == (360, 32)
    # the numbers the section states, measured
    text = docpages.page_text("README.md", "Quick start")
    assert f"test BCE {bce:.3f}" in text, bce
    n = len(scope["images"])
    assert n == 360


def test_quick_start_numbers_are_measured(tmp_path):
    """Every number of the quick start's paragraph: steps, baselines, and `ae train`'s defaults."""
    import autoencoders as ae
    from autoencoders.config import DEFAULT_LR, TrainConfig
    from autoencoders.data import load_dataset
    from autoencoders.evaluation.baselines import entropy_floor, mean_image, pca_baseline
    from autoencoders.registry import train_defaults

    text = " ".join(docpages.page_text("README.md", "Quick start").split())
    train, test = load_dataset("digits", "train").images, load_dataset("digits", "test").images
    batches = math.ceil(len(train) / 64)
    assert f"({30 * batches} steps: 30 epochs of {batches} batches of the {len(train)} training images)" in text
    assert f"the mean training image scores {mean_image(train, test)['bce']:.3f}" in text
    assert f"grey levels {entropy_floor(test):.3f} (the entropy floor)" in text
    assert f"PCA with 32 components scores {pca_baseline(train, test, 32)[0]['bce']:.3f}" in text
    defaults = TrainConfig(**train_defaults("dense"))
    steps = defaults.epochs * math.ceil(len(train) / defaults.batch_size)
    said = re.search(r"`ae train`'s defaults \((\d+) epochs, batch (\d+), Adam at lr ([\de.-]+): (\d+) steps\) "
                     r"the net only gets to (0\.\d+)", text)
    assert said, "the defaults sentence changed: update this test"
    assert said.groups()[:4] == (str(defaults.epochs), str(defaults.batch_size), "1e-3", str(steps))
    assert defaults.optimizer == "adam" and DEFAULT_LR["adam"] == 1e-3
    run = ae.train("dense", data="digits", quiet=True, out=None)
    assert run.evaluate()["bce"] == pytest.approx(float(said.group(5)), abs=0.002)


def test_readme_is_short_and_starts_with_the_two_commands():
    text = docpages.README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    first = docpages.blocks("README.md", "bash")[0].code.splitlines()
    assert [line.split()[:2] for line in first] == [["make", "demo"], ["make", "test"]]


def test_readme_links_resolve():
    text = docpages.README.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert (docpages.ROOT / target).exists(), target
