"""load_dataset and friends: built-ins and users' files, happy paths and errors that name the file."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from autoencoders.data import DataError, Split, dataset_info, list_datasets, load_dataset, sources
from autoencoders.data.idx import write_idx
from autoencoders.errors import ConfigError


def test_digits_split_shapes_range_and_determinism():
    train, test = load_dataset("digits"), load_dataset("digits", "test")
    assert isinstance(train, Split) and len(train) == 1437 and len(test) == 360
    assert train.images.shape == (1437, 1, 8, 8) and train.images.dtype == torch.float32
    assert train.labels.dtype == torch.int64 and train.labels.shape == (1437,)
    assert float(train.images.min()) == 0.0 and float(train.images.max()) == 1.0
    again = load_dataset("digits")
    assert torch.equal(train.images, again.images) and torch.equal(train.labels, again.labels)
    meta = train.meta
    assert meta["name"] == "digits" and meta["split"] == "train" and meta["n"] == 1437
    assert meta["shape"] == [1, 8, 8] and meta["classes"] == [str(i) for i in range(10)]
    assert "load_digits" in meta["source"]


def test_digits_options():
    assert load_dataset("digits", resize=16).images.shape == (1437, 1, 16, 16)
    rgb = load_dataset("digits", "test", channels=3).images
    assert rgb.shape == (360, 3, 8, 8) and torch.equal(rgb[:, 0], rgb[:, 2])
    seq = load_dataset("digits", as_sequence=True)
    assert seq.images.shape == (1437, 8, 8) and seq.meta["kind"] == "sequence"
    windows = load_dataset("digits", window=4, stride=2)
    assert windows.images.shape == (1437 * 3, 4, 8) and len(windows.labels) == 1437 * 3


@pytest.mark.parametrize("kwargs, match", [
    ({"resize": 0}, "resize"), ({"channels": 2}, "channels"), ({"window": 0}, "window"),
    ({"stride": 2}, "stride needs a window"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_dataset("digits", **kwargs)


def test_unknown_split_and_name():
    with pytest.raises(DataError, match="unknown split of digits 'tset' \\(did you mean 'test'"):
        load_dataset("digits", "tset")
    with pytest.raises(DataError) as e:
        load_dataset("mnits")
    assert "did you mean 'mnist'" in str(e.value) and "digits, fashion-mnist, mnist" in str(e.value)
    with pytest.raises(DataError, match="no such file or folder: .*missing.npy"):
        load_dataset("/nowhere/missing.npy")


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A cache holding small IDX files under the name 'mnist', with a matching spec."""
    folder = tmp_path / "mnist"
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": np.array([7, 2], dtype=np.uint8)}
    specs = []
    for name, array in arrays.items():
        write_idx(folder / name, array)
        specs.append(sources.FileSpec(name, hashlib.sha256((folder / name).read_bytes()).hexdigest()))
    monkeypatch.setitem(sources.SOURCES, "mnist", sources.SourceSpec("mnist", tuple(specs)))
    return tmp_path, arrays


def test_idx_dataset_from_cache(fake_mnist):
    data_dir, arrays = fake_mnist
    train = load_dataset("mnist", data_dir=data_dir, offline=True)
    assert train.images.shape == (6, 1, 28, 28) and train.labels.tolist() == [5, 0, 4, 1, 9, 2]
    np.testing.assert_allclose(train.images[:, 0].numpy(), arrays["train-images-idx3-ubyte"] / 255,
                               rtol=1e-6)
    assert train.meta["source"] == str(data_dir / "mnist")
    info = dataset_info("mnist", data_dir=data_dir, offline=True)
    assert info["splits"] == {"train": 6, "test": 2} and info["shape"] == [1, 28, 28]
    assert info["class_counts"]["test"]["7"] == 1 and info["checksum"].startswith("verified")
    assert {d["name"]: d["cached"] for d in list_datasets(data_dir)} == {
        "digits": True, "mnist": True, "fashion-mnist": False}


def test_npy_uint8_images(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.full((4, 5, 6), 255, dtype=np.uint8))
    data = load_dataset(str(path))
    assert data.images.shape == (4, 1, 5, 6) and float(data.images.max()) == 1.0
    assert data.labels is None and data.meta["source"] == str(path) and data.meta["classes"] is None


def test_npy_float_and_channels_last(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random((3, 7, 7, 3)))
    data = load_dataset(str(path))
    assert data.images.shape == (3, 3, 7, 7) and data.images.dtype == torch.float32
    assert load_dataset(str(path), channels=1).images.shape == (3, 1, 7, 7)


def test_npy_float_out_of_range(tmp_path):
    path = tmp_path / "bad.npy"
    np.save(path, np.linspace(0, 255, 2 * 4 * 4).reshape(2, 4, 4))
    with pytest.raises(DataError) as e:
        load_dataset(str(path))
    assert str(path) in str(e.value) and "range [0, 255]" in str(e.value)
    assert "divide by 255" in str(e.value)


def test_npy_sequences_are_not_rescaled(tmp_path):
    path = tmp_path / "seq.npy"
    series = np.arange(2 * 10 * 3, dtype=np.float64).reshape(2, 10, 3)
    np.save(path, series)
    data = load_dataset(str(path), as_sequence=True)
    assert data.images.shape == (2, 10, 3) and data.images.dtype == torch.float32
    assert float(data.images.max()) == 59.0 and data.meta["kind"] == "sequence"
    windows = load_dataset(str(path), window=4, stride=3)
    assert windows.images.shape == (2 * 3, 4, 3)
    assert windows.images[1, 0].tolist() == series[0, 3].tolist()


