"""Tests of explorer.analysis.diff: k-NN neighbourhood change between versions."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from explorer.analysis import diff
from explorer.errors import DataError, StoreError
from explorer.store import Store
from explorer.store.layout import EMBEDDINGS, INDEX


def _unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _store_with(root, embeddings: dict[str, np.ndarray]):
    n = next(iter(embeddings.values())).shape[0]
    rng = np.random.default_rng(0)
    catalog = pd.DataFrame(
        {
            "id": np.arange(1000, 1000 + n, dtype=np.int64),
            "ra": rng.uniform(0, 10, n),
            "dec": rng.uniform(0, 10, n),
        }
    )
    with Store.build(root, ["g"], 8) as builder:
        builder.append(np.zeros((n, 1, 8, 8), np.float32), catalog)
    store = builder.store
    for name, emb in embeddings.items():
        with store.new_version(name) as tmp:
            np.save(tmp / EMBEDDINGS, emb)
    return store


def _reference_change(old, new, k):
    """Brute force with Python sets: cosine similarity, self excluded."""

    def neighbours(x):
        sim = x @ x.T
        np.fill_diagonal(sim, -np.inf)
        return [set(np.argsort(-row, kind="stable")[:k].tolist()) for row in sim]

    a, b = neighbours(old), neighbours(new)
    return np.array([1 - len(p & q) / len(p | q) for p, q in zip(a, b, strict=True)])


def test_jaccard_by_hand():
    old = np.array([[1, 2, 3], [4, 5, 6]])
    new = np.array([[3, 2, 1], [4, 7, 8]])
    # row 0: same set -> 0; row 1: |{4}| / |{4..8}| = 1/5 -> 0.8
    np.testing.assert_allclose(diff.jaccard_change(old, new), [0.0, 0.8])


def test_matches_brute_force(tmp_path):
    rng = np.random.default_rng(3)
    old = _unit(rng.normal(size=(120, 8)))
    new = _unit(old + rng.normal(scale=0.5, size=old.shape))
    store = _store_with(tmp_path / "s", {"v1": old, "v2": new})
    change = diff.neighbourhood_change(store, "v1", "v2", k=5)
    assert change.dtype == np.float32 and change.shape == (120,)
    np.testing.assert_allclose(change, _reference_change(old, new, 5), atol=1e-6)
    assert 0 < change.mean() < 1


def test_rotation_changes_nothing(tmp_path):
    rng = np.random.default_rng(4)
    old = _unit(rng.normal(size=(60, 6)))
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    store = _store_with(tmp_path / "s", {"a": old, "b": _unit(old @ rotation)})
    np.testing.assert_array_equal(diff.neighbourhood_change(store, "a", "b"), 0.0)


def test_cache_written_and_refreshed(tmp_path):
    rng = np.random.default_rng(5)
    old = _unit(rng.normal(size=(50, 4)))
    new = _unit(rng.normal(size=(50, 4)))
    store = _store_with(tmp_path / "s", {"v1": old, "v2": new})
    first = diff.neighbourhood_change(store, "v1", "v2")
    cache = store.version_dir("v2") / "diff-v1.npy"
    np.testing.assert_array_equal(np.load(cache), first)
    # a stale cache (older than the embeddings) is recomputed, a fresh one is used
    np.save(cache, np.full(50, 0.5, np.float32))
    os.utime(cache, (1, 1))
    np.testing.assert_array_equal(diff.neighbourhood_change(store, "v1", "v2"), first)
    np.save(cache, np.full(50, 0.5, np.float32))
    assert (diff.neighbourhood_change(store, "v1", "v2") == 0.5).all()
    diff.neighbourhood_change(store, "v1", "v2", k=3)
    assert (store.version_dir("v2") / "diff-v1-k3.npy").exists()


def test_summary_most_changed(tmp_path):
    rng = np.random.default_rng(6)
    old = _unit(rng.normal(size=(40, 4)))
    new = old.copy()
    new[7] = -new[7]  # one source jumps to the other side of the sphere
    store = _store_with(tmp_path / "s", {"v1": old, "v2": _unit(new)})
    summary = diff.diff_summary(store, "v1", "v2", k=5, top=3)
    assert summary.most_changed_ids[0] == 1007
    assert summary.most_changed_values[0] == summary.most_changed_values.max()
    assert summary.most_changed_values[0] > 0.5
    assert summary.fraction_changed > 0
    assert summary.mean_change == pytest.approx(
        diff.neighbourhood_change(store, "v1", "v2", k=5).mean()
    )


def test_duplicates_do_not_break_self_exclusion(tmp_path):
    emb = _unit(np.ones((6, 3)) + np.eye(6, 3) * 1e-9)
    rows = diff.version_knn(_store_with(tmp_path / "s", {"v1": emb}), "v1", 3)
    assert rows.shape == (6, 3)
    assert all(i not in set(r) for i, r in enumerate(rows.tolist()))


def test_approximate_graph_agrees_with_exact(monkeypatch, tmp_path):
    from explorer.analysis import knn

    rng = np.random.default_rng(7)
    centres = _unit(rng.normal(size=(20, 16)))
    emb = _unit(
        np.repeat(centres, 100, axis=0) + rng.normal(scale=0.05, size=(2000, 16))
    )
    store = _store_with(tmp_path / "s", {"v1": emb})
    exact = diff.version_knn(store, "v1", 5)
    monkeypatch.setattr(knn, "GRAPH_EXACT_MAX", 100)
    approx = diff.version_knn(store, "v1", 5)
    assert diff.jaccard_change(exact, approx).mean() < 0.05


def test_bad_inputs(tmp_path):
    rng = np.random.default_rng(8)
    store = _store_with(tmp_path / "s", {"v1": _unit(rng.normal(size=(10, 3)))})
    with pytest.raises(DataError, match="k=10"):
        diff.neighbourhood_change(store, "v1", "v1", k=10)
    with pytest.raises(StoreError, match="no version 'v0'"):
        diff.neighbourhood_change(store, "v0", "v1")
    nan_store = _store_with(
        tmp_path / "nan", {"v1": np.full((5, 2), np.nan, np.float32)}
    )
    with pytest.raises(DataError, match="NaN"):
        diff.version_knn(nan_store, "v1", 2)
    with pytest.raises(DataError, match="shape"):
        diff.jaccard_change(np.zeros((3, 2)), np.zeros((3, 3)))


def test_saved_index_leaves_the_diff_exact(tmp_path):
    from explorer.analysis import neighbors

    rng = np.random.default_rng(9)
    old = _unit(rng.normal(size=(80, 6)))
    new = _unit(old + rng.normal(scale=0.4, size=old.shape))
    store = _store_with(tmp_path / "s", {"v1": old, "v2": new})
    for name, emb in (("v1", old), ("v2", new)):
        index = neighbors.SimilarityIndex.build(emb, store.ids)
        index.save(store.version_file(name, INDEX))
    change = diff.neighbourhood_change(store, "v1", "v2", k=4)
    np.testing.assert_allclose(change, _reference_change(old, new, 4), atol=1e-6)


def test_cli_diff(tmp_path, capsys):
    from explorer.cli import main

    rng = np.random.default_rng(10)
    old = _unit(rng.normal(size=(30, 4)))
    new = old.copy()
    new[4] = -new[4]
    store = _store_with(tmp_path / "s", {"v1": old, "v2": _unit(new)})
    assert main(["diff", str(store.root), "v1", "--k", "3", "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "v1 -> v2" in out and "most changed: 1004 (" in out
    assert main(["diff", str(store.root), "v0"]) == 2
    assert "no version 'v0'" in capsys.readouterr().err
