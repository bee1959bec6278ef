"""docs/own-model.md runs: every Python block, in order (a user's module, their data, no registry)."""

import importlib.util
import re

import docpages

DOC = docpages.DOCS / "own-model.md"


def test_own_model_page_runs(tmp_path, monkeypatch, capsys):
    source = docpages.python_source(DOC)
    if importlib.util.find_spec("onnxscript") is None:  # the export extra is optional: TorchScript then
        source = source.replace('"mine.onnx"', '"mine.pt"')
    monkeypatch.chdir(tmp_path)
    scope = {"__name__": "docs_own_model"}
    exec(compile(source, str(DOC), "exec"), scope)
    out = capsys.readouterr().out
    assert re.search(r"test BCE 0\.\d+, PSNR \d+\.\d dB", out), out
    assert float(re.search(r"ROC AUC (\S+)", out).group(1)) > 0.6, out
    assert (tmp_path / "runs" / "mine" / "model.safetensors").exists()
    assert list(tmp_path.glob("mine.*"))
    assert len(scope["streamed"].history) == 1


def test_page_has_its_blocks():
    assert len([b for b in docpages.blocks(DOC, "python") if b.runs]) >= 5
