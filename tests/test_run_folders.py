"""Issue #13, run folders: one owner per folder, no run replaced silently, every file checked.

Each test copies the session's trained run (conftest.run_dir) and damages one thing in the copy.
"""

import json
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

import autoencoders as ae
from autoencoders.cli import main
from autoencoders.config import TrainConfig
from autoencoders.errors import ConfigError, TrainingError
from autoencoders.training import checkpoint
from autoencoders.training.rundir import claim

TRAIN = ["train", "dense", "--data", "digits", "--epochs", "1", "--code-size", "8", "--quiet"]


@pytest.fixture
def run(run_dir, tmp_path):
    """A private copy of the 2-epoch dense run, free to damage."""
    return shutil.copytree(run_dir, tmp_path / "run")


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_train_refuses_a_folder_holding_a_run(run, capsys):
    history = (run / "history.jsonl").read_text()
    assert main(TRAIN + ["--out", str(run)]) == 2
    err = _err(capsys)
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert (run / "history.jsonl").read_text() == history
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2


def test_overwrite_replaces_the_run_and_says_so(run, capsys):
    (run / "notes.txt").write_text("mine")
    assert main(TRAIN + ["--out", str(run), "--overwrite"]) == 0
    assert "replacing the run" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 1
    assert len((run / "history.jsonl").read_text().splitlines()) == 1
    assert (run / "notes.txt").read_text() == "mine"  # only the run's own files are removed


def test_an_anomaly_calibration_goes_with_the_weights_it_scored(run, capsys):
    """--overwrite and --resume change the weights: the run's calibration (which scored the old
    ones) is removed with a note, never left for `ae score` to use on the new weights."""
    from autoencoders.evaluation.detection import DETECTOR_JSON, DETECTOR_TENSORS
    from autoencoders.training.rundir import CALIBRATION_FILES

    assert CALIBRATION_FILES == (DETECTOR_JSON, DETECTOR_TENSORS)
    for name in CALIBRATION_FILES:
        (run / name).write_text("{}")
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    assert f"--resume: removed {run / DETECTOR_JSON}, calibrated on the weights this resume changes" in _err(capsys)
    assert not any((run / name).exists() for name in CALIBRATION_FILES)
    for name in CALIBRATION_FILES:
        (run / name).write_text("{}")
    assert main(TRAIN + ["--out", str(run), "--overwrite"]) == 0
    assert not any((run / name).exists() for name in CALIBRATION_FILES)


def test_a_second_trainer_on_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "busy"
    with claim(out):  # another process's lock: flock conflicts between open file descriptions
        assert main(TRAIN + ["--out", str(out)]) == 2
    assert "in use by another training process" in _err(capsys)
    assert not (out / "config.json").exists()


def test_a_lock_left_by_a_dead_process_does_not_block(tmp_path):
    out = tmp_path / "stale"
    code = ("import sys, os; from autoencoders.training.rundir import claim\n"
            "with claim(sys.argv[1]): os._exit(0)")  # dies holding the lock, without cleanup
    subprocess.run([sys.executable, "-c", code, str(out)], check=True)
    assert (out / ".lock").read_text().strip().isdigit()
    assert main(TRAIN + ["--out", str(out)]) == 0


def test_checkpoint_temp_folders_are_unique_and_cleaned(run):
    (run / "state.tmp").mkdir()  # what a concurrent writer used to share
    (run / "state.tmp" / "optimizer.safetensors").write_bytes(b"other writer")
    assert ae.resume(run, epochs=3, quiet=True).history[-1]["epoch"] == 3
    assert not list(run.glob("state.tmp*"))


def test_resume_to_a_smaller_budget_is_refused_and_changes_nothing(run, capsys):
    assert main(["train", "--resume", str(run), "--epochs", "1", "--quiet"]) == 2
    assert "already trained 2 epochs" in _err(capsys)
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2


