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


def test_anomaly_page_recipe_and_vae_sections_run(tmp_path, monkeypatch, capsys):
    """The sections after the walk-through: `ae train --recipe anomaly` on digits 0-4 as normal.npy
    (new.npy: unseen digits 5-9), and the VAE's iw score, each command as written."""
    import docpages
    from autoencoders.data import load_dataset
    from autoencoders.evaluation.detection import load_detector
    from autoencoders.presets import ANOMALY

    monkeypatch.chdir(tmp_path)
    section = "The benchmark's detector by name: `ae train --recipe anomaly`"
    exec(compile(docpages.python_source("anomaly.md", section), str(DOC), "exec"), {"load_dataset": load_dataset})
    (recipe,) = docpages.blocks("anomaly.md", "bash", section=section)
    docpages.run_ae(recipe.code)
    cal = load_detector("runs/detector").calibration
    assert (cal.score, cal.alpha) == (ANOMALY.score, ANOMALY.alpha)
    flags = np.loadtxt("flags.csv", delimiter=",", skiprows=1)
    assert flags.shape == (167, 4) and flags[:, 3].mean() > 0.2  # "about a third", at a 5% false-alarm rate
    text = " ".join(docpages.page_text("anomaly.md", section).split())
    lr = f"{ANOMALY.lr:.0e}".replace("e-0", "e-")  # 1e-2
    said = (f"the `{ANOMALY.model}` net, {ANOMALY.epochs} epochs of one-cycle Adam at a peak lr of {lr} in "
            f"batches of {ANOMALY.batch_size}, a seeded {ANOMALY.calibration:.0%} of `--data` held out (`--validation "
            f"{ANOMALY.calibration:g}`), and after training the default score `{ANOMALY.score}` calibrated on that "
            f"hold-out at alpha {ANOMALY.alpha:g}")
    assert said in text and ANOMALY.schedule == "onecycle"
    (vae,) = docpages.blocks("anomaly.md", "bash", section="The VAE's bounds as scores: `elbo` and `iw`")
    docpages.run_ae(vae.code)
    assert "score iw: threshold" in capsys.readouterr().err
    assert np.loadtxt("vae-scores.csv", delimiter=",", skiprows=1).shape == (360, 5)
