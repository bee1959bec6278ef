"""report/data_baselines.py: the data's own baselines, computed once per dataset and cached beside it."""

import dataclasses
from collections import Counter

import pytest

from autoencoders.data import Split, load_dataset
from autoencoders.evaluation import baselines
from autoencoders.presets import PROFILES
from autoencoders.report import data_baselines
from autoencoders.report.data_baselines import DataBaselines
from autoencoders.viz import latent

PROFILE = dataclasses.replace(PROFILES["tiny"], probe_samples=200, tsne_samples=60, jpeg_images=20)
CODE = 8  # numbers in a code: PCA with 8 components, JPEG at 8 and 32 bytes


@pytest.fixture
def calls(monkeypatch):
    """How often each baseline was computed (not read from the cache)."""
    counts = Counter()

    def counting(owner, name, tag):
        real = getattr(owner, name)

        def wrapper(*args, **kwargs):
            counts[tag] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counting(baselines, "mean_image", "mean image")
    counting(data_baselines, "probes", "probes")  # raw pixels' and PCA codes'
    counting(latent, "project_2d", "t-SNE")
    counting(baselines, "pca_baseline", "PCA")
    counting(baselines, "jpeg_baseline", "JPEG")
    return counts


def measure(tmp_path, **kwargs):
    base = DataBaselines("digits", 0, data_dir=tmp_path / "data", **kwargs)
    return base.section(PROFILE, tmp_path / "report"), base.matched(CODE, PROFILE)


ALL = {"mean image": 1, "probes": 2, "t-SNE": 1, "PCA": 1, "JPEG": 2}


def test_the_second_reproduction_reads_every_baseline_from_the_cache(tmp_path, calls):
    first = measure(tmp_path)
    assert calls == ALL
    second = measure(tmp_path)
    assert calls == ALL  # nothing computed again
    assert second == first
    assert (tmp_path / "report" / "figures" / "tsne-pixels.png").is_file()  # the figure is drawn from the cache
    assert list((tmp_path / "data" / "digits" / "derived").glob("pixel-tsne-*.points.npy"))


def test_cached_values_are_the_fresh_ones(tmp_path):
    measure(tmp_path)
    assert measure(tmp_path) == measure(tmp_path, cache=False)


def test_other_data_is_another_key(tmp_path, calls):
    measure(tmp_path)
    train = load_dataset("digits", "train")
    images = train.images.clone()
    images[0, 0, 0, 0] = 1.0 - images[0, 0, 0, 0]  # one pixel of one training image: another checksum
    changed = measure(tmp_path, train=Split(images, train.labels, train.meta))
    # everything reading the training split is recomputed, what reads only the test split is not
    assert calls == {"mean image": 2, "probes": 4, "t-SNE": 1, "PCA": 2, "JPEG": 2}
    assert changed[0].mean_image != measure(tmp_path)[0].mean_image


def test_other_settings_are_another_key(tmp_path, calls):
    measure(tmp_path)
    base = DataBaselines("digits", 0, data_dir=tmp_path / "data")
    base.matched(CODE, dataclasses.replace(PROFILE, jpeg_images=10))
    assert calls["JPEG"] == 4 and calls["PCA"] == 1
    DataBaselines("digits", 1, data_dir=tmp_path / "data").section(PROFILE, tmp_path / "report")
    assert calls["probes"] == 3 and calls["t-SNE"] == 2 and calls["mean image"] == 1  # the seed picks the rows


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong fields"])
def test_a_torn_entry_is_recomputed_and_replaced(tmp_path, calls, damage):
    first = measure(tmp_path)
    folder = tmp_path / "data" / "digits" / "derived"
    for path in folder.glob("*.json"):
        text = path.read_text()
        path.write_text({"truncated": text[: len(text) // 3], "garbage": "\x00garbage",
                         "wrong fields": text.replace('"bce"', '"bse"').replace('"knn_probe"', '"knn"')}[damage])
    for path in folder.glob("*.npy"):
        path.write_bytes(path.read_bytes()[:-5])
    assert measure(tmp_path) == first
    assert calls == {k: 2 * v for k, v in ALL.items()}
    assert measure(tmp_path) == first  # and the rewritten entries are read back
    assert calls == {k: 2 * v for k, v in ALL.items()}

