"""Anomaly scores over codes and reconstructions, their fitted state, and the conformal threshold."""

import math

import numpy as np
import pytest
import torch
from sklearn.covariance import LedoitWolf
from sklearn.neighbors import LocalOutlierFactor

import autoencoders as ae
from autoencoders.data import load_dataset
from autoencoders.errors import ConfigError, DataError
from autoencoders.evaluation import detection
from autoencoders.evaluation.anomaly import reconstruction_errors, roc_auc
from autoencoders.evaluation.detection import Calibration, Scorer, fit_detector, fit_scorer
from autoencoders.models.base import Autoencoder
from autoencoders.registry import create_model


class Flat(Autoencoder):
    """Code = the input itself; reconstruction = a constant 0.5: scores over codes are scores over x."""

    def __init__(self, n=3):
        super().__init__((n,), loss="mse")
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def encode(self, x):
        return x

    def decode_logits(self, z):
        return torch.zeros_like(z) + self.bias


def test_knn_and_mahalanobis_are_the_textbook_distances():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(200, 3)).astype(np.float32), rng.normal(size=(30, 3)).astype(np.float32)
    model = Flat()
    scorer = fit_scorer(model, train, score="knn", k=3)
    d = np.linalg.norm(test[:, None, :] - train[None, :, :], axis=2)
    np.testing.assert_allclose(scorer.score(model, test), np.sort(d, 1)[:, :3].mean(1), rtol=1e-5)
    lof = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(train)
    np.testing.assert_allclose(fit_scorer(model, train, score="lof").score(model, test), -lof.score_samples(test),
                               rtol=1e-5)
    maha = fit_scorer(model, train, score="maha")
    np.testing.assert_allclose(maha.score(model, test), LedoitWolf().fit(train).mahalanobis(test), rtol=1e-4)
    mse = fit_scorer(model, train, score="mse").score(model, test)
    np.testing.assert_allclose(mse, ((test - 0.5) ** 2).mean(1), rtol=1e-5)  # models.base.model_errors


def test_a_combined_score_sums_parts_standardised_on_held_out_data():
    rng = np.random.default_rng(1)
    train, held, test = (rng.normal(size=(n, 3)).astype(np.float32) for n in (100, 50, 20))
    model = Flat()
    scorer = fit_scorer(model, train, held, score="knn+maha")
    raw = scorer.raw(model, test)
    held_raw = scorer.raw(model, held)
    expected = sum((raw[p] - held_raw[p].mean()) / held_raw[p].std(ddof=1) for p in ("knn", "maha"))
    np.testing.assert_allclose(scorer.score(model, test), expected, rtol=1e-6)
    np.testing.assert_allclose(scorer.select("maha").score(model, test), raw["maha"])
    with pytest.raises(ConfigError, match="held-out normal data"):
        fit_scorer(model, train, score="knn+maha")
    with pytest.raises(ConfigError, match="did not fit: mse"):
        scorer.select("mse+knn")


def test_scorer_round_trips_through_json_and_tensors_and_refuses_damage():
    rng = np.random.default_rng(2)
    train, held = rng.normal(size=(60, 3)).astype(np.float32), rng.normal(size=(20, 3)).astype(np.float32)
    model = Flat()
    scorer = fit_scorer(model, train, held, score="mse+knn+lof+maha", k=2)
    back = Scorer.from_json(scorer.to_json(), scorer.tensors(), "anomaly.json")
    np.testing.assert_array_equal(back.score(model, held), scorer.score(model, held))
    with pytest.raises(DataError, match=r"anomaly.json: expected tensors \['knn.bank', 'lof.bank', 'lof.kdist'"):
        Scorer.from_json(scorer.to_json(), {"knn.bank": torch.zeros(2, 3)}, "anomaly.json")
    bad = dict(scorer.to_json(), standardisation={**scorer.to_json()["standardisation"], "mse": {"mean": 0, "std": 0}})
    with pytest.raises(DataError, match="standardisation of 'mse'"):
        Scorer.from_json(bad, scorer.tensors(), "anomaly.json")
    with pytest.raises(DataError, match="unknown score 'mas'"):
        Scorer.from_json(dict(scorer.to_json(), score="mse+mas"), scorer.tensors(), "anomaly.json")


