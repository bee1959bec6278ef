"""Issue #13, data: damaged files are DataErrors naming the file; silent wrong results are errors."""

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from autoencoders.cli import main
from autoencoders.data import load_dataset
from autoencoders.errors import DataError

TRAIN = ["train", "dense", "--epochs", "1", "--code-size", "4", "--quiet"]


def _npz(path, **members):
    """An .npz whose members are raw bytes (for damaged ones) or arrays."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in members.items():
            if isinstance(value, np.ndarray):
                buf = io.BytesIO()
                np.save(buf, value, allow_pickle=True)
                value = buf.getvalue()
            zf.writestr(f"{name}.npy", value)
    return path


def _npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _huge_header(path):
    """A valid header claiming (2**22, 2**20, 2**20) uint8 pixels: 4 PiB (the report's 23 TiB, and more)."""
    header = _npy_bytes(np.zeros((2, 1, 1), np.uint8)).replace(b"(2, 1, 1)", b"(4194304, 1048576, 1048576)")
    path.write_bytes(header)
    return path


DAMAGED = {
    "str dtype": lambda p: np.save(p.with_suffix(".npy"), np.array([["a", "b"], ["c", "d"]])),
    "str dtype as sequence": lambda p: np.save(p.with_suffix(".npy"), np.array([["a", "b"], ["c", "d"]])),
    "structured dtype": lambda p: np.save(p.with_suffix(".npy"), np.zeros((2, 4, 4), dtype=[("a", "u1"), ("b", "f4")])),
    "header claims 4 PiB": lambda p: _huge_header(p.with_suffix(".npy")),
    "random bytes .npy": lambda p: p.with_suffix(".npy").write_bytes(bytes(range(256)) * 4),
    "random bytes .npz": lambda p: p.with_suffix(".npz").write_bytes(bytes(range(256)) * 4),
    "object member in .npz": lambda p: _npz(p.with_suffix(".npz"), x=np.array([None, 1], dtype=object)),
    "truncated member in .npz": lambda p: _npz(p.with_suffix(".npz"), x=_npy_bytes(np.zeros((5, 8, 8)))[:200]),
    "huge label": lambda p: np.savez(p.with_suffix(".npz"), x=np.zeros((3, 8, 8), np.uint8),
                                     y=np.array([0, 1, 10**12])),
    "truncated .npy": lambda p: p.with_suffix(".npy").write_bytes(_npy_bytes(np.zeros((5, 8, 8)))[:200]),
    "pickled .npy": lambda p: np.save(p.with_suffix(".npy"), np.array([None, 1], dtype=object), allow_pickle=True),
    "negative size in the header": lambda p: p.with_suffix(".npy").write_bytes(
        _npy_bytes(np.zeros((2, 8, 8), np.uint8)).replace(b"(2, 8, 8)", b"(-2, 8, 8)")),
}


@pytest.mark.parametrize("damage", DAMAGED, ids=list(DAMAGED))
def test_damaged_data_files_are_data_errors(damage, tmp_path):
    DAMAGED[damage](tmp_path / "data")
    path = next(tmp_path.iterdir())
    with pytest.raises(DataError, match=path.name) as info:
        load_dataset(str(path), as_sequence=damage.endswith("sequence"))
    assert "pickled" not in str(info.value) or "object" in damage


@pytest.mark.parametrize("stream", [[], ["--stream", "true"], ["--stream", "false"]], ids=["auto", "true", "false"])
@pytest.mark.parametrize("damage", DAMAGED, ids=list(DAMAGED))
def test_damaged_data_files_fail_ae_train_with_one_line(damage, stream, tmp_path, capsys):
    DAMAGED[damage](tmp_path / "data")
    path = next(tmp_path.iterdir())
    argv = TRAIN + ["--data", str(path), "--validation", "0.2", "--out", str(tmp_path / "run"), *stream]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert path.name in err or "stream=True needs" in err
    assert "internal error" not in err and len(err.strip().splitlines()) == 1


def test_random_bytes_are_not_called_pickled_data(tmp_path):
    (tmp_path / "r.npy").write_bytes(b"\x01\x02garbage" * 10)
    with pytest.raises(DataError, match="not a numpy array") as info:
        load_dataset(str(tmp_path / "r.npy"))
    assert "pickled" not in str(info.value)


def test_nan_pixels_are_named_as_nan(tmp_path):
    x = np.full((2, 4, 4), 0.5, np.float32)
    x[0, 0, 0] = np.nan
    np.save(tmp_path / "n.npy", x)
    with pytest.raises(DataError, match="1 pixel values are NaN") as info:
        load_dataset(str(tmp_path / "n.npy"))
    assert "nan, nan" not in str(info.value)


def test_image_size_error_names_the_real_flag(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    Image.new("L", (6, 6)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match=r"--resize N \(") as info:
        load_dataset(str(tmp_path))
    assert "--resize H W" not in str(info.value)


def test_float_tiff_in_unit_range_keeps_its_values(tmp_path):
    values = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    for name in ("a.tif", "b.tif"):
        Image.fromarray(values).save(tmp_path / name)
    ds = load_dataset(str(tmp_path))
    assert torch.allclose(ds.images[0, 0], torch.from_numpy(values), atol=1e-6)


def test_data_info_does_not_send_users_to_a_missing_file(tmp_path):
    from autoencoders.data.datasets import _checksums

    assert "DATA.md" not in str(_checksums("mnist", tmp_path, str(tmp_path)))


@pytest.mark.parametrize("make,extra", [
    (lambda d: None, ["--data", "digits", "--validation", "0.9999"]),
    (lambda d: np.save(d / "one.npy", np.zeros((1, 8, 8), np.uint8)), ["--data", "{d}/one.npy", "--validation", "0.2"]),
    (lambda d: (d / "s.csv").write_text("0.1\n0.2\n0.3\n0.4\n"),
     ["--data", "{d}/s.csv", "--window", "4", "--validation", "0.2"]),
])
def test_training_on_zero_samples_is_an_error(make, extra, tmp_path, capsys):
    make(tmp_path)
    argv = TRAIN + [a.format(d=tmp_path) for a in extra] + ["--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "0 training" in err and "Traceback" not in err


def test_unscaled_series_through_a_sigmoid_model_is_an_error(tmp_path, capsys):
    series = 1000 + 500 * np.sin(np.linspace(0, 20, 200))
    (tmp_path / "s.csv").write_text("\n".join(f"{v:.3f}" for v in series))
    argv = ["train", "lstm", "--data", str(tmp_path / "s.csv"), "--window", "20", "--validation", "0.2",
            "--epochs", "1", "--code-size", "4", "--quiet", "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "scale the data to [0, 1]" in err and "--output-activation linear --loss mse" in err
    assert main(argv + ["--output-activation", "linear", "--loss", "mse"]) == 0


@pytest.mark.parametrize("array,needle", [
    (np.full((2, 1, 8, 8), 300.0, np.float32), "expected within [0, 1]"),
    (np.full((2, 1, 8, 8), np.nan, np.float32), "NaN"),
])
def test_denoise_checks_its_input_as_training_does(array, needle, run_dir, tmp_path, capsys):
    np.save(tmp_path / "in.npy", array)
    assert main(["denoise", str(run_dir), str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy")]) == 2
    assert needle in capsys.readouterr().err


def test_denoise_scales_integer_pixels_like_uint8(run_dir, tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (3, 1, 8, 8))
    np.save(tmp_path / "u8.npy", pixels.astype(np.uint8))
    np.save(tmp_path / "i64.npy", pixels.astype(np.int64))
    for name in ("u8", "i64"):
        out = tmp_path / f"{name}-out.npy"
        assert main(["denoise", str(run_dir), str(tmp_path / f"{name}.npy"), "-o", str(out)]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "u8-out.npy"), np.load(tmp_path / "i64-out.npy"))


def test_corrupt_cached_gz_advises_deleting_it(tmp_path):
    from autoencoders.data import sources

    spec = sources.get_source("mnist")
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / f"{spec.files[0].name}.gz").write_bytes(b"\x1f\x8b" + b"broken")
    with pytest.raises(DataError, match="corrupt gzip.*delete .* and run `ae data fetch mnist` again"):
        sources.missing_files(spec, folder)


@pytest.mark.parametrize("argv,needle", [
    (["evaluate", "{run}", "--device", "tpu"], "unknown device 'tpu'"),
    (["reconstruct", "{run}", "-o", "{tmp}/x.txt"], "cannot write a figure as '.txt'"),
])
def test_cli_arguments_are_checked(argv, needle, run_dir, tmp_path, capsys):
    assert main([a.format(run=run_dir, tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_unexpected_errors_ask_for_a_bug_report_and_save_the_traceback(run_dir, monkeypatch, capsys):
    import autoencoders.api

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(autoencoders.api, "load_run", broken)
    monkeypatch.delenv("AE_DEBUG", raising=False)
    assert main(["evaluate", str(run_dir)]) == 1
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: boom" in err and "please report it" in err
    saved = err.split("traceback saved in ")[1].split()[0]
    assert "Traceback" in open(saved).read() and "Traceback" not in err
    monkeypatch.setenv("AE_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["evaluate", str(run_dir)])


def test_os_errors_are_reported_without_a_traceback(run_dir, tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["reconstruct", str(run_dir), "--npy", str(blocked / "r.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ae reconstruct: error: ") and str(blocked) in err and "Traceback" not in err


def test_seeds_out_of_range_are_usage_errors(run_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["sample", str(run_dir), "-o", str(tmp_path / "s.png"), "--seed", str(2**70)])
    assert info.value.code == 2 and "must be in 0..4294967295" in capsys.readouterr().err
