"""Tests of explorer.bench.ssl_eval: cross-validated k-NN, recall, Spearman."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.bench.ssl_eval import knn_cv, spearman


def test_knn_cv_recall_per_kind_by_construction():
    rng = np.random.default_rng(0)
    # kind "a" in one direction, kinds "b" and "c" share another: a is always
    # right, b and c are told apart only by chance
    a = np.tile([1.0, 0.0], (50, 1)) + rng.normal(0, 0.01, (50, 2))
    bc = np.tile([0.0, 1.0], (100, 1)) + rng.normal(0, 0.01, (100, 2))
    features = np.concatenate([a, bc])
    labels = np.array(["a"] * 50 + ["b"] * 50 + ["c"] * 50)
    result = knn_cv(features, labels, k=10, seed=0)
    assert result["recall"]["a"] == 1.0
    assert 0.2 < result["recall"]["b"] < 0.8 and 0.2 < result["recall"]["c"] < 0.8
    pooled = np.mean([result["recall"][k] for k in "abc"])  # equal class sizes
    assert result["knn_accuracy"] == pytest.approx(pooled)


def test_spearman_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # d = (0, 1, -1, 0): 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert np.isnan(spearman([1, 2], [2, 1]))
