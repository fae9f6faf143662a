"""Exact chunked trustworthiness vs scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import trustworthiness as tw
from explorer.analysis.neighbors import SimilarityIndex, normalise
from explorer.errors import DataError


def _data(n: int = 2000, dim: int = 24, seed: int = 1):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, dim))
    x = normalise(centres[rng.integers(0, 8, n)] + 0.4 * rng.normal(size=(n, dim)))
    xy = x[:, :2] + 0.05 * rng.normal(size=(n, 2))  # an imperfect map
    return x.astype(np.float64), xy


@pytest.mark.parametrize("k", [5, 10])
def test_matches_sklearn_on_2000_points(k):
    from sklearn.manifold import trustworthiness

    x, xy = _data()
    ours = tw.trustworthiness(x, xy, k=k)
    assert ours["all_points"] and ours["rows"] == 2000
    expected = trustworthiness(x, xy, n_neighbors=k)
    assert abs(ours["trustworthiness"] - expected) < 1e-9
    knn = SimilarityIndex.build(x.astype(np.float32), np.arange(2000)).knn_graph(14)
    with_graph = tw.trustworthiness(x, xy, k=k, knn=knn[0])
    assert abs(with_graph["trustworthiness"] - expected) < 1e-9


def test_perfect_map_is_one_and_row_sample_is_close():
    x, xy = _data(600)
    exact = tw.trustworthiness(x, xy, k=10)["trustworthiness"]
    sampled = tw.trustworthiness(x, xy, k=10, max_rows=300, seed=2)
    assert not sampled["all_points"] and sampled["rows"] == 300
    assert sampled["trustworthiness"] == pytest.approx(exact, abs=0.01)
    line = np.zeros((100, 3))
    line[:, 0] = np.sort(np.random.default_rng(0).uniform(size=100))  # no ties
    assert tw.trustworthiness(line, line[:, :2], k=5)["trustworthiness"] == 1.0


def test_bad_shapes_refused():
    x, xy = _data(100)
    with pytest.raises(DataError, match="does not match"):
        tw.trustworthiness(x, xy[:50])
    with pytest.raises(DataError, match="k < n / 2"):
        tw.trustworthiness(x[:10], xy[:10], k=5)
