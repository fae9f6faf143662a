"""HDBSCAN auto clusters, direct and sample + vote."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.clusters import auto_clusters
from explorer.errors import DataError


def _blobs(n_per: int = 150, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (3, 20)) * 6
    x = np.concatenate([rng.normal(c, 0.5, (n_per, 20)) for c in centres])
    return x.astype(np.float32), np.repeat(np.arange(3), n_per)


def _agreement(labels, truth) -> float:
    # every true blob maps to one dominant cluster, and those differ
    dominant = [np.bincount(labels[truth == t] + 1).argmax() - 1 for t in range(3)]
    hits = sum(np.mean(labels[truth == t] == dominant[t]) for t in range(3)) / 3
    return hits if len(set(dominant)) == 3 and -1 not in dominant else 0.0


def test_three_blobs_found():
    x, truth = _blobs()
    labels = auto_clusters(x)
    assert labels.dtype == np.int32
    assert labels.max() + 1 == 3
    assert _agreement(labels, truth) > 0.9


def test_sample_and_vote_matches():
    x, truth = _blobs(400)
    labels = auto_clusters(x, fit_max=300, min_cluster_size=20)
    assert _agreement(labels, truth) > 0.9


def test_bad_input():
    x, _ = _blobs()
    x[4, 0] = np.nan
    with pytest.raises(DataError, match=r"rows \[4\]"):
        auto_clusters(x)
    with pytest.raises(DataError, match="at least 2"):
        auto_clusters(np.ones((1, 3)))


def test_cluster_names_and_summary():
    from explorer.analysis.clusters import NO_CLUSTER, cluster_name, cluster_summary

    assert cluster_name(-1) == NO_CLUSTER == "no cluster"
    assert cluster_name(3, 1200) == "auto cluster 3 (1,200)"
    x = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [50.0]])
    labels = np.array([0, 0, 0, 1, 1, -1])
    ids = np.array([100, 101, 102, 103, 104, 105])
    summary = cluster_summary(x, labels, ids, n_typical=2)
    assert [s["cluster_size"] for s in summary] == [3, 2, 1]
    # centroid of cluster 0 is 1.0: 101 first, then the tie 100/102 by row
    assert summary[0]["typical_ids"] == [101, 100]
    assert summary[1]["typical_ids"] == [103, 104]
    assert summary[2] == {
        "cluster": -1,
        "name": "no cluster",
        "cluster_size": 1,
        "typical_ids": [],
    }
