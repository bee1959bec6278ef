"""The documentation's pages: every code block runs in a test or says why not, generated blocks are
fresh, every page is in the site's nav, and the pages without a test file of their own run here."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

import docpages

# Pages whose runnable blocks a test runs: the page -> that test's file.
RUN_BY = {
    "README.md": "test_readme.py",
    "own-model.md": "test_docs_own_model.py",
    "sklearn.md": "test_docs_sklearn.py",
    "tutorial.md": "test_docs_tutorial.py",
    "anomaly.md": "test_docs_anomaly.py",
    "runs.md": "test_docs_pages.py",
    "data.md": "test_docs_pages.py",
    "development.md": "test_docs_pages.py",
}


def pages() -> list[str]:
    return ["README.md"] + sorted(p.name for p in docpages.DOCS.glob("*.md"))


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", docpages.ROOT / "scripts" / "docs_generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", pages())
def test_every_code_block_runs_in_a_test_or_says_why(page):
    for block in docpages.blocks(page):
        assert block.lang, f"{page} line {block.line}: a code block needs a language (text for output)"
        if block.lang in ("bash", "python") and block.runs:
            assert page in RUN_BY, (f"{page} line {block.line}: no test runs this block; run it in one (RUN_BY) or "
                                    "put `<!-- not run: why -->` on the line before it")
    if page in RUN_BY:
        test = docpages.ROOT / "tests" / RUN_BY[page]
        assert test.exists() and page.removesuffix(".md") in test.read_text(), (page, test)


def test_generated_blocks_are_fresh():
    stale = _generator().stale()
    assert not stale, f"stale generated blocks {stale}: PYTHONPATH=src python scripts/docs_generate.py"


def test_every_page_is_in_the_nav():
    nav = re.findall(r"^\s+- [^:\n]+: (\S+\.md)\s*$", (docpages.ROOT / "mkdocs.yml").read_text(), re.M)
    assert sorted(nav) == sorted(p.name for p in docpages.DOCS.glob("*.md"))


def test_pages_link_to_files_that_exist():
    for page in pages():
        path = docpages.README if page == "README.md" else docpages.DOCS / page
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", docpages.page_text(page)):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{page}: {target}"


def test_runs_page(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (bash,) = [b for b in docpages.blocks("runs.md", "bash") if b.runs]
    docpages.run_ae(bash.code)
    assert sorted(p.name for p in (tmp_path / "runs" / "dense").iterdir() if p.name != ".lock") == [
        "config.json", "history.jsonl", "model.safetensors", "state", "tb"]  # --overwrite: metrics.json gone
    scope: dict = {}
    exec(compile(docpages.python_source("runs.md"), "runs.md", "exec"), scope)
    assert capsys.readouterr().out.strip().endswith("2 2")
    # the table names every file `ae train` writes, and the defaults it states are TrainConfig's
    from autoencoders.config import DEFAULT_LR, TrainConfig
    from autoencoders.registry import train_defaults
    from autoencoders.training.rundir import RUN_FILES

    text = docpages.page_text("runs.md")
    for name in set(RUN_FILES) - {"state.old", "likelihood.json"}:
        assert f"| `{name}" in text, name
    t = TrainConfig()
    assert f"{t.epochs} epochs, Adam at lr 1e-3, a constant learning rate, seed {t.seed}" in " ".join(text.split())
    assert t.optimizer == "adam" and DEFAULT_LR["adam"] == 1e-3 and t.schedule == "constant"
    said = {"dense": 256, "lstm": 256, "conv": 128, "conv-denoise": 128, "vae": 100}
    assert {m: train_defaults(m)["batch_size"] for m in said} == said


def test_data_page(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope = {"__name__": "docs_data"}  # the page's python blocks share one namespace, as a reader's session
    for block in docpages.blocks("data.md"):
        if not block.runs:
            continue
        if block.lang == "bash":
            docpages.run_ae(block.code)
        else:
            exec(compile(block.code, "data.md", "exec"), scope)
    assert (tmp_path / "runs" / "mine" / "model.safetensors").exists()
    out = capsys.readouterr().out
    for line in re.findall(r"^\| `([\w-]+)` \| (.+?) \|", docpages.page_text("data.md", "Built-in datasets"), re.M):
        assert f"name={line[0]}  description={line[1]}" in out, line  # the table quotes `ae data list`


def test_development_layout_lists_the_package():
    from autoencoders.registry import list_models  # noqa: F401  (the package imports)

    table = docpages.page_text("development.md", "Where things are")
    listed = {p.removeprefix("src/autoencoders/").rstrip("/") for p in re.findall(r"`(src/autoencoders/[^`]*)`", table)}
    listed |= {"__main__.py"} if "`__main__.py`" in table else set()
    package = docpages.ROOT / "src" / "autoencoders"
    entries = {p.name for p in package.iterdir() if p.name != "__pycache__"}
    assert listed == entries
    for top in re.findall(r"^\| `((?:tests|bench|scripts|docs)/)`", table, re.M):
        assert (docpages.ROOT / top).is_dir()


@pytest.mark.slow
def test_development_model_example_runs_in_its_own_process(tmp_path):
    source = docpages.python_source("development.md")
    env = os.environ | {"PYTHONPATH": str(docpages.ROOT / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("64 torch.Size([5, 64])"), done.stdout


def test_models_page_code_shapes():
    import torch

    from autoencoders.registry import create_model, list_models

    rows = re.findall(r"^\| (`[^|]+`) \| [^|]+ \| (\([\d, ]+\)) \|$", docpages.page_text("models.md"), re.M)
    named = {}
    for names, shape in rows:
        for name in re.findall(r"`([\w-]+)`", names):
            named[name] = tuple(int(v) for v in re.findall(r"\d+", shape))
    assert sorted(named) == list_models()
    for name, shape in named.items():
        sample = (28, 28) if name in ("lstm", "gru") else (1, 28, 28)
        model = create_model(name, sample).eval()
        with torch.no_grad():
            z = model.encode(torch.rand(2, *sample))
        assert tuple(z.shape[1:]) == shape, name
