"""docs/sklearn.md runs: every Python block, in order, on digits instead of MNIST."""

import re

import numpy as np

import docpages
from autoencoders.data import load_dataset

DOC = docpages.DOCS / "sklearn.md"


def test_docs_examples_run_on_digits(tmp_path, monkeypatch, capsys):
    source = docpages.python_source(DOC)
    # the page's setup lines, swapped for a fast run: digits, fewer epochs, an 8x8 stand-in for
    # Fashion-MNIST (inverted test digits), t-SNE on the whole digits test split
    stand_in = tmp_path / "inverted.npz"
    np.savez(stand_in, x_test=1 - load_dataset("digits", "test").images[:, 0].numpy())
    swaps = {'DATA = "mnist"': 'DATA = "digits"', "EPOCHS = 20": "EPOCHS = 10",
             'OUTLIERS = "fashion-mnist"': f"OUTLIERS = {str(stand_in)!r}", "n = 2000": "n = 360"}
    for old, new in swaps.items():
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    monkeypatch.chdir(tmp_path)
    exec(compile(source, str(DOC), "exec"), {"__name__": "docs_sklearn"})
    out = capsys.readouterr().out
    accuracies = [float(v) for v in re.findall(r"test accuracy (\S+)", out)]
    aucs = [float(v) for v in re.findall(r"ROC AUC.*: (\S+)", out)]
    assert len(accuracies) == 2 and min(accuracies) > 0.8, out
    assert len(aucs) == 2 and min(aucs) > 0.6, out
    for figure in ("tsne.png", "anomaly.png"):
        assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG"


def test_docs_blocks_are_found():
    assert len([b for b in docpages.blocks(DOC, "python") if b.runs]) >= 5


if __name__ == "__main__":
    # The page as written (MNIST, Fashion-MNIST, 20 epochs): prints the numbers shown in it and
    # writes tsne.png and anomaly.png into the current folder.
    #   cd docs/figures && python ../../tests/test_docs_sklearn.py
    import time

    start = time.perf_counter()
    exec(compile(docpages.python_source(DOC), str(DOC), "exec"), {"__name__": "docs_sklearn"})
    print(f"({time.perf_counter() - start:.0f} s)")
