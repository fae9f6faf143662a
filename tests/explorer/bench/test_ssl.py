"""Tests of the ssl benchmark: its evaluation helpers (k-NN, linear probe,
split) and a whole run on a tiny survey."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.bench.ssl import knn_accuracy, linear_accuracy, run_benchmark, split_rows


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


@pytest.mark.slow
def test_run_on_a_tiny_survey_writes_every_field(small_store, tmp_path):
    settings = {"epochs": 2, "batch_size": 64, "width": 4, "crop": 16, "threads": 1}
    path = run_benchmark(
        tmp_path / "results",
        store=small_store,
        settings=settings,
        eval_n=120,
        device="cpu",
        workers=0,
    )
    record = json.loads(path.read_text())
    assert record["benchmark"] == "ssl"
    results = record["results"]
    assert results["n_sources"] == 400
    assert results["epochs"] == 2 and results["config"]["width"] == 4
    assert results["config"]["layers"] == [1, 1, 1, 1]  # the bench's own default
    assert results["device"].startswith("cpu (") and results["threads"] == 1
    assert [e["epoch"] for e in results["curve"]] == [1, 2]
    for entry in results["curve"]:
        assert 0 <= entry["subset_knn_accuracy"] <= 1
    assert set(results["baselines"]) == {"standardise", "asinh"}
    for scores in (results["ssl"], *results["baselines"].values()):
        assert 0 <= scores["knn_accuracy"] <= 1
        assert 0 <= scores["linear_accuracy"] <= 1
    assert results["split"]["train"] + results["split"]["test"] == 400
    assert results["eval_subset"] == 120
    assert results["stronger_baseline"] in results["baselines"]
    assert isinstance(results["target_met"], bool)
    assert results["embed_images_per_s"] > 0 and results["train_images_per_s"] > 0
    # the benchmark measures the store, it does not add a version to it
    assert not (small_store / "versions").exists() or not any(
        (small_store / "versions").iterdir()
    )