def test_score_names():
    assert detection.parse_score("mse+knn+maha") == ("mse", "knn", "maha")
    with pytest.raises(ConfigError, match="did you mean 'knn'"):
        detection.parse_score("mse+kn")
    with pytest.raises(ConfigError, match="twice"):
        detection.parse_score("mse+mse")


def test_conformal_threshold_and_p_values():
    scores = np.arange(1, 20, dtype=float)  # n = 19
    assert detection.conformal_threshold(scores, 0.05) == 19.0  # ceil(20 * 0.95) = 19th smallest
    assert detection.conformal_threshold(scores, 0.1) == 18.0  # ceil(20 * 0.9) = 18
    np.testing.assert_allclose(detection.p_values(scores, [0.5, 19, 19.5, 10]), [20 / 20, 2 / 20, 1 / 20, 11 / 20])
    assert [detection.min_calibration(a) for a in (0.05, 0.01, 0.5)] == [19, 99, 1]
    with pytest.raises(DataError, match="needs at least 19 calibration samples, got 18"):
        detection.conformal_threshold(scores[:18], 0.05)
    for alpha in (0, 1, -0.1, 1.5, float("nan")):
        with pytest.raises(ConfigError, match=r"alpha .* must be in \(0, 1\)"):
            detection.conformal_threshold(scores, alpha)


def test_calibration_json_is_checked():
    cal = Calibration.fit("mse", np.arange(30.0), 0.1)
    assert Calibration.from_json(cal.to_json(), "a.json") == cal
    with pytest.raises(DataError, match="a.json: 'threshold' is 1.0.*the file was edited"):
        Calibration.from_json(dict(cal.to_json(), threshold=1.0), "a.json")
    with pytest.raises(DataError, match="a.json: 'scores' must be a list of n finite"):
        Calibration.from_json(dict(cal.to_json(), n=29), "a.json")
    with pytest.raises(DataError, match=r"a.json: alpha .* must be in \(0, 1\)"):
        Calibration.from_json(dict(cal.to_json(), alpha=2), "a.json")


def test_conformal_guarantee_holds_over_many_draws():
    """Split conformal: P(a new normal score > threshold) <= alpha; for continuous scores it is
    1 - ceil((n + 1)(1 - alpha)) / (n + 1) exactly (n = 49: 0.10 at alpha 0.1, 0.04 at 0.05)."""
    rng = np.random.default_rng(0)
    draws, n, fresh = 2000, 49, 200
    for alpha in (0.1, 0.05):
        rates = []
        for _ in range(draws):
            cal = Calibration.fit("x", rng.gamma(2.0, size=n), alpha)
            rates.append(cal.flags(rng.gamma(2.0, size=fresh)).mean())
        exact = 1 - math.ceil((n + 1) * (1 - alpha)) / (n + 1)
        se = np.std(rates) / math.sqrt(draws)
        assert np.mean(rates) <= alpha + 3 * se, (alpha, np.mean(rates), se)
        assert abs(np.mean(rates) - exact) < 4 * se  # not merely conservative: the rate it promises


