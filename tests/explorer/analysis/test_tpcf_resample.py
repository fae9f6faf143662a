"""Pair counts of many resamples from one pair list, vs brute force and the tree."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import tpcf_pairs
from explorer.analysis.tpcf import resample_weights, tpcf_score
from explorer.analysis.tpcf_resample import MAX_POINTS, BinnedPairs


def _duplicated_brute_force(Y: np.ndarray, w: np.ndarray, edges: np.ndarray):
    """Ordered pairs i != j of the sample with each point repeated w times."""
    copies = np.repeat(Y, w.astype(int), axis=0)
    d = np.sqrt(((copies[:, None, :] - copies[None, :, :]) ** 2).sum(-1))
    d = d[~np.eye(len(copies), dtype=bool)]
    return np.array(
        [
            np.sum((d > lo) & (d <= hi))
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ],
        dtype=float,
    )


def test_counts_of_one_weighting_equal_brute_force_of_the_duplicated_sample():
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(90, 2))
    edges = np.linspace(0.2, 3.0, 8)  # a first edge > 0 leaves close pairs out
    w = np.bincount(rng.integers(0, 90, 90), minlength=90).astype(float)
    pairs = BinnedPairs.build(Y, edges)
    np.testing.assert_array_equal(pairs.counts(w), _duplicated_brute_force(Y, w, edges))
    # unit weights: every ordered pair once
    np.testing.assert_array_equal(
        pairs.counts(np.ones(90)), tpcf_pairs.pair_counts_tree(Y, edges)
    )


@pytest.mark.parametrize("method", ["bootstrap", "jackknife"])
def test_stacked_resamples_equal_one_tree_count_each(method):
    rng = np.random.default_rng(4)
    Y = rng.normal(size=(400, 2)) * [1.0, 0.3]
    edges = np.linspace(0, 2.5, 21)
    weights = np.asarray(resample_weights(len(Y), method, 12, seed=5))
    got = BinnedPairs.build(Y, edges).counts(weights)
    assert got.shape == (12, 20)
    for w, row in zip(weights, got, strict=True):
        keep = w > 0
        np.testing.assert_array_equal(
            row, tpcf_pairs.pair_counts_tree(Y[keep], edges, w[keep])
        )


def test_more_points_than_a_pair_list_is_built_for_is_refused():
    with pytest.raises(ValueError, match=str(MAX_POINTS)):
        BinnedPairs.build(np.zeros((MAX_POINTS + 1, 2)), np.linspace(0, 1, 3))


def test_resampled_sigma_of_a_selection_is_the_tree_counts_sigma():
    """The bootstrap sigma the live panel shows, recomputed with tree counts."""
    from explorer.analysis.tpcf import (
        assemble,
        default_edges,
        principal_projection,
        resampling_sigma,
    )

    rng = np.random.default_rng(6)
    X = np.concatenate([rng.normal(c, 1, (150, 16)) for c in (0, 4)])
    result = tpcf_score(X, sigma="bootstrap", n_resamples=10, seed=7)
    Y = principal_projection(X, 2)
    edges = default_edges(np.atleast_2d(np.cov(Y.T)), 20, None)
    scores, xis = [], []
    for w in resample_weights(len(Y), "bootstrap", 10, 7):
        keep = w > 0
        cov = np.atleast_2d(np.cov(Y[keep].T, fweights=w[keep].astype(np.int64)))
        dd = tpcf_pairs.pair_counts_tree(Y[keep], edges, w[keep])
        total = float(w.sum())
        rr = tpcf_pairs.random_pairs(cov, edges, total * total - float(np.sum(w * w)))
        res = assemble(dd, rr, edges, len(Y), 2)
        scores.append(res.score)
        xis.append(res.xi)
    sigma, _ = resampling_sigma(np.asarray(scores), np.asarray(xis), "bootstrap")
    assert result.sigma == pytest.approx(sigma, rel=1e-12)
