"""TPCF pair counts: tree and FFT-grid DD vs brute force, analytic RR vs Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import tpcf_pairs
from explorer.analysis.pca import pca_reduce
from explorer.analysis.tpcf import default_edges


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
    np.testing.assert_array_equal(tpcf_pairs.pair_counts_tree(Y, edges), expected)
    grid = tpcf_pairs.pair_counts_grid(Y, edges)
    assert grid.sum() == pytest.approx(expected.sum(), rel=2e-3)


def test_weighted_counts_equal_counts_of_the_duplicated_sample():
    rng = np.random.default_rng(2)
    Y = rng.normal(size=(120, 2))
    w = np.bincount(rng.integers(0, 120, 120), minlength=120).astype(float)
    edges = np.linspace(0, 3, 7)
    duplicated = np.repeat(Y, w.astype(int), axis=0)
    # Copies of one source are at separation 0: in no bin (e_k, e_k+1].
    expected = _brute_pairs(duplicated, edges)
    tree = tpcf_pairs.pair_counts_tree(Y, edges, w)
    np.testing.assert_allclose(tree, expected)
    counter = tpcf_pairs.GridPairCounter.build(Y, edges)
    np.testing.assert_allclose(counter.counts(w).sum(), expected.sum(), rtol=2e-3)
    np.testing.assert_allclose(counter.counts(), tpcf_pairs.pair_counts_grid(Y, edges))


def test_grid_pair_counts_close_to_exact():
    Y = pca_reduce(_blobs(4000), 2)
    edges = default_edges(np.cov(Y.T), 20)
    exact = tpcf_pairs.pair_counts_tree(Y, edges)
    grid = tpcf_pairs.pair_counts_grid(Y, edges)
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
    np.testing.assert_allclose(tpcf_pairs.pair_separation_cdf(cov, r), mc, atol=3e-3)


def test_analytic_cdf_isotropic_closed_form():
    # |d|^2 / (2 s^2 * 2) ~ Exp(1) for an isotropic 2-D Gaussian of variance s^2.
    s2, r = 1.7, np.array([0.5, 1.0, 3.0])
    expected = 1 - np.exp(-(r**2) / (4 * s2))
    np.testing.assert_allclose(
        tpcf_pairs.pair_separation_cdf(s2 * np.eye(2), r), expected, rtol=1e-10
    )
