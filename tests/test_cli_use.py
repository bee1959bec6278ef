"""`ae score`, `ae export` and `ae encode --format` end to end on digits."""

import json

import numpy as np
import pytest

from autoencoders.cli import main


def read_csv(path):
    lines = path.read_text().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


def test_score_with_auto_threshold(run_dir, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["score", str(run_dir), "digits", "--threshold", "auto", "--percentile", "90", "-o", str(out)]) == 0
    header, rows = read_csv(out)
    assert header == ["index", "score", "label", "anomaly"] and rows.shape == (360, 4)
    assert "90th percentile of 1437 training errors" in capsys.readouterr().err
    # the mean score is the run's reconstruction loss on the test split
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert rows[:, 1].mean() == pytest.approx(metrics["loss_recon"], rel=1e-5)
    assert 0 < rows[:, 3].mean() < 0.5 and set(rows[:, 2]) == set(range(10))


def test_score_a_npy_file_to_stdout_with_a_fixed_threshold(run_dir, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((6, 8, 8), dtype=np.float32))
    assert main(["score", str(run_dir), str(tmp_path / "x.npy"), "--threshold", "0", "--metric", "mse"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "index,score,anomaly" and len(lines) == 7 and lines[1].endswith(",1")


@pytest.mark.parametrize("argv,needle", [
    (["--threshold", "high"], "argument --threshold: must be 'auto' or a finite number, got 'high'"),
    (["--threshold", "nan"], "argument --threshold: must be 'auto' or a finite number, got 'nan'"),
    (["--percentile", "101"], "argument --percentile: must be a percentile in [0, 100]"),
    (["--split", "validation"], "unknown split of digits 'validation'"),
])
def test_score_errors(run_dir, argv, needle, capsys, exit_code):
    assert exit_code(["score", str(run_dir), "digits", *argv]) == 2
    assert needle in capsys.readouterr().err


def test_score_refuses_samples_of_another_shape(run_dir, tmp_path, capsys):
    np.save(tmp_path / "big.npy", np.zeros((3, 10, 10), dtype=np.float32))
    assert main(["score", str(run_dir), str(tmp_path / "big.npy")]) == 2
    assert "(1, 10, 10), but the run's model takes (1, 8, 8)" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:`torch.jit.* is deprecated:DeprecationWarning")
def test_export_onnx_and_torchscript(run_dir, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    onnx_file, ts_file = tmp_path / "dec.onnx", tmp_path / "ae.model"
    assert main(["export", str(run_dir), "--part", "decoder", "-o", str(onnx_file)]) == 0
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (probs,) = session.run(None, {"z": np.ones((3, 8), dtype=np.float32)})
    assert probs.shape == (3, 1, 8, 8) and 0 <= probs.min() and probs.max() <= 1
    assert main(["export", str(run_dir), "--format", "torchscript", "-o", str(ts_file)]) == 0
    assert ts_file.stat().st_size > 0
    assert main(["export", str(run_dir), "-o", str(tmp_path / "model.bin")]) == 2
    assert "pass --format" in capsys.readouterr().err


def test_encode_formats(run_dir, tmp_path):
    assert main(["encode", str(run_dir), "-o", str(tmp_path / "c.npy")]) == 0
    codes = np.load(tmp_path / "c.npy")
    assert main(["encode", str(run_dir), "-o", str(tmp_path / "c.csv")]) == 0
    header, rows = read_csv(tmp_path / "c.csv")
    assert header == [f"z{i}" for i in range(8)]
    np.testing.assert_array_equal(rows.astype(np.float32), codes)
    assert main(["encode", str(run_dir), "-o", str(tmp_path / "codes.dat"), "--format", "npy"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "codes.dat"), codes)
    pq = pytest.importorskip("pyarrow.parquet")
    assert main(["encode", str(run_dir), "-o", str(tmp_path / "c.parquet")]) == 0
    assert pq.read_table(tmp_path / "c.parquet").num_rows == 360
