"""TPCF score (Mohale & Lochner): fast version vs brute force and the reference."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import tpcf
from explorer.bench.tpcf_reference import bootstrap_sigma, tpcf_score_reference
from explorer.errors import DataError


def _blobs(n: int, dim: int = 8, k: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, dim))
    return np.concatenate([rng.normal(c, 1, (n // k, dim)) for c in centres])


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
