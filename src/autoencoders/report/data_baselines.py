"""The report's baselines that depend only on the data, each computed once per dataset.

The mean training image and the entropy floor, the probes and the t-SNE of raw pixels, PCA and
JPEG at a code's size: none depends on a model, so `DataBaselines` loads the two splits once per
reproduction and keeps each value in the data's cache folder (data/derived.py), keyed by the
checksums of the splits it reads, the settings that size it (seed, samples, components, bytes),
the libraries' versions and `VERSION`. A second `ae reproduce` of the same data reads them back
(the models' own numbers are always measured afresh, on the whole test split).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from ..data import Split, load_dataset
from ..data.derived import cached, checksum, derived_dir
from ..evaluation import baselines
from ..evaluation.probes import probes
from ..presets import Profile
from .figures import pixel_tsne_figure
from .results import Baselines, DatasetResult, JPEGBaseline, PCABaseline, Probes, Quality, _load

# Bump when how a value below is computed changes (a probe's settings, the t-SNE's, the metrics):
# entries written before are then not read.
VERSION = 1


def versions() -> dict:
    """The libraries whose versions can change a cached value (their solvers, JPEG's encoder)."""
    import numpy
    import PIL
    import sklearn

    return {"numpy": numpy.__version__, "torch": torch.__version__, "scikit-learn": sklearn.__version__,
            "Pillow": PIL.__version__}


class DataBaselines:
    """One dataset's baselines for one reproduction: `section` (the report's Baselines section)
    and `matched(code_numel, prof)` (PCA and JPEG at a code's size). `cache=False` computes them
    all without reading or writing the cache."""

    def __init__(self, data: str, seed: int = 0, *, cache: bool = True, data_dir=None,
                 train: Split | None = None, test: Split | None = None):
        self.name, self.seed = data, seed
        self.train = train if train is not None else load_dataset(data, "train", data_dir=data_dir)
        self.test = test if test is not None else load_dataset(data, "test", data_dir=data_dir)
        self.folder: Path | None = derived_dir(data, data_dir) if cache else None
        self._matched: dict[tuple, Baselines] = {}

    @property
    def labelled(self) -> bool:
        return self.train.labels is not None and self.test.labels is not None

    def section(self, prof: Profile, out: Path) -> DatasetResult:
        """Mean image, entropy floor, raw-pixel probes and t-SNE: the report's Baselines section."""
        train, test = self.train, self.test
        floor = self._value("mean-image", ("train", "test"), {}, _MeanImage, lambda: _MeanImage(
            mean_image=Quality(**baselines.mean_image(train.images, test.images)),
            entropy_floor=baselines.entropy_floor(test.images)))
        pixel_probes = None
        if self.labelled:
            n = min(prof.probe_samples, len(train))
            pixel_probes = self._value("pixel-probes", ("train", "test"), {"seed": self.seed, "samples": n}, Probes,
                                       lambda: self._probes(train.images, test.images, n))
        figures = []
        if test.labels is not None:
            figures.append(pixel_tsne_figure(self.pixel_tsne(prof.tsne_samples), test.labels, out / "figures"))
        return DatasetResult(name=self.name, n_train=len(train), n_test=len(test), shape=list(test.images.shape[1:]),
                             mean_image=floor.mean_image, entropy_floor=floor.entropy_floor,
                             pixel_probes=pixel_probes, figures=figures)

    def pixel_tsne(self, samples: int):
        """(n, 2) t-SNE of the first `samples` raw test images (viz.latent.project_2d)."""
        from ..viz.latent import project_2d

        n = min(samples, len(self.test))

        def compute():
            return None, {"points": project_2d(self.test.images[:n], "tsne", self.seed)}

        def check(_, arrays):
            if arrays["points"].shape != (n, 2):
                raise ValueError("t-SNE points of another size")

        _, arrays = cached(self.folder, "pixel-tsne", self._key(("test",), {"seed": self.seed, "samples": n}),
                           compute, check)
        return arrays["points"]

    def matched(self, code_numel: int, prof: Profile) -> Baselines:
        """PCA with as many components as the code has numbers; JPEG with as many bytes (float32 and 8-bit)."""
        n_probe = min(prof.probe_samples, len(self.train))
        memo = (code_numel, n_probe, prof.jpeg_images)
        if memo not in self._matched:
            self._matched[memo] = Baselines(pca=self.pca(code_numel, n_probe),
                                            jpeg_float32=self.jpeg(4 * code_numel, prof.jpeg_images),
                                            jpeg_8bit=self.jpeg(code_numel, prof.jpeg_images))
        return self._matched[memo]

    def pca(self, code_numel: int, probe_samples: int) -> PCABaseline:
        train, test = self.train, self.test
        k = min(code_numel, int(train.images[0].numel()))

        def compute():
            metrics, pca_train, pca_test = baselines.pca_baseline(train.images, test.images, k, seed=self.seed)
            pca_probes = self._probes(pca_train, pca_test, probe_samples) if self.labelled else None
            return PCABaseline(**metrics, components=k, probes=pca_probes)

        settings = {"components": k, "seed": self.seed, "probe_samples": probe_samples if self.labelled else None}
        return self._value("pca", ("train", "test"), settings, PCABaseline, compute)

    def jpeg(self, max_bytes: int, images: int) -> JPEGBaseline:
        n = min(images, len(self.test))
        return self._value("jpeg", ("test",), {"max_bytes": max_bytes, "images": n}, JPEGBaseline,
                           lambda: JPEGBaseline(**baselines.jpeg_baseline(self.test.images, max_bytes, n=n)))

    def _probes(self, train_x, test_x, n: int) -> Probes:
        """Probes fit on `n` seeded rows of the training samples `train_x`, scored on every test sample."""
        rows = torch.randperm(len(self.train), generator=torch.Generator().manual_seed(self.seed))[:n]
        train_x = train_x[rows] if torch.is_tensor(train_x) else train_x[rows.numpy()]
        return Probes(**probes(train_x, self.train.labels[rows], test_x, self.test.labels))

    def _key(self, splits: tuple, settings: dict) -> dict:
        return {"splits": {s: checksum(getattr(self, s)) for s in splits}, "settings": settings,
                "versions": versions(), "version": VERSION}

    def _value(self, kind: str, splits: tuple, settings: dict, cls, compute):
        """A dataclass value of `cls` from the cache, or computed and stored; read back through
        results.py's typed loader, so an entry of the wrong shape is recomputed."""
        read: list = []

        def check(value, _):
            read.append(_load(cls, value, kind))

        value, _ = cached(self.folder, kind, self._key(splits, settings),
                          lambda: (dataclasses.asdict(compute()), {}), check)
        return read[0] if read else _load(cls, value, kind)


@dataclasses.dataclass(kw_only=True)
class _MeanImage:
    mean_image: Quality  # every test image reconstructed as the mean training image
    entropy_floor: float  # the BCE of a perfect reconstruction