def test_fpr_spread_is_how_realised_rates_scatter():
    """fpr_spread(n, alpha, m): the mean and standard deviation, over draws of n calibration scores
    and m fresh normal ones, of the share of the fresh ones above the conformal threshold."""
    rng = np.random.default_rng(1)
    n, m, alpha, draws = 60, 100, 0.1, 3000
    rates = [Calibration.fit("x", rng.normal(size=n), alpha).flags(rng.normal(size=m)).mean() for _ in range(draws)]
    mean, sd = detection.fpr_spread(n, alpha, m)
    assert mean == pytest.approx(1 - math.ceil((n + 1) * (1 - alpha)) / (n + 1))
    assert np.mean(rates) == pytest.approx(mean, abs=4 * sd / math.sqrt(draws))
    assert np.std(rates) == pytest.approx(sd, rel=0.05)
    # without m: the threshold's own spread, smaller; more calibration scores, smaller still
    own = detection.fpr_spread(n, alpha)[1]
    assert own < sd and detection.fpr_spread(4 * n, alpha)[1] == pytest.approx(own / 2, rel=0.05)
    assert sd ** 2 == pytest.approx(own ** 2 + mean * (1 - mean) / m, rel=0.05)
    with pytest.raises(DataError, match="alpha 0.01 needs at least 99 calibration samples, got 50"):
        detection.fpr_spread(50, 0.01)
    with pytest.raises(ConfigError, match="m .* must be a positive integer"):
        detection.fpr_spread(50, 0.1, 0)


def test_error_maps_are_what_the_reconstruction_error_averages():
    from autoencoders.models.base import model_errors

    torch.manual_seed(0)
    model = create_model("conv", (1, 28, 28))
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        for kind in ("mse", "bce"):
            maps = model_errors(model, x, kind=kind, per_value=True)
            assert maps.shape == x.shape and bool((maps >= 0).all())
            torch.testing.assert_close(maps.flatten(1).mean(1), model_errors(model, x, kind=kind))
        recon = model.decode(model.encode(x))
        torch.testing.assert_close(model_errors(model, x, kind="mse", per_value=True), (recon - x) ** 2)


def test_fit_detector_checks_its_calibration_data():
    model = Flat()
    x = torch.rand(100, 3)
    with pytest.raises(DataError, match=r"calibration data: samples of shape \(4,\), but the model takes \(3,\)"):
        fit_detector(model, x, torch.rand(50, 4))
    with pytest.raises(DataError, match="alpha 0.01 needs at least 197 calibration samples for score 'mse\\+knn"):
        fit_detector(model, x, torch.rand(150, 3), score="mse+knn", alpha=0.01)
    with pytest.raises(DataError, match="alpha 0.01 needs at least 99 calibration samples for score 'mse', got 98"):
        fit_detector(model, x, torch.rand(98, 3), score="mse", alpha=0.01)
    det = fit_detector(model, x, torch.rand(99, 3), score="mse", alpha=0.01)
    assert det.calibration.n == 99 and det.scorer.name == "mse"


@pytest.fixture(scope="module")
def digits_run():
    """A dense net trained on digits 0-4 (tensors, 30 epochs, code 8: about a second)."""
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    normal = train.images[train.labels < 5].flatten(1)
    torch.manual_seed(0)
    model = create_model("dense", (64,), code_size=8)
    ae.train(model, data=normal[:600], epochs=30, batch_size=32, seed=0, quiet=True)
    return model, normal[:600], normal[600:], test.images.flatten(1), test.labels


def test_code_space_scores_find_unseen_digits(digits_run):
    model, train, cal, x_test, y_test = digits_run
    det = fit_detector(model, train, cal, score="mse+knn+maha", alpha=0.1)
    scores = det.score(model, x_test)
    assert roc_auc(scores[y_test < 5], scores[y_test >= 5]) > 0.75  # digits 5-9 were never seen
    mse = det.scorer.raw(model, x_test)["mse"]
    np.testing.assert_allclose(mse, reconstruction_errors(model, x_test, metric="mse"))  # the one error function
    assert det.calibration.flags(scores[y_test >= 5]).mean() > 2 * det.calibration.flags(scores[y_test < 5]).mean()


