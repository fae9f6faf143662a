"""The FFT-grid pair counter and the fast PCA projection vs their first versions.

The first grid counter (doubled padding, every lag's separation recomputed per
call, kept here as ``_doubled_grid_counts``) and ``pca_reduce`` in float64 are
the references: the faster ones must count the same pairs and project on the
same axes.
"""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import tpcf, tpcf_pairs
from explorer.analysis.pca import pca_reduce


def _doubled_grid_counts(
    Y: np.ndarray, edges: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray | None:
    """The first implementation: grid of twice the data's extent, all lags."""
    d = Y.shape[1]
    lo, hi = Y.min(axis=0), Y.max(axis=0)
    for per_bin in (8.0, 6.0, 4.0):
        cell = (edges[1] - edges[0]) / per_bin
        sides = np.maximum(np.ceil((hi - lo) / cell).astype(np.int64) + 1, 1)
        padded = tuple(int(p) for p in 2 * sides)
        if np.prod(np.asarray(padded, dtype=float)) <= tpcf_pairs.GRID_MAX_CELLS:
            break
    else:
        return None
    cells = np.floor((Y - lo) / cell).astype(np.int64)
    flat = np.ravel_multi_index(tuple(cells.T), padded)
    sq = np.zeros(padded)
    for k, p in enumerate(padded):
        shape = [1] * d
        shape[k] = -1
        sq = sq + (np.fft.fftfreq(p, 1.0 / p).reshape(shape) * cell) ** 2
    dist = np.sqrt(sq).ravel()
    near = np.flatnonzero(dist <= edges[-1] + cell)
    bins, share = tpcf_pairs._bin_shares(dist[near], edges, cell)
    lags = np.concatenate([near, near])
    n_bins = len(edges) - 1
    ok = (bins >= 0) & (bins < n_bins) & (share > 0)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    grid = np.bincount(flat, weights=w, minlength=int(np.prod(padded)))
    spectrum = np.fft.rfftn(grid.astype(np.float64).reshape(padded))
    auto = np.fft.irfftn(spectrum * np.conj(spectrum), s=padded, axes=range(d))
    lag_counts = np.rint(auto).ravel()
    lag_counts[0] -= len(flat) if w is None else float(np.sum(w * w))
    return np.bincount(
        bins[ok], weights=share[ok] * lag_counts[lags[ok]], minlength=n_bins
    )


def _cloud(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    Y = rng.normal(size=(n, d)) * rng.uniform(0.1, 3.0, d)
    Y[: n // 3] += rng.normal(0, 2, d)  # a second clump: uneven extents
    return Y


@pytest.mark.parametrize("d", [1, 2, 3])
def test_grid_counts_equal_the_doubled_grid(d):
    rng = np.random.default_rng(10 + d)
    for trial in range(4):
        n = int(rng.integers(50, 2500))
        Y = _cloud(rng, n, d)
        if trial == 3:
            Y[0] *= 40.0  # a far outlier forces a coarser cell
        # Fewer bins (coarser cells) in 3-D keep the doubled grid small.
        n_bins = 5 + 6 * trial if d < 3 else 4 + 2 * trial
        edges = tpcf.default_edges(np.atleast_2d(np.cov(Y.T)), n_bins)
        counter = tpcf_pairs.GridPairCounter.build(Y, edges)
        expected = _doubled_grid_counts(Y, edges)
        if expected is None:
            assert counter is None
            continue
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        np.testing.assert_allclose(counter.counts(), expected, rtol=1e-12, atol=1e-6)
        np.testing.assert_allclose(
            counter.counts(w), _doubled_grid_counts(Y, edges, w), rtol=1e-12, atol=1e-6
        )


def test_grid_counts_of_a_compact_cloud_smaller_than_the_bins():
    # Extent below r_max: the lag box is cut at the data's extent.
    Y = np.random.default_rng(3).normal(size=(400, 2)) * [1.0, 0.01]
    edges = np.linspace(0.0, 20.0, 11)
    counter = tpcf_pairs.GridPairCounter.build(Y, edges)
    np.testing.assert_allclose(counter.counts(), _doubled_grid_counts(Y, edges))
    assert counter.counts().sum() == pytest.approx(400 * 399)


def test_projection_matches_pca_reduce_for_float32_input():
    rng = np.random.default_rng(4)
    X = (rng.normal(size=(3000, 32)) * np.linspace(3, 0.1, 32)).astype(np.float32)
    expected = pca_reduce(X.astype(np.float64), 2)
    got = tpcf.principal_projection(X, 2)
    assert got.dtype == np.float64
    # Same axes and signs (the signs set the grid's phase).
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max())


def test_projection_of_small_or_float64_selections_is_pca_reduce():
    rng = np.random.default_rng(5)
    small = rng.normal(size=(800, 16)).astype(np.float32)
    np.testing.assert_array_equal(
        tpcf.principal_projection(small, 2), pca_reduce(small.astype(np.float64), 2)
    )
    big64 = rng.normal(size=(3000, 16))
    np.testing.assert_array_equal(
        tpcf.principal_projection(big64, 2), pca_reduce(big64, 2)
    )


def test_float32_score_equals_float64_score():
    rng = np.random.default_rng(6)
    centres = rng.normal(0, 3, (5, 24))
    X = np.concatenate([rng.normal(c, 1, (1600, 24)) for c in centres])
    f32 = tpcf.tpcf_score(X.astype(np.float32))
    f64 = tpcf.tpcf_score(X.astype(np.float32).astype(np.float64))
    assert f32.score == pytest.approx(f64.score, rel=1e-4)
    assert f32.score != pytest.approx(0.0, abs=0.1)  # clustered: a real signal
