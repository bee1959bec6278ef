"""The benchmark machinery on a tiny problem: it runs, counts FLOPs right, writes its table."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autoencoders.benchmark.report import run_suite
from autoencoders.evaluation.flops import forward_flops
from autoencoders.registry import create_model


def test_flops_match_hand_count():
    model = create_model("deep", (1, 28, 28))
    hand = 2 * 2 * (784 * 128 + 128 * 64 + 64 * 32)  # encoder + mirrored decoder, x2 per multiply-add
    assert forward_flops(model, torch.rand(8, 1, 28, 28)) == hand


def test_recurrent_flops_are_counted():
    # Regression: FlopCounterMode counts 0 inside fused LSTM kernels, so the LSTM's % of peak read
    # ~30x too low (only its output projection was counted).
    model = create_model("lstm", (28, 28), code_size=64)
    steps = 28
    encoder = 4 * 64 * (28 + 64) * steps
    decoder = 4 * 64 * (64 + 64) * steps
    project = 64 * 28 * steps
    assert forward_flops(model, torch.rand(8, 28, 28)) == 2 * (encoder + decoder + project)


def test_suite_writes_markdown_and_json(tmp_path):
    result = run_suite(["dense"], epochs=1, data="digits", out_md=tmp_path / "R.md", out_json=tmp_path / "R.json",
                       bf16=False, log=lambda *_: None)
    row = result["rows"][0]
    assert row["toolkit_s"] > 0 and row["idiomatic_s"] > 0 and row["speedup"] > 0
    assert 0 < row["toolkit_peak_frac"] < 1 and result["peak_gflops_fp32"] > 0
    assert "| dense |" in (tmp_path / "R.md").read_text()
    assert json.loads((tmp_path / "R.json").read_text())["rows"][0]["model"] == "dense"


def test_toolkit_side_builds_the_model_as_fit_does(monkeypatch):
    # Regression: the benchmark's toolkit loop skipped fit()'s channels-last layout, so its conv
    # rows timed a path the trainer never takes.
    from autoencoders.benchmark import suite
    from autoencoders.training import trainer

    seen = []
    monkeypatch.setattr(suite, "fast_layout", lambda m, shape: seen.append(shape) or trainer.fast_layout(m, shape))
    x = torch.rand(64, 1, 8, 8)
    suite.toolkit_epochs("conv", x, x[:16], 32, {}, epochs=1)
    assert seen == [(1, 8, 8)]


def test_iw_bound_throughput_for_vaes_only():
    from autoencoders.benchmark.suite import iw_bound_throughput

    x = torch.rand(10, 1, 8, 8)
    assert iw_bound_throughput("vae", x, k=20, images=4) > 0
    assert iw_bound_throughput("dense", x, k=20, images=4) is None


def test_cases_come_from_the_experiments_and_the_registry():
    from autoencoders.benchmark.suite import case, cases
    from autoencoders.presets import EXPERIMENTS
    from autoencoders.registry import train_defaults

    assert list(cases()) == [e.model for e in EXPERIMENTS]
    assert cases()["conv-denoise"] == (128, {"noise": "gaussian:0.5"})
    assert cases()["lstm"] == (256, {"as_sequence": True})
    assert case("gru")[0] == train_defaults("gru").get("batch_size", 256)


def test_the_gpu_script_runs_here_and_says_there_is_no_gpu(tmp_path):
    root = Path(__file__).resolve().parents[1]
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: bench/gpu.sh would run the whole article")
    done = subprocess.run(["bash", str(root / "bench" / "gpu.sh"), str(tmp_path / "out")], capture_output=True,
                          text=True, env={**os.environ, "PYTHON": sys.executable}, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "no CUDA device" in done.stderr and "bench/GPU.md is not written" in done.stderr
    assert not (tmp_path / "out").exists()
