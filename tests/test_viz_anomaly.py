"""viz/anomaly.py: the anomaly figures draw what they are given, save, and refuse inputs they cannot draw."""

import numpy as np
import pytest
import torch

from autoencoders.errors import ConfigError
from autoencoders.viz import anomaly_gallery, roc_curves, save_figure, score_histograms


@pytest.fixture
def scored():
    """300 samples, the first 100 normal; two scores, the anomalies higher in both."""
    rng = np.random.default_rng(0)
    is_normal = np.r_[np.ones(100, bool), np.zeros(200, bool)]
    a = np.where(is_normal, rng.normal(0, 1, 300), rng.normal(3, 1, 300))
    b = np.where(is_normal, rng.gamma(2.0, size=300), rng.gamma(5.0, size=300))
    return {"a": a, "b": b}, is_normal


def _vlines(ax):
    return [line for line in ax.get_lines() if len(set(np.asarray(line.get_xdata(), float))) == 1]


def test_histograms_one_panel_per_score_and_a_line_per_threshold(scored, tmp_path):
    scores, is_normal = scored
    fig = score_histograms(scores, is_normal, {"a": {"alpha 0.05": 1.6, "alpha 0.01": 2.3}}, title="class 0")
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    first, second = fig.axes
    assert [float(line.get_xdata()[0]) for line in _vlines(first)] == [1.6, 2.3] and not _vlines(second)
    labels = [t.get_text() for t in first.get_legend().get_texts()]
    assert labels[:2] == ["normal (100)", "anomalous (200)"]
    rate = np.mean(scores["a"][is_normal] > 1.6)
    assert labels[2].startswith(f"alpha 0.05: {rate:.1%} of normal")  # the realised rate, said in the legend
    # densities: each class's bars integrate to 1 whatever its size
    normal_bars = first.containers[0]
    width = normal_bars[0].get_width()
    assert sum(bar.get_height() for bar in normal_bars) * width == pytest.approx(1.0)
    save_figure(fig, tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_histograms_count_far_scores_in_the_last_bin(scored):
    scores, is_normal = scored
    far = scores["a"].copy()
    far[-1] = 1e6  # one far anomaly must not squeeze the rest into one bar
    (ax,) = score_histograms({"a": far}, is_normal, bins=20).axes
    assert ax.get_xlim()[1] < 100
    anomalous = ax.containers[1]
    assert sum(bar.get_height() for bar in anomalous) * anomalous[0].get_width() == pytest.approx(1.0)


def test_roc_one_curve_per_score_labelled_with_its_auroc(scored):
    from sklearn.metrics import roc_auc_score

    scores, is_normal = scored
    fig = roc_curves({**scores, "c": -scores["b"]}, is_normal, highlight=["a"], dashed=["c"], title="t")
    (ax,) = fig.axes
    labelled = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in labelled] == [
        f"{name} ({roc_auc_score(~is_normal, s):.3f})" for name, s in {**scores, "c": -scores["b"]}.items()]
    assert len(ax.get_lines()) == 4  # and the unlabelled chance diagonal
    a, b, c = labelled
    assert a.get_linewidth() > b.get_linewidth() and c.get_linestyle() == "--" and b.get_linestyle() == "-"
    assert a.get_xdata()[0] == 0 and a.get_xdata()[-1] == 1 and a.get_ydata()[-1] == 1


def test_gallery_shows_the_highest_and_lowest_scores_over_their_error_maps(tmp_path):
    torch.manual_seed(0)
    images = torch.rand(20, 1, 6, 6)
    errors = images ** 2
    scores = np.arange(20.0)
    fig = anomaly_gallery(images, errors, scores, n=3, labels=np.arange(20) % 10, title="t")
    grid = fig.axes[:-1]  # the last axes: the error maps' colour bar
    assert len(grid) == 4 * 3
    assert [grid[j].get_title() for j in range(3)] == ["9: 19", "8: 18", "7: 17"]  # highest first
    assert [grid[6 + j].get_title() for j in range(3)] == ["0: 0", "1: 1", "2: 2"]  # lowest first
    assert "anomalous" in grid[0].get_ylabel() and "normal" in grid[6].get_ylabel()
    shown = grid[3].get_images()[0].get_array()  # under the top-scoring image: its error map
    np.testing.assert_allclose(shown, errors[19, 0].numpy(), rtol=1e-6)
    vmax = {ax.get_images()[0].get_clim()[1] for ax in (grid[3], grid[4], grid[9])}
    assert len(vmax) == 1  # the maps share one colour scale
    save_figure(fig, tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 0


@pytest.mark.parametrize("call,message", [
    (lambda s, m: score_histograms({}, m), "non-empty mapping"),
    (lambda s, m: score_histograms({"a": s["a"][:10]}, m), "has 10 values, is_normal 300"),
    (lambda s, m: score_histograms(s, np.ones(300, bool)), "some samples normal and some anomalous"),
    (lambda s, m: score_histograms(s, m.astype(int)), "booleans"),
    (lambda s, m: score_histograms({"a": np.r_[s["a"][:-1], np.nan]}, m), "finite"),
    (lambda s, m: score_histograms(s, m, {"z": {"t": 1.0}}), "thresholds for scores not drawn: z"),
    (lambda s, m: score_histograms(s, m, clip=0), "clip in"),
    (lambda s, m: roc_curves({"a": s["a"][:, None]}, m), r"one value per sample, \(N,\)"),
    (lambda s, m: roc_curves(s, m, highlight=["z"]), "not drawn: z"),
])
def test_figures_refuse_what_they_cannot_draw(scored, call, message):
    with pytest.raises(ConfigError, match=message):
        call(*scored)


def test_gallery_refuses_mismatched_inputs():
    images, scores = torch.rand(10, 1, 6, 6), np.arange(10.0)
    with pytest.raises(ConfigError, match="same samples"):
        anomaly_gallery(images, torch.rand(9, 1, 6, 6), scores)
    with pytest.raises(ConfigError, match="same samples"):
        anomaly_gallery(images, torch.rand(10, 1, 5, 5), scores)
    with pytest.raises(ConfigError, match="error maps must be"):
        anomaly_gallery(images, torch.rand(10, 36), scores)
    with pytest.raises(ConfigError, match="n must be between 1 and half the samples"):
        anomaly_gallery(images, images, scores, n=6)
    with pytest.raises(ConfigError, match="labels has 3 values"):
        anomaly_gallery(images, images, scores, n=2, labels=[1, 2, 3])
