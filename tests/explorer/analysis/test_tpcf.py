"""TPCF score (Mohale & Lochner): normalisation, unbiasedness, sigma options."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import tpcf
from explorer.errors import DataError


def _blobs(n: int, dim: int = 8, k: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, dim))
    return np.concatenate([rng.normal(c, 1, (n // k, dim)) for c in centres])


def _brute_dd(Y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Ordered pairs i != j per bin (e_k, e_k+1], by brute force."""
    d = np.sqrt(((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1))
    d = d[~np.eye(len(Y), dtype=bool)]
    return np.array(
        [np.sum((d > a) & (d <= b)) for a, b in zip(edges, edges[1:], strict=False)]
    )


def test_xi_and_sigma_by_hand():
    dd = np.array([4.0, 0.0, 9.0])
    rr = np.array([2.0, 5.0, 0.0])
    xi, sigma = tpcf.xi_and_sigma(dd, rr)
    np.testing.assert_allclose(xi[:2], [1.0, -1.0])
    np.testing.assert_allclose(sigma[:2], [2.0 / 2.0, 1.0 / 5.0])
    assert np.isnan(xi[2]) and np.isnan(sigma[2])


def test_random_pairs_normalised_by_distinct_pairs():
    cov = np.diag([1.0, 0.3])
    edges = tpcf.default_edges(cov, 20)
    rr = tpcf.random_pairs(cov, edges, 20 * 19)
    # Bins reach 2 r.m.s. separations: nearly all of the n (n - 1) pairs.
    assert 0.97 * 380 < rr.sum() <= 380
    matched = tpcf.matched_random_pairs(cov, edges, 1000)
    np.testing.assert_allclose(
        matched,
        1000 / 1000 * tpcf.random_pairs(cov, edges, 1000 * 999),
        rtol=0.1,
        atol=200,
    )


@pytest.mark.slow
@pytest.mark.parametrize("n", [10, 20, 50])
def test_mean_score_on_gaussian_data_is_zero(n):
    """Many draws of n Gaussian points: the mean score is 0 within its error.

    The n**2 normalisation this replaces gave -n_bins / n (-1 at n = 20);
    the analytic RR of the sample covariance +0.16 at n = 20.
    """
    rng = np.random.default_rng(100 + n)
    draws = [rng.normal(size=(n, 2)) * [1.0, 0.6] for _ in range(200)]
    scores = []
    for Y in draws:
        fast = tpcf.tpcf_score(Y)
        dd = _brute_dd(Y - Y.mean(axis=0), fast.edges)
        np.testing.assert_array_equal(fast.dd, dd)
        used = fast.rr > 0
        brute = float(np.sum(dd[used] / fast.rr[used] - 1.0))
        assert fast.score == pytest.approx(brute, abs=1e-9)
        scores.append(brute)
    scores = np.array(scores)
    se = scores.std(ddof=1) / np.sqrt(len(scores))
    # 2 SE: a perfectly unbiased estimator is outside 1 SE a third of the time.
    assert abs(scores.mean()) < 2 * se, (scores.mean(), se)
    assert abs(scores.mean()) < 0.5 * 20 / n  # the old bias was -n_bins / n


def test_clustered_score_and_grid_path():
    X = _blobs(2400)
    fast = tpcf.tpcf_score(X, exact_max=100)  # forces the grid path
    exact = tpcf.tpcf_score(X)
    assert fast.score == pytest.approx(exact.score, abs=0.02)
    assert fast.score > 1.0  # four blobs: a strong clustering signal
    gauss = tpcf.tpcf_score(np.random.default_rng(0).normal(size=(2400, 8)))
    assert fast.score > gauss.score + 1.0


@pytest.mark.slow
def test_bootstrap_sigma_is_the_spread_over_independent_surveys():
    """On clustered data the Poisson sigma is far too small; bootstrap is not."""

    def survey(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        k = rng.choice(6, 1500, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
        centres = np.random.default_rng(0).normal(0, 3, (6, 4))
        return centres[k] + rng.normal(size=(1500, 4))

    truth = np.std([tpcf.tpcf_score(survey(s)).score for s in range(30)], ddof=1)
    one = survey(99)
    poisson = tpcf.tpcf_score(one)
    boot = tpcf.tpcf_score(one, sigma="bootstrap", n_resamples=40, seed=1)
    jack = tpcf.tpcf_score(one, sigma="jackknife", seed=1)
    assert boot.score == poisson.score  # sigma never changes the score
    assert poisson.sigma < truth / 2
    assert truth / 2 < boot.sigma < 2 * truth, (boot.sigma, truth)
    assert truth / 2 < jack.sigma < 2 * truth, (jack.sigma, truth)
    assert (boot.sigma_method, boot.n_resamples) == ("bootstrap", 40)
    assert (jack.sigma_method, jack.n_resamples) == ("jackknife", 20)
    assert poisson.sigma_method == "poisson" and poisson.n_resamples == 0
    assert boot.sigma_r.shape == boot.xi.shape


def test_resample_weights():
    boot = tpcf.resample_weights(50, "bootstrap", 3, 0)
    assert all(w.sum() == 50 for w in boot)
    jack = tpcf.resample_weights(50, "jackknife", 5, 0)
    assert [int(w.sum()) for w in jack] == [40] * 5
    assert np.all(np.sum([1 - w for w in jack], axis=0) == 1)  # each out once


def test_jackknife_formula_by_hand():
    scores = np.array([1.0, 2.0, 3.0])
    sigma, _ = tpcf.resampling_sigma(scores, np.zeros((3, 2)), "jackknife")
    assert sigma == pytest.approx(np.sqrt(2 / 3 * 2.0))


def test_degenerate_inputs_give_nan_with_reason():
    few = tpcf.tpcf_score(np.ones((3, 4)))
    assert np.isnan(few.score) and "at least" in few.reason
    const = tpcf.tpcf_score(np.ones((50, 4)), sigma="bootstrap")
    assert np.isnan(const.value) and "identical" in const.reason
    empty = tpcf.tpcf_score(np.zeros((0, 4)))
    assert np.isnan(empty.score) and empty.reason


def test_bad_sigma_and_nan_rows_refused():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(DataError, match="sigma 'wild'"):
        tpcf.tpcf_score(X, sigma="wild")
    X[[4, 7]] = np.nan
    with pytest.raises(DataError, match=r"ids \[104, 107\]"):
        tpcf.tpcf_score(X, ids=np.arange(100, 120))