def test_npy_errors(tmp_path):
    path = tmp_path / "flat.npy"
    np.save(path, np.zeros((5, 5)))
    with pytest.raises(DataError, match=f"{path}.*needs --window"):
        load_dataset(str(path))
    with pytest.raises(DataError, match=f"{path} has no 'test' split"):
        load_dataset(str(path), "test")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match="cannot read .*junk.npy"):
        load_dataset(str(tmp_path / "junk.npy"))


def test_npz_keys_and_splits(tmp_path):
    x = np.zeros((4, 3, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", images=x, labels=np.array([0, 1, 1, 2]))
    data = load_dataset(str(tmp_path / "a.npz"))
    assert data.labels.tolist() == [0, 1, 1, 2] and data.meta["classes"] == ["0", "1", "2"]
    np.savez(tmp_path / "b.npz", x_train=x, y_train=np.arange(4), x_test=x[:1], y_test=[3])
    assert len(load_dataset(str(tmp_path / "b.npz"), "test")) == 1
    info = dataset_info(str(tmp_path / "b.npz"))
    assert info["splits"] == {"train": 4, "test": 1} and len(info["sha256"]) == 64


def test_npz_errors(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, pixels=np.zeros((2, 3, 3)), targets=np.zeros(2))
    with pytest.raises(DataError, match=f"{path}.*keys found: pixels, targets"):
        load_dataset(str(path))
    np.savez(path, x=np.zeros((2, 3, 3)), y=np.zeros(3, dtype=int))
    with pytest.raises(DataError, match=f"{path}: labels have shape \\(3,\\), expected \\(2,\\)"):
        load_dataset(str(path))


def save_png(path, size=(5, 4), color=None, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color if color is not None else 128).save(path)


def test_image_folder_with_classes(tmp_path):
    for cls, n in (("cat", 2), ("dog", 1)):
        for i in range(n):
            save_png(tmp_path / "imgs" / cls / f"{i}.png")
    (tmp_path / "imgs" / "README.txt").write_text("ignored")
    data = load_dataset(str(tmp_path / "imgs"))
    assert data.images.shape == (3, 1, 4, 5) and data.meta["classes"] == ["cat", "dog"]
    assert data.labels.tolist() == [0, 0, 1]
    assert abs(float(data.images[0, 0, 0, 0]) - 128 / 255) < 1e-6


def test_image_folder_color_resize_and_jpeg(tmp_path):
    save_png(tmp_path / "a.png", (8, 8), (255, 0, 0), "RGB")
    Image.new("RGB", (6, 6), (10, 10, 10)).save(tmp_path / "b.jpg")
    with pytest.raises(DataError) as e:
        load_dataset(str(tmp_path))
    message = str(e.value)
    assert "a.png is 8x8" in message and "b.jpg is 6x6" in message and "--resize" in message
    data = load_dataset(str(tmp_path), resize=(4, 3))
    assert data.images.shape == (2, 3, 4, 3) and data.labels is None
    assert load_dataset(str(tmp_path), resize=4, channels=1).images.shape == (2, 1, 4, 4)


def test_gray_looking_rgb_images_load_as_one_channel(tmp_path):
    save_png(tmp_path / "a.png", color=(9, 9, 9), mode="RGB")
    assert load_dataset(str(tmp_path)).images.shape == (1, 1, 4, 5)


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=f"{tmp_path / 'empty'}: no images found"):
        load_dataset(str(tmp_path / "empty"))
    save_png(tmp_path / "broken" / "ok.png")
    (tmp_path / "broken" / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=f"cannot decode image {tmp_path / 'broken' / 'bad.png'}"):
        load_dataset(str(tmp_path / "broken"))


def test_csv_windows(tmp_path):
    path = tmp_path / "s.csv"
    rows = "\n".join(f"{t},{t * 10},{-t}" for t in range(10))
    path.write_text("a,b,c\n" + rows + "\n")
    data = load_dataset(str(path), window=4)
    assert data.images.shape == (2, 4, 3) and data.labels is None
    assert data.images[1, 0].tolist() == [4.0, 40.0, -4.0]
    assert load_dataset(str(path), window=4, stride=1).images.shape == (7, 4, 3)
    with pytest.raises(DataError, match=f"{path} is a time series .*pass --window"):
        load_dataset(str(path))
    with pytest.raises(DataError, match="fewer than window=11"):
        load_dataset(str(path), window=11)
    assert dataset_info(str(path))["shape"] == [10, 3]


def test_csv_bad_row_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2\n3,4\n5,x\n")
    with pytest.raises(DataError, match=f"{path} line 3: expected 2 numbers"):
        load_dataset(str(path), window=2)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("1")
    with pytest.raises(DataError, match=f"{path}: unsupported file type '.txt'"):
        load_dataset(str(path))


def test_a_csv_wider_than_any_sensible_series_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from autoencoders.data import files

    monkeypatch.setattr(files, "MAX_CSV_COLUMNS", 5)
    path = tmp_path / "wide.csv"
    path.write_text("1,2,3,4,5\n" + ",".join(["1"] * 6) + "\n")
    with pytest.raises(DataError, match=f"{path} line 2: 6 columns; .* at most 5 "):
        load_dataset(str(path), window=1)
    path.write_text("1,2,3,4,5\n6,7,8,9,10\n")
    assert load_dataset(str(path), window=1).images.shape == (2, 1, 5)
