"""The matrix-product Davies-Bouldin and silhouette against scikit-learn and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import davies_bouldin_score, silhouette_score

from explorer.analysis.cluster_kernels import davies_bouldin_codes, silhouette_codes


def _blobs(n: int, k: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, n)
    codes[:k] = np.arange(k)  # every cluster used
    X = rng.normal(size=(n, dim)) + codes[:, None] * 1.5
    return X, codes


@pytest.mark.parametrize(("n", "k", "dim"), [(300, 2, 128), (500, 7, 6), (40, 3, 2)])
def test_both_equal_scikit_learn(n, k, dim):
    X, codes = _blobs(n, k, dim, seed=n + k)
    assert davies_bouldin_codes(X, codes) == pytest.approx(
        davies_bouldin_score(X, codes), rel=1e-10
    )
    assert silhouette_codes(X, codes) == pytest.approx(
        silhouette_score(X, codes), rel=1e-10
    )


def test_a_small_group_against_a_large_rest_as_the_panel_scores_it():
    X, _ = _blobs(3000, 1, 16, seed=2)
    codes = np.zeros(3000, dtype=int)
    codes[:40] = 1
    X[:40] += 4.0
    assert davies_bouldin_codes(X, codes) == pytest.approx(
        davies_bouldin_score(X, codes), rel=1e-10
    )


def test_by_hand_on_four_points():
    # two pairs 1 apart, the pairs' centres 10 apart
    X = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0]])
    codes = np.array([0, 0, 1, 1])
    # spreads 0.5 each, centroid gap 10: (0.5 + 0.5) / 10
    assert davies_bouldin_codes(X, codes) == pytest.approx(0.1)
    # point 0: a = 1, b = (10 + 11) / 2 = 10.5 -> 9.5 / 10.5, and so on
    s = [9.5 / 10.5, 8.5 / 9.5, 8.5 / 9.5, 9.5 / 10.5]
    assert silhouette_codes(X, codes) == pytest.approx(np.mean(s))


def test_a_one_point_cluster_scores_zero_as_in_scikit_learn():
    X = np.array([[0.0], [0.1], [0.2], [5.0]])
    codes = np.array([0, 0, 0, 1])
    assert silhouette_codes(X, codes) == pytest.approx(silhouette_score(X, codes))


def test_coincident_centroids_contribute_zero():
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])
    codes = np.array([0, 0, 1, 1])
    assert davies_bouldin_codes(X, codes) == davies_bouldin_score(X, codes) == 0.0
