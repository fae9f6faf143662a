"""TPCF score (seed 003): fast implementation vs brute force and the reference."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import tpcf
from explorer.bench.tpcf_reference import (
    bootstrap_sigma,
    pair_counts_kdtree,
    tpcf_score_reference,
)
from explorer.errors import DataError


def _blobs(n: int, dim: int = 8, k: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, dim))
    return np.concatenate([rng.normal(c, 1, (n // k, dim)) for c in centres])


def _brute_pairs(Y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    d = np.sqrt(((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1))
    d = d[~np.eye(len(Y), dtype=bool)]  # ordered pairs i != j
    counts = [
        np.sum((d > lo) & (d <= hi))
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    return np.array(counts, dtype=float)


def test_pair_counts_match_brute_force():
    Y = np.random.default_rng(1).normal(size=(150, 2))
    edges = np.linspace(0, 3, 7)
    expected = _brute_pairs(Y, edges)
    np.testing.assert_array_equal(tpcf.pair_counts_tree(Y, edges), expected)
    np.testing.assert_array_equal(pair_counts_kdtree(Y, edges), expected)


def test_grid_pair_counts_close_to_exact():
    Y = tpcf.pca_reduce(_blobs(4000), 2)
    edges = tpcf.default_edges(np.cov(Y.T), 20)
    exact = tpcf.pair_counts_tree(Y, edges)
    grid = tpcf.pair_counts_grid(Y, edges)
    assert grid is not None
    big = exact > 1000
    np.testing.assert_allclose(grid[big], exact[big], rtol=0.01)
    assert grid.sum() == pytest.approx(exact.sum(), rel=1e-3)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_analytic_pair_cdf_matches_monte_carlo(dim):
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(dim, dim))
    cov = a @ a.T + 0.3 * np.eye(dim)
    x1 = rng.multivariate_normal(np.ones(dim), cov, 200_000)
    x2 = rng.multivariate_normal(np.ones(dim), cov, 200_000)
    sep = np.linalg.norm(x1 - x2, axis=1)
    r = np.quantile(sep, [0.05, 0.25, 0.5, 0.75, 0.95])
    mc = (sep[:, None] <= r).mean(axis=0)
    np.testing.assert_allclose(tpcf.pair_separation_cdf(cov, r), mc, atol=3e-3)


def test_analytic_cdf_isotropic_closed_form():
    # |d|^2 / (2 s^2 * 2) ~ Exp(1) for an isotropic 2-D Gaussian of variance s^2.
    s2, r = 1.7, np.array([0.5, 1.0, 3.0])
    expected = 1 - np.exp(-(r**2) / (4 * s2))
    np.testing.assert_allclose(
        tpcf.pair_separation_cdf(s2 * np.eye(2), r), expected, rtol=1e-10
    )


def test_xi_and_sigma_by_hand():
    dd = np.array([4.0, 0.0, 9.0])
    rr = np.array([2.0, 5.0, 0.0])
    xi, sigma = tpcf.xi_and_sigma(dd, rr)
    np.testing.assert_allclose(xi[:2], [1.0, -1.0])
    np.testing.assert_allclose(sigma[:2], [2.0 / 2.0, 1.0 / 5.0])
    assert np.isnan(xi[2]) and np.isnan(sigma[2])


def test_fast_matches_reference_within_bootstrap_sigma():
    X = _blobs(1200)
    fast = tpcf.tpcf_score(X, exact_max=100)  # forces the grid path
    exact = tpcf.tpcf_score(X)
    ref = tpcf_score_reference(X, seed=3)
    sigma, scores = bootstrap_sigma(X, n_boot=6, seed=5)
    assert sigma > 0 and np.isfinite(scores).all()
    assert fast.score == pytest.approx(exact.score, abs=0.02)
    np.testing.assert_allclose(fast.edges, ref.edges)
    assert abs(fast.score - ref.score) < 2 * sigma
    assert fast.score > 1.0  # four blobs: a strong clustering signal
    gauss = tpcf.tpcf_score(np.random.default_rng(0).normal(size=(1200, 8)))
    assert abs(gauss.score) < 2 * sigma
    assert fast.score > gauss.score + 1.0


def test_degenerate_inputs_give_nan_with_reason():
    few = tpcf.tpcf_score(np.ones((3, 4)))
    assert np.isnan(few.score) and "at least" in few.reason
    const = tpcf.tpcf_score(np.ones((50, 4)))
    assert np.isnan(const.value) and "identical" in const.reason
    empty = tpcf.tpcf_score(np.zeros((0, 4)))
    assert np.isnan(empty.score) and empty.reason


def test_nan_rows_refused_naming_ids():
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[[4, 7]] = np.nan
    with pytest.raises(DataError, match=r"ids \[104, 107\]"):
        tpcf.tpcf_score(X, ids=np.arange(100, 120))
