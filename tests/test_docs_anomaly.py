"""docs/anomaly.md runs: every Python block in order, and its command lines through `ae`."""

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from autoencoders.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "anomaly.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)


def test_anomaly_page_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope = {"__name__": "docs_anomaly"}
    exec(compile("\n".join(blocks("python")), str(DOC), "exec"), scope)
    out = capsys.readouterr().out
    assert re.search(r"mse\+lof\+maha: threshold \S+ from \d+ held-out samples", out), out
    cal = scope["cal"]
    assert (tmp_path / "runs" / "digits" / "anomaly.json").exists() and cal.alpha == 0.05
    flagged = float(re.search(r"(\S+)% of 360 new normal digits flagged", out).group(1)) / 100
    assert flagged == pytest.approx(scope["result"]["anomaly"].mean(), abs=6e-4)
    np.testing.assert_array_equal(scope["result"]["anomaly"], scope["result"]["p_value"] <= 0.05)
    shares = re.search(r"flagged: (\d+)% of seen digits, (\d+)% of unseen", out).groups()
    seen, unseen = (float(v) / 100 for v in shares)
    assert unseen > seen, out
    np.save(tmp_path / "new.npy", scope["x"][:10, 0].numpy())
    for line in blocks("bash")[0].splitlines():  # the page's commands, as written
        argv = shlex.split(line.split("#")[0])
        assert argv[0] == "ae" and main(argv[1:]) == 0, line
    assert (tmp_path / "scores.csv").read_text().startswith("index,score,p_value,anomaly,label")
    assert np.load(tmp_path / "scores.npy").shape == (10, 3)
