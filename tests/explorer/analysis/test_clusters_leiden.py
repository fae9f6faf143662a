"""Leiden clusters of the k-NN graph (graph_clusters) and the method switch."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.clusters import find_clusters
from explorer.analysis.graph_clusters import (
    knn_adjacency,
    leiden_clusters,
    relabel_by_size,
    umap_weights,
)
from explorer.analysis.knn import knn_graph
from explorer.errors import DataError


def test_umap_weights_by_hand():
    # k = 4 (+ self), target log2(5): 1 + 3 w = log2(5) for the three at 1
    w = umap_weights(np.array([[0.0, 1.0, 1.0, 1.0], [0.5, 1.5, 1.5, 1.5]]))
    third = (np.log2(5) - 1) / 3
    np.testing.assert_allclose(w, [[1, third, third, third]] * 2, rtol=1e-9)
    # rho is subtracted: the nearest neighbour always weighs 1
    w = umap_weights(np.array([[0.2, 0.3, 0.9, 2.0]]))
    assert w[0, 0] == 1.0
    assert w.sum() == pytest.approx(np.log2(5), rel=1e-9)
    assert np.all(np.diff(w[0]) < 0)


def test_fuzzy_union_and_binary_by_hand():
    # 0 <-> 1 mutual, 2 -> 0 one way; k = 1 so every directed weight is 1
    idx = np.array([[1], [0], [0]])
    dist = np.array([[0.1], [0.1], [0.4]])
    a = knn_adjacency(idx, dist, weighting="umap").toarray()
    # a + a^T - a * a^T: mutual 1 + 1 - 1 = 1, one-way 1 + 0 - 0 = 1
    np.testing.assert_allclose(a, [[0, 1, 1], [1, 0, 0], [1, 0, 0]])
    idx2 = np.array([[1, 2], [0, 2], [0, 1]])
    dist2 = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    a2 = knn_adjacency(idx2, dist2, weighting="umap").toarray()
    # k = 2: 1 + w = log2(3) for every second neighbour; 0-1 and 0-2 have a
    # weight 1 one way (union 1), 1-2 has w both ways: 2 w - w^2
    w = np.log2(3) - 1
    u = 2 * w - w * w
    np.testing.assert_allclose(a2, [[0, 1, 1], [1, 0, u], [1, u, 0]], rtol=1e-9)
    b = knn_adjacency(idx2, dist2, weighting="binary").toarray()
    np.testing.assert_array_equal(b, 1 - np.eye(3))


def test_jaccard_by_hand():
    # neighbour sets with self: 0 {0,1,2}, 1 {1,0,2}, 2 {2,0,3}, 3 {3,2,1}
    idx = np.array([[1, 2], [0, 2], [0, 3], [2, 1]])
    dist = np.zeros((4, 2))
    a = knn_adjacency(idx, dist, weighting="jaccard").toarray()
    assert a[0, 1] == pytest.approx(3 / 3)  # {0,1,2} vs {0,1,2}
    assert a[0, 2] == pytest.approx(2 / 4)  # {0,1,2} vs {0,2,3}
    assert a[2, 3] == pytest.approx(2 / 4)  # {0,2,3} vs {1,2,3}
    assert a[1, 3] == pytest.approx(2 / 4)  # {0,1,2} vs {1,2,3}
    assert a[0, 3] == 0  # no edge either way
    np.testing.assert_allclose(a, a.T)


def test_relabel_by_size():
    raw = np.array([2, 2, 0, 1, 1, 1, 3, 3])
    # sizes: 0 -> 1, 1 -> 3, 2 -> 2, 3 -> 2; the tie 2/3 keeps raw order
    np.testing.assert_array_equal(relabel_by_size(raw, 2), [1, 1, -1, 0, 0, 0, 2, 2])


def _blobs(sizes=(120, 80, 60), dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dim)) * 4
    x = np.concatenate(
        [rng.normal(c, 0.4, (n, dim)) for c, n in zip(centres, sizes, strict=True)]
    )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return x.astype(np.float32), truth


@pytest.mark.parametrize("weighting", ["umap", "jaccard", "binary"])
def test_leiden_finds_blobs_largest_first(weighting):
    x, truth = _blobs()
    knn = knn_graph(x, 14)
    labels = leiden_clusters(*knn, resolution=1.0, weighting=weighting, seed=0)
    assert labels.dtype == np.int32
    # three clusters, one per blob, numbered by size (blob 0 is the largest)
    for t in range(3):
        assert np.all(labels[truth == t] == t)


def test_leiden_is_seeded_and_drops_small_communities():
    x, truth = _blobs((150, 150, 6))
    knn = knn_graph(x, 5)
    a = leiden_clusters(*knn, resolution=0.3, seed=3)
    b = leiden_clusters(*knn, resolution=0.3, seed=3)
    np.testing.assert_array_equal(a, b)
    # the 6-source blob is its own community: kept at the default floor of 5
    assert a.max() == 2
    assert np.all(a[truth == 2] == 2)
    c = leiden_clusters(*knn, resolution=0.3, seed=3, min_cluster_size=7)
    assert np.all(c[truth == 2] == -1)
    assert c.max() == 1


def test_find_clusters_switch_and_record():
    x, truth = _blobs()
    knn = knn_graph(x, 14)
    labels, how = find_clusters(x, knn, method="leiden", resolution=0.3, seed=2)
    assert how["method"] == "leiden"
    assert how["params"]["resolution"] == 0.3
    assert how["params"]["seed"] == 2
    assert how["params"]["k"] == 14
    assert len(set(labels.tolist())) == 3
    labels, how = find_clusters(x, None, method="hdbscan")
    assert how["method"] == "hdbscan"
    assert labels.max() + 1 == 3


def test_bad_input_one_line_errors():
    x, _ = _blobs()
    idx, dist = knn_graph(x, 5)
    with pytest.raises(DataError, match="unknown cluster method 'kmeans'"):
        find_clusters(x, (idx, dist), method="kmeans")
    with pytest.raises(DataError, match="needs the k-NN graph"):
        find_clusters(x, None, method="leiden")
    with pytest.raises(DataError, match="leiden only"):
        find_clusters(x, None, method="hdbscan", resolution=0.5)
    with pytest.raises(DataError, match="resolution -1.0 must be > 0"):
        leiden_clusters(idx, dist, resolution=-1.0)
    with pytest.raises(DataError, match="unknown graph weighting 'cosine'"):
        leiden_clusters(idx, dist, weighting="cosine")
    bad = dist.copy()
    bad[3, 1] = np.nan
    with pytest.raises(DataError, match="NaN/inf"):
        leiden_clusters(idx, bad)
    with pytest.raises(DataError, match=r"must both be \(N, k\)"):
        leiden_clusters(idx, dist[:, :3])
    with pytest.raises(DataError, match="out of range"):
        leiden_clusters(idx + len(idx), dist)


@pytest.mark.slow
def test_umap_weighting_matches_umap_learn():
    # the reference: umap-learn's own fuzzy simplicial set on the same graph
    from umap.umap_ import fuzzy_simplicial_set

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    idx, dist = knn_graph(x, 14)
    ours = knn_adjacency(idx, dist, weighting="umap").toarray()
    self_idx = np.column_stack([np.arange(300), idx])
    self_dist = np.column_stack([np.zeros(300, np.float32), dist])
    theirs, _, _ = fuzzy_simplicial_set(
        x, 15, 0, "cosine", knn_indices=self_idx, knn_dists=self_dist
    )
    np.testing.assert_allclose(ours, theirs.toarray(), atol=2e-4)
