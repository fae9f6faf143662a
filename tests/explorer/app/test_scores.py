"""Selection metrics of the live panel against scikit-learn on tiny data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import davies_bouldin_score, silhouette_score

from explorer.app.scores import selection_scores


def blobs():
    rng = np.random.default_rng(0)
    X = np.concatenate(
        [
            rng.normal(0, 0.1, (30, 4)),
            rng.normal(3, 0.1, (40, 4)),
            rng.normal(-3, 0.1, (30, 4)),
        ]
    ).astype(np.float32)
    clusters = np.repeat([0, 1, 2], [30, 40, 30])
    return X, clusters


def test_selection_vs_rest_and_within_match_sklearn():
    X, clusters = blobs()
    rows = np.arange(30, 100)  # blobs 1 and 2
    result = selection_scores(X, rows, clusters=clusters)
    labels = np.isin(np.arange(100), rows).astype(int)
    assert result["n"] == 70 and not result["sampled"]
    assert result["vs_rest"]["davies_bouldin"].value == pytest.approx(
        davies_bouldin_score(X, labels), rel=1e-5
    )
    assert result["vs_rest"]["silhouette"].value == pytest.approx(
        silhouette_score(X, labels), rel=1e-5
    )
    assert result["within"]["davies_bouldin"].value == pytest.approx(
        davies_bouldin_score(X[rows], clusters[rows]), rel=1e-5
    )
    assert result["within"]["davies_bouldin"].n_clusters == 2
    assert np.isfinite(result["tpcf"].score) and len(result["tpcf"].xi) > 0


def test_rest_is_sampled_above_the_limit():
    X, clusters = blobs()
    result = selection_scores(X, np.arange(30), clusters=clusters, max_rest=20)
    assert result["sampled"]
    assert result["vs_rest"]["davies_bouldin"].n == 50


def test_single_cluster_selection_gives_reasons_not_errors():
    X, clusters = blobs()
    result = selection_scores(X, np.arange(5), clusters=clusters)
    within = result["within"]["silhouette"]
    assert np.isnan(within.value) and within.reason
