"""`ae score RUN INPUT --fpr`: a calibrated detector, its file in the run folder, p-values and flags."""

import json

import numpy as np
import pytest

from autoencoders.api import load_run
from autoencoders.cli import build_parser, main
from autoencoders.errors import DataError
from autoencoders.evaluation.detection import DEFAULT_SCORE, PARTS, conformal_threshold, load_detector


def read_csv(path):
    lines = path.read_text().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


@pytest.fixture(scope="module")
def held_out_run(tmp_path_factory):
    """A dense run on digits that held out 20% of its training data (287 samples) for validation."""
    out = tmp_path_factory.mktemp("runs") / "held"
    assert main(["train", "dense", "--data", "digits", "--epochs", "3", "--code-size", "8", "--validation", "0.2",
                 "--out", str(out), "--quiet"]) == 0
    return out


def test_fpr_calibrates_on_the_held_out_slice_and_stores_it(held_out_run, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["score", str(held_out_run), "digits", "--fpr", "0.05", "-o", str(out)]) == 0
    assert "calibrated on 144 held-out samples" in capsys.readouterr().err  # 287 - 287 // 2 set the threshold
    header, rows = read_csv(out)
    assert header == ["index", "score", "p_value", "anomaly", "label"] and rows.shape == (360, 5)
    stored = json.loads((held_out_run / "anomaly.json").read_text())
    cal = stored["calibration"]
    assert cal["alpha"] == 0.05 and cal["n"] == 144 and stored["scorer"]["score"] == DEFAULT_SCORE
    assert cal["threshold"] == conformal_threshold(cal["scores"], 0.05)
    np.testing.assert_array_equal(rows[:, 3], rows[:, 1] > cal["threshold"])
    np.testing.assert_array_equal(rows[:, 3], rows[:, 2] <= 0.05)  # flagged <=> p-value <= alpha
    run = load_run(held_out_run)
    again = run.detector().evaluate(run.model, run.clean_split("test")[0])
    np.testing.assert_allclose(again["score"], rows[:, 1], rtol=1e-6)


def test_another_rate_reuses_the_stored_calibration(held_out_run, tmp_path, capsys):
    assert main(["score", str(held_out_run), "digits", "--fpr", "0.05", "-o", str(tmp_path / "a.csv")]) == 0
    capsys.readouterr()
    out = tmp_path / "s.npy"
    assert main(["score", str(held_out_run), "digits", "--fpr", "0.01", "-o", str(out)]) == 0
    assert "calibration of 144 samples in" in capsys.readouterr().err
    table = np.load(out)
    detector = load_detector(held_out_run)
    assert table.shape == (360, 3)
    np.testing.assert_array_equal(table[:, 2], table[:, 0] > conformal_threshold(detector.calibration.scores, 0.01))


def test_calibrate_on_data_of_another_shape_or_too_little(held_out_run, tmp_path, capsys):
    np.save(tmp_path / "big.npy", np.zeros((300, 10, 10), dtype=np.float32))
    assert main(["score", str(held_out_run), "digits", "--calibrate", str(tmp_path / "big.npy")]) == 2
    assert "calibration data: samples of shape (1, 10, 10), but the model takes (1, 8, 8)" in capsys.readouterr().err
    np.save(tmp_path / "few.npy", np.zeros((30, 8, 8), dtype=np.float32))
    assert main(["score", str(held_out_run), "digits", "--calibrate", str(tmp_path / "few.npy")]) == 2
    err = capsys.readouterr().err
    assert f"alpha 0.05 needs at least 37 calibration samples for score '{DEFAULT_SCORE}', got 30" in err


def test_a_run_without_held_out_data_or_calibration(run_dir, capsys, exit_code):
    assert main(["score", str(run_dir), "digits", "--fpr", "0.05"]) == 2
    assert "no training data was held out to calibrate on" in capsys.readouterr().err
    with pytest.raises(DataError, match="anomaly.json is missing: this run holds no anomaly calibration"):
        load_run(run_dir).detector()
    assert exit_code(["score", str(run_dir), "digits", "--fpr", "1.5"]) == 2
    assert "argument --fpr: must be a rate in (0, 1)" in capsys.readouterr().err
    assert exit_code(["score", str(run_dir), "digits", "--fpr", "0.1", "--threshold", "auto"]) == 2
    assert "give one or the other" in capsys.readouterr().err


def test_an_edited_calibration_is_refused(held_out_run, tmp_path, capsys):
    assert main(["score", str(held_out_run), "digits", "--fpr", "0.05", "-o", str(tmp_path / "a.csv")]) == 0
    path = held_out_run / "anomaly.json"
    saved = path.read_text()
    try:
        obj = json.loads(saved)
        obj["calibration"]["threshold"] = 0.0
        path.write_text(json.dumps(obj))
        assert main(["score", str(held_out_run), "digits", "--fpr", "0.05"]) == 2
        assert "anomaly.json: 'threshold' is 0.0" in capsys.readouterr().err
        (held_out_run / "anomaly.safetensors").write_bytes(b"junk")
        path.write_text(saved)
        assert main(["score", str(held_out_run), "digits", "--fpr", "0.05"]) == 2
        assert "sha256 differs" in capsys.readouterr().err
    finally:
        path.unlink()


def test_score_help_names_every_part():
    text = build_parser().commands["score"].format_help()
    assert all(part in text for part in PARTS)


def test_score_file_and_onnx_metadata_agree(held_out_run, tmp_path, capsys):
    onnx = pytest.importorskip("onnx", reason="ONNX export needs the export extra")
    pytest.importorskip("onnxscript", reason="ONNX export needs the export extra")
    out = tmp_path / "s.csv"
    assert main(["score", str(held_out_run), "digits", "--fpr", "0.05", "-o", str(out)]) == 0
    assert main(["export", str(held_out_run), "-o", str(tmp_path / "ae.onnx")]) == 0
    capsys.readouterr()
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "ae.onnx")).metadata_props}
    exported = json.loads(props["anomaly_calibration"])
    stored = json.loads((held_out_run / "anomaly.json").read_text())
    assert exported["threshold"] == stored["calibration"]["threshold"] and exported["alpha"] == 0.05
    assert exported["score"] == DEFAULT_SCORE and exported["n"] == stored["calibration"]["n"]
    assert exported["standardisation"] == stored["scorer"]["standardisation"]
    _, rows = read_csv(out)
    np.testing.assert_array_equal(rows[:, 3], rows[:, 1] > exported["threshold"])


def test_a_variational_score_of_another_model_is_one_clear_line(held_out_run, capsys):
    assert main(["score", str(held_out_run), "digits", "--score", "mse+iw"]) == 2
    err = capsys.readouterr().err
    assert "ae score: error: the iw score needs a variational model" in err and len(err.strip().splitlines()) == 1
