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
def test_quick_run_writes_every_contestant(tmp_path, monkeypatch):
    import explorer.bench.ssl as ssl

    # keep the test small: one preset, two tuning trials
    monkeypatch.setitem(ssl.QUICK, "n", 200)
    monkeypatch.setitem(ssl.QUICK, "trials", 2)
    path = run_benchmark(
        tmp_path / "results", quick=True, presets=("second",), settings={"threads": 1}
    )
    record = json.loads(path.read_text())
    assert record["benchmark"] == "ssl" and "date" in record["environment"]
    results = record["results"]
    assert results["quick"] and set(results["surveys"]) == {"second"}
    survey = results["surveys"]["second"]
    assert survey["workload"]["n_sources"] == 200
    assert survey["workload"]["cutout_size"] == 32
    assert len(survey["load_average_before"]) == 3
    names = ("ours", "previous_cpu_setting", "shallow_cnn_setting")
    for name in (*names, "reference_simclr", "supervised"):
        entry = survey[name]
        assert 0 <= entry["heldout_knn_accuracy"] <= 1 and entry["images_per_s"] > 0
        assert entry["curve"][0]["epoch"] == 1 and entry["curve"][0]["minutes"] > 0
    assert survey["ours"]["config"]["arch"] == "cnn"
    assert survey["previous_cpu_setting"]["config"]["arch"] == "resnet"
    shallow = survey["shallow_cnn_setting"]["config"]
    assert (shallow["arch"], shallow["width"], shallow["layers"]) == (
        "cnn",
        32,
        [1] * 4,
    )
    assert survey["ours"]["config"]["layers"] != shallow["layers"]
    # recall per kind; a kind with one source cannot be cross-validated
    kinds = {k for k, n in survey["workload"]["kinds"].items() if n >= 2}
    assert set(survey["ours"]["recall"]) == kinds
    assert 0 <= survey["pixel_pca_asinh"]["knn_accuracy"] <= 1
    assert len(survey["tune"]["rows"]) == 2
    assert set(survey["comparison"]) >= {
        "speedup_per_epoch_vs_previous",
        "speedup_per_epoch_vs_shallow",
        "heldout_gap_to_supervised",
        "knn_margin_over_pca",
    }


def test_the_comparisons_are_those_of_the_contestants_that_ran():
    from explorer.bench.ssl import compare

    ours = {"knn_accuracy": 0.70, "heldout_knn_accuracy": 0.68, "seconds_per_epoch": 10}
    supervised = {"heldout_knn_accuracy": 0.75}
    pca = {"knn_accuracy": 0.50}
    out = compare({"ours": ours, "supervised": supervised, "pca": pca})
    assert out == {
        "heldout_gap_to_supervised": pytest.approx(0.07),
        "knn_margin_over_pca": pytest.approx(0.20),
    }
    previous = {"knn_accuracy": 0.60, "seconds_per_epoch": 25}
    out = compare({"ours": ours, "previous": previous})
    assert out == {
        "speedup_per_epoch_vs_previous": 2.5,
        "knn_vs_previous": pytest.approx(0.10),
    }
    shallow = {
        "knn_accuracy": 0.65,
        "heldout_knn_accuracy": 0.66,
        "seconds_per_epoch": 15,
    }
    out = compare({"ours": ours, "shallow": shallow})
    assert out == {
        "speedup_per_epoch_vs_shallow": 1.5,
        "knn_vs_shallow": pytest.approx(0.05),
        "heldout_vs_shallow": pytest.approx(0.02),
    }


def test_an_unknown_contestant_is_refused_before_any_work(tmp_path):
    from explorer.errors import DataError

    with pytest.raises(DataError, match="unknown contestant 'resnet50'.*supervised"):
        run_benchmark(tmp_path, quick=True, contestants=("supervised", "resnet50"))
    assert not list(tmp_path.iterdir())
