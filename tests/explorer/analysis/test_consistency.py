"""Map consistency on constructed maps whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import consistency
from explorer.errors import DataError


def _knn(X: np.ndarray, k: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    _, rows = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return rows[:, 1:]


def test_overlap_by_hand():
    a = np.array([[1, 2, 3], [0, 2, -1]])
    b = np.array([[3, 9, 1], [5, 6, 7]])
    np.testing.assert_allclose(consistency.neighbour_overlap(a, b), [2 / 3, 0.0])


def test_faithful_map_is_consistent_and_hidden_anomaly_found():
    rng = np.random.default_rng(0)
    # two tight 2-D clumps embedded in 5-D, plus one source far off in a
    # direction the map drops: on the map it is put inside clump 0
    clumps = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(20, 1, (200, 2))])
    emb = np.concatenate([clumps, np.zeros((400, 3))], axis=1)
    outlier = np.array([[0.0, 0.0, 30.0, 30.0, 30.0]])
    emb = np.concatenate([emb, outlier])
    xy = emb[:, :2].copy()  # the map keeps the first two axes exactly...
    torn = np.arange(390, 400)
    xy[torn] -= 20.0  # ...but for ten of clump 1 it drops into clump 0
    k = 10
    rows = _knn(emb, k)
    dist = np.linalg.norm(emb[rows] - emb[:, None], axis=2).mean(axis=1)
    table = consistency.map_consistency(xy, rows, dist)
    kept = np.setdiff1d(np.arange(390), torn)
    assert table["map_consistency"].iloc[kept].mean() > 0.9
    assert table["map_consistency"].iloc[torn].max() < 0.2
    # the isolated source keeps its nearest clump-0 neighbours (consistent
    # sets) but sits inside that clump on the map: hidden
    assert table["hidden_in_map"].iloc[400]
    assert table["hidden_in_map"].sum() <= 5  # top 1 % at most


def test_shuffled_map_is_inconsistent():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(300, 4))
    xy = rng.permutation(emb[:, :2])  # no relation to the embedding
    table = consistency.map_consistency(xy, _knn(emb, 8), np.zeros(300))
    # chance overlap of 8 of 299 is ~0.03
    assert table["map_consistency"].mean() < 0.1


def test_duplicate_map_points_exclude_self():
    xy = np.zeros((5, 2))
    rows, _ = consistency.map_knn(xy, 2)
    assert not (rows == np.arange(5)[:, None]).any()


def test_shape_errors_name_the_shapes():
    with pytest.raises(DataError, match="must all have N rows"):
        consistency.map_consistency(
            np.zeros((4, 2)), np.zeros((3, 2), int), np.zeros(4)
        )
