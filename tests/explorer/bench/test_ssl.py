"""Tests of the evaluation helpers of models.bench (k-NN, linear probe, split)."""

from __future__ import annotations

import numpy as np
import pytest

from models.bench import knn_accuracy, linear_accuracy, split_rows


def test_split_is_stratified_disjoint_and_keeps_singletons():
    labels = np.array(["a"] * 40 + ["b"] * 20 + ["c"])
    train, test = split_rows(labels, test_fraction=0.25, seed=0)
    assert len(np.intersect1d(train, test)) == 0
    assert len(train) + len(test) == len(labels)
    assert (labels[test] == "a").sum() == 10 and (labels[test] == "b").sum() == 5
    assert 60 in train  # the only "c" cannot be tested


def test_knn_accuracy_uses_cosine_direction_not_length():
    rng = np.random.default_rng(0)
    n = 100
    angle = np.where(np.arange(n) < 50, 0.0, np.pi / 2) + rng.normal(0, 0.05, n)
    radius = rng.uniform(0.1, 10, n)  # lengths carry no label information
    features = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    labels = np.where(np.arange(n) < 50, "x", "y")
    train, test = split_rows(labels, seed=1)
    assert knn_accuracy(features, labels, train, test) == 1.0
    # labels unrelated to the features: about chance
    shuffled = np.random.default_rng(2).permutation(labels)
    assert knn_accuracy(features, shuffled, train, test) < 0.8


def test_linear_probe_separates_linearly_separable_classes():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 5))
    score = features[:, 0] + 0.5 * features[:, 3]
    features = features[np.abs(score) > 0.3][:200]  # a margin around the boundary
    labels = np.where(features[:, 0] + 0.5 * features[:, 3] > 0, "pos", "neg")
    train, test = split_rows(labels, seed=0)
    assert linear_accuracy(features, labels, train, test) > 0.95
    noise = rng.normal(size=(200, 5))
    assert linear_accuracy(noise, labels, train, test) == pytest.approx(0.5, abs=0.2)
