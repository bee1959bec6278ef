"""torchrun + DDP on CPU (gloo, 2 processes, loopback): same weights as one process, rank 0 writes.

Tolerance: DDP sums two half-batch gradients where one process computes one full-batch matmul;
the float32 summation order differs (~1e-7 relative per step) and Adam's normalization carries
that through a few dozen steps, so weights agree to ~1e-6, not bitwise. We allow atol 1e-5.
"""

import os
import subprocess
import sys

import pytest
import torch

import autoencoders as ae
from autoencoders.cli import main
from autoencoders.training.checkpoint import load_weights

# 301 samples at batch 64: the last batch (45 rows) splits 23/22, exercising the uneven-split scaling.
ARGS = ["train", "dense", "--data", "digits", "--epochs", "2", "--limit", "301", "--batch-size", "64",
        "--code-size", "8", "--noise", "masking:0.2", "--quiet"]


def torchrun(out, nproc=2):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "autoencoders", *ARGS, "--out", str(out), "--nproc", str(nproc)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    torchrun(root / "ddp")
    main([*ARGS, "--out", str(root / "single")])
    return root


@pytest.mark.slow
def test_two_processes_match_one(runs):
    a, _ = load_weights(runs / "ddp" / "model.safetensors")
    b, _ = load_weights(runs / "single" / "model.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=0)


@pytest.mark.slow
def test_only_rank_zero_wrote(runs):
    history = (runs / "ddp" / "history.jsonl").read_text().splitlines()
    assert len(history) == 2  # two ranks appending would give 4 lines
    assert len(list((runs / "ddp" / "tb").glob("events.out.tfevents*"))) == 1
    assert not any(k.startswith("module.") for k in load_weights(runs / "ddp" / "model.safetensors")[0])


@pytest.mark.slow
def test_two_process_checkpoint_resumes_in_one(runs):
    run = ae.resume(runs / "ddp", epochs=3, quiet=True)
    assert [r["epoch"] for r in run.history] == [1, 2, 3]


def test_shard_scales_uneven_parts(monkeypatch):
    from autoencoders.training import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    (part,), scale = distributed.shard(torch.arange(45))
    assert part.tolist() == list(range(23, 45)) and scale == pytest.approx(22 * 2 / 45)