@pytest.mark.parametrize("argv,needle", [
    (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
    (["--seed", str(2**70)], "argument --seed: must be in 0.."),
    (["--lr", "inf"], "argument --lr: must be a finite number"),
    (["--nproc", "0"], "argument --nproc: must be a positive integer"),
    (["--validation", "1.5"], "validation must be 'test' or a fraction in (0, 1)"),
    (["--compile", "--nproc", "2"], "compile: the compiled step trains in one process"),
    (["--compile", "--optimizer", "rmsprop"], "compile: the compiled step implements Adam's update only"),
])
def test_bad_train_values_are_errors_before_anything_is_written(argv, needle, tmp_path, capsys, exit_code):
    out = tmp_path / "x"
    assert exit_code(TRAIN + ["--out", str(out)] + argv) == 2
    assert needle in _err(capsys)
    assert not (out / "config.json").exists()


def test_out_naming_a_file_is_an_error(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(TRAIN + ["--out", str(tmp_path / "file")]) == 2
    assert "is a file, not a folder" in _err(capsys)


def test_train_config_types_are_checked():
    with pytest.raises(ConfigError, match=r"'train.epochs' must be an integer, got '2'"):
        TrainConfig(epochs="2").validate()
    with pytest.raises(ConfigError, match=r"'train.batch_size'"):
        TrainConfig(batch_size=[1]).validate()


def test_the_type_check_follows_any_dataclass_annotation():
    """New config fields get checked without new code: Literal, tuple[int, ...], X | None."""
    import dataclasses
    import typing

    from autoencoders.config import check_types

    @dataclasses.dataclass
    class Fields:
        steps: tuple[int, ...] = (1,)
        mode: typing.Literal["a", "b"] = "a"
        rate: float | None = None

    check_types(Fields([1, 2], "b", 3), "x")  # JSON gives lists for tuples, ints for floats
    for bad, needle in ((Fields(["1"]), "x.steps"), (Fields(mode="c"), "'a' or 'b'"), (Fields(rate="1"), "x.rate")):
        with pytest.raises(ConfigError, match=needle):
            check_types(bad, "x")


def _set_json(path, value):
    path.write_text(json.dumps(value))


def _edit_config(**train):
    def edit(run):
        cfg = json.loads((run / "config.json").read_text())
        cfg["train"].update(train)
        _set_json(run / "config.json", cfg)
    return edit


def _model_option(run):
    cfg = json.loads((run / "config.json").read_text())
    cfg["model"]["options"]["code_size"] = "abc"
    _set_json(run / "config.json", cfg)


def _rewrite_weights(run, change=None, metadata=None):
    path = run / "model.safetensors"
    tensors = load_file(str(path))
    meta = checkpoint.load_weights(path)[1]
    if change:
        change(tensors)
    save_file(tensors, str(path), metadata={**meta, **(metadata or {})})


DAMAGE = {
    "weights truncated": lambda r: (r / "model.safetensors").write_bytes((r / "model.safetensors").read_bytes()[:300]),
    "weights empty": lambda r: (r / "model.safetensors").write_bytes(b""),
    "weights garbage": lambda r: (r / "model.safetensors").write_bytes(b"\x07" * 64),
    "weights huge header": lambda r: (r / "model.safetensors").write_bytes((2**62).to_bytes(8, "little") + b"{}"),
    "weights wrong shape": lambda r: _rewrite_weights(
        r, lambda t: t.update({k: torch.zeros(3, 3) for k in list(t)[:1]})),
    "weights missing tensor": lambda r: _rewrite_weights(r, lambda t: t.pop(next(iter(t)))),
    "weights NaN": lambda r: _rewrite_weights(r, lambda t: next(iter(t.values())).fill_(float("nan"))),
    "input_shape not a list": lambda r: _rewrite_weights(r, metadata={"input_shape": '"abc"'}),
    "input_shape huge": lambda r: _rewrite_weights(r, metadata={"input_shape": "[1, 100000, 100000]"}),
    "input_shape zero": lambda r: _rewrite_weights(r, metadata={"input_shape": "[0, 8, 8]"}),
    "config is a list": lambda r: _set_json(r / "config.json", []),
    "config is null": lambda r: _set_json(r / "config.json", None),
    "config is a number": lambda r: _set_json(r / "config.json", 3),
    "config not JSON": lambda r: (r / "config.json").write_bytes(b"\xff{"),
    "batch_size a list": _edit_config(batch_size=[1]),
    "epochs a string": _edit_config(epochs="2"),
    "code_size a string": _model_option,
    "history torn mid-file": lambda r: (r / "history.jsonl").write_text('{"epoch": 1, "tr\n{"epoch": 2}\n'),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_run_folder_gives_one_clear_error(damage, run, capsys):
    DAMAGE[damage](run)
    assert main(["evaluate", str(run)]) == 2
    err = _err(capsys)
    assert str(run) in err and "internal error" not in err


def test_a_torn_last_history_line_is_dropped(run, capsys):
    with open(run / "history.jsonl", "a") as f:
        f.write('{"epoch": 3, "train": {"lo')  # a crash while appending: no newline at the end
    assert main(["evaluate", str(run), "--json"]) == 0
    assert len(ae.load_run(run).history) == 2
    assert ae.resume(run, epochs=3, quiet=True).history[-1]["epoch"] == 3


def _optimizer(run, change):
    path = run / "state" / "optimizer.safetensors"
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path))


STATE_DAMAGE = {
    "moment too short": lambda r: _optimizer(r, lambda t: t.update({"state.0.exp_avg": torch.zeros(3)})),
    "moment too long": lambda r: _optimizer(r, lambda t: t.update({"state.0.exp_avg_sq": torch.ones(64, 64)})),
    "moment negative": lambda r: _optimizer(r, lambda t: t["state.0.exp_avg_sq"].fill_(-1.0)),
    "step wrong dtype": lambda r: _optimizer(r, lambda t: t.update({"state.0.step": torch.tensor(3)})),
    "slot missing": lambda r: _optimizer(r, lambda t: t.pop("state.1.exp_avg")),
    "unknown parameter": lambda r: _optimizer(r, lambda t: t.update({"state.99.exp_avg": torch.zeros(1)})),
    "rng missing": lambda r: _optimizer(r, lambda t: t.pop("rng.cpu")),
    "rng wrong size": lambda r: _optimizer(r, lambda t: t.update({"rng.cpu": torch.zeros(3, dtype=torch.uint8)})),
    "optimizer file missing": lambda r: (r / "state" / "optimizer.safetensors").unlink(),
    "optimizer file garbage": lambda r: (r / "state" / "optimizer.safetensors").write_bytes(b"junk" * 9),
    "trainer.json a list": lambda r: _set_json(r / "state" / "trainer.json", []),
    "trainer.json bad epoch": lambda r: _set_json(r / "state" / "trainer.json", {
        **json.loads((r / "state" / "trainer.json").read_text()), "state": {"epoch": "two"}}),
    "lr not a number": lambda r: _set_json(r / "state" / "trainer.json", _with_lr(r, "fast")),
    "state weights wrong shape": lambda r: save_file({"encoder.weight": torch.zeros(2, 2)},
                                                     str(r / "state" / "model.safetensors")),
}


def _with_lr(run, lr):
    saved = json.loads((run / "state" / "trainer.json").read_text())
    saved["optimizer"]["param_groups"][0]["lr"] = lr
    return saved


@pytest.mark.parametrize("damage", STATE_DAMAGE, ids=list(STATE_DAMAGE))
def test_a_damaged_training_state_is_refused_before_resuming(damage, run, capsys):
    STATE_DAMAGE[damage](run)
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 2
    err = _err(capsys)
    assert str(run / "state") in err or str(run) in err


@pytest.mark.slow
def test_crafted_optimizer_state_never_reaches_fused_adam(run):
    """Before the shape checks this segfaulted (fused Adam read past a 3-element buffer): run it
    in a child process so that a crash fails the test instead of killing the suite."""
    STATE_DAMAGE["moment too short"](run)
    done = subprocess.run([sys.executable, "-m", "autoencoders", "train", "--resume", str(run), "--epochs", "3",
                           "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "state.0.exp_avg" in done.stderr and "is (3,)" in done.stderr


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from safetensors import SafetensorError

    real, calls = checkpoint.save_file, {"n": 0}

    def full_on_second_epoch(tensors, path, metadata=None):
        calls["n"] += 1
        if calls["n"] > 3:  # epoch 1 writes optimizer, state weights, weights: 3 files
            raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, "
                                  "message: \"No space left on device\" })")
        return real(tensors, path, metadata=metadata)

    monkeypatch.setattr(checkpoint, "save_file", full_on_second_epoch)
    with pytest.raises(TrainingError, match="no space left on device while writing .*checkpoint of epoch 1 is intact"):
        ae.train("dense", epochs=2, code_size=8, out=tmp_path / "run", quiet=True)
    monkeypatch.setattr(checkpoint, "save_file", real)
    assert not list((tmp_path / "run").glob("state.tmp*"))
    assert json.loads((tmp_path / "run" / "state" / "trainer.json").read_text())["state"]["epoch"] == 1
    assert ae.resume(tmp_path / "run", epochs=2, quiet=True).history[-1]["epoch"] == 2


def test_a_failed_first_checkpoint_says_none_was_written(tmp_path, monkeypatch):
    # Regression: "the previous checkpoint is intact" when there was none (`ae evaluate` then found no weights).
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_file", full)
    with pytest.raises(TrainingError, match="no space left on device while writing .*; no checkpoint was written yet"):
        ae.train("dense", epochs=1, limit=64, out=tmp_path / "run", quiet=True)
    monkeypatch.undo()

    def no_history(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("autoencoders.training.callbacks.open", no_history, raising=False)
    with pytest.raises(TrainingError, match="history.jsonl; no checkpoint was written yet"):
        ae.train("dense", epochs=1, limit=64, out=tmp_path / "again", quiet=True)


def test_a_nonfinite_first_epoch_does_not_claim_a_checkpoint(tmp_path, monkeypatch):
    from autoencoders.models.dense import DenseAutoencoder

    monkeypatch.setattr(DenseAutoencoder, "penalties", lambda self, z: {"bad": torch.tensor(float("nan"))})
    with pytest.raises(TrainingError, match="no checkpoint was written") as info:
        ae.train("dense", epochs=2, code_size=8, out=tmp_path / "run", quiet=True)
    assert "epoch 0" not in str(info.value)
