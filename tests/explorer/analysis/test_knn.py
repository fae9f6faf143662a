"""k-NN graph of unit vectors: exact, clustered, and how each size is planned."""

from __future__ import annotations

import numpy as np

from explorer.analysis import knn
from explorer.analysis.neighbors import SimilarityIndex, normalise


def _unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_graph_matches_brute_force():
    x = _unit(300)
    rows, dist = knn.knn_graph(x, 5)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1)[:, :5]
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_allclose(
        dist, 1 - np.take_along_axis(sims, expected, 1), atol=1e-5
    )


def test_knn_graph_with_duplicates_excludes_self():
    x = np.repeat(_unit(10), 3, axis=0)
    rows, dist = SimilarityIndex.build(x, np.arange(30)).knn_graph(2)
    assert (rows != np.arange(30)[:, None]).all()
    np.testing.assert_allclose(dist, 0, atol=1e-5)


def test_clustered_knn_graph_recall():
    rng = np.random.default_rng(4)
    centres = _unit(8, 24, seed=5)
    x = centres[rng.integers(0, 8, 3000)] + rng.normal(0, 0.15, (3000, 24))
    x = normalise(x)
    rows, dist = knn.clustered_knn_graph(x, 10)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    truth = np.argsort(-sims, axis=1)[:, :10]
    recall = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(rows, truth, strict=True)]
    )
    assert recall > 0.85
    assert (rows != np.arange(3000)[:, None]).all()
    np.testing.assert_allclose(dist, 1 - np.take_along_axis(sims, rows, 1), atol=1e-5)
    assert (np.diff(dist, axis=1) >= -1e-6).all()


def test_graph_probe_grows_with_cells():
    assert knn.graph_probe(1) == 1  # never more cells than exist
    assert knn.graph_probe(5) == 5
    assert knn.graph_probe(100) == knn.GRAPH_PROBE_MIN
    # round(0.75 * sqrt(1953)) = round(33.1): the 10^6-source default.
    assert knn.graph_probe(1953) == 33
    probes = [knn.graph_probe(c) for c in (100, 400, 1600, 6400)]
    assert probes == sorted(probes) and probes[-1] > probes[0]


def test_graph_plan_exact_then_clustered():
    small = knn.graph_plan(knn.GRAPH_EXACT_MAX, 10)
    assert small == {"method": "exact", "k": 10}
    big = knn.graph_plan(1_000_000, 10)
    assert big["method"] == "clustered"
    assert big["cells"] == 1_000_000 // knn.GRAPH_CELL_SIZE
    assert big["probe"] == knn.graph_probe(big["cells"])


def test_drop_self_removes_own_row_or_the_last():
    rows = np.array([[3, 0, 1], [2, 3, 4]])
    scores = np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.4]])
    kept, kept_scores = knn.drop_self(rows, scores, np.array([[0], [9]]))
    np.testing.assert_array_equal(kept, [[3, 1], [2, 3]])
    np.testing.assert_array_equal(kept_scores, [[0.9, 0.7], [0.6, 0.5]])