def test_a_fitted_detector_keeps_its_rate_on_fresh_normal_data():
    """The whole detector (a combined score standardised on half the calibration data, the threshold
    from the other half) over many draws: its realised false-positive rate is at most alpha."""
    rng = np.random.default_rng(3)
    model, alpha, rates = Flat(), 0.1, []
    train = torch.tensor(rng.random((200, 3)), dtype=torch.float32)
    for _ in range(150):
        cal, fresh = (torch.tensor(rng.random((n, 3)), dtype=torch.float32) for n in (60, 200))
        det = fit_detector(model, train, cal, score="mse+knn+maha", alpha=alpha)
        rates.append(det.evaluate(model, fresh)["anomaly"].mean())
    se = np.std(rates) / math.sqrt(len(rates))
    assert np.mean(rates) <= alpha + 3 * se, (np.mean(rates), se)
    assert np.mean(rates) > alpha / 2  # it flags: the threshold is not simply above everything


def bars(n, seed, vertical=False):
    """(n, 1, 8, 8) images of one bright bar each, at a random row (column when `vertical`), on faint noise."""
    g = torch.Generator().manual_seed(seed)
    x = 0.05 * torch.rand(n, 1, 8, 8, generator=g)
    at = torch.randint(0, 8, (n,), generator=g)
    for i, j in enumerate(at.tolist()):
        if vertical:
            x[i, 0, :, j] = 0.95
        else:
            x[i, 0, j, :] = 0.95
    return x


@pytest.fixture(scope="module")
def bar_vae():
    """A small VAE trained on horizontal bars (about a second)."""
    torch.manual_seed(0)
    model = create_model("vae", (1, 8, 8), hidden=(32,), latent_size=2)
    ae.train(model, data=bars(400, 0), epochs=40, batch_size=50, lr=1e-2, seed=0, quiet=True)
    return model.eval()


def test_iw_score_is_the_negative_iw_bound_higher_off_distribution_and_a_function_of_the_sample(bar_vae):
    from autoencoders.evaluation.likelihood import importance_weighted_bound

    normal, anomalous = bars(60, 1), bars(60, 2, vertical=True)
    scorer = fit_scorer(bar_vae, bars(100, 3), score="iw")
    scores = scorer.score(bar_vae, torch.cat([normal, anomalous]))
    assert roc_auc(scores[:60], scores[60:]) > 0.95  # vertical bars were never seen
    g = torch.Generator().manual_seed(detection.ELBO_SEED)  # the one bound, likelihood.py's
    bound = importance_weighted_bound(bar_vae, normal, detection.IW_SAMPLES, generator=g, shared=True)
    np.testing.assert_allclose(scores[:60], -bound.double().numpy(), rtol=1e-6)
    again = scorer.score(bar_vae, torch.cat([normal, anomalous]))
    np.testing.assert_array_equal(again, scores)  # seeded: the same scores every time
    # the same draws for every sample: a sample's score does not depend on what it is scored with
    np.testing.assert_allclose(scorer.score(bar_vae, anomalous.flip(0)), scores[60:][::-1], rtol=1e-6)
    np.testing.assert_allclose(scorer.score(bar_vae, normal[5:7]), scores[5:7], rtol=1e-6)
    elbo = fit_scorer(bar_vae, bars(100, 3), score="elbo").score(bar_vae, normal)
    assert np.mean(scores[:60]) <= np.mean(elbo) + 1e-6  # L_k >= ELBO: the IW bound is the tighter one
    det = fit_detector(bar_vae, bars(100, 3), bars(60, 4), score="mse+iw", alpha=0.1)
    assert det.scorer.name == "mse+iw" and det.calibration.flags(det.score(bar_vae, anomalous)).mean() > 0.5


def test_variational_parts_are_refused_for_other_models():
    conv = create_model("conv", (1, 8, 8))
    x = torch.rand(40, 1, 8, 8)
    for score in ("iw", "mse+iw", "elbo"):
        part = "iw" if "iw" in score else "elbo"
        with pytest.raises(ConfigError, match=f"the {part} score needs a variational model.*'Conv"):
            fit_detector(conv, x, x, score=score, alpha=0.1)
    with pytest.raises(ConfigError, match="the iw score needs a variational model"):
        fit_scorer(conv, x, x, score="knn+iw")
