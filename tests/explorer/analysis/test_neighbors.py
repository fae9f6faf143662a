"""Similarity index: exact/approximate search, queries, Rocchio, its k-NN graph."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import neighbors
from explorer.analysis.neighbors import SimilarityIndex
from explorer.errors import DataError


def _unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def emb() -> np.ndarray:
    return _unit(300)


IDS = np.arange(300, dtype=np.int64) * 7 + 1000


def test_similar_matches_brute_force_and_excludes_queries(emb):
    index = SimilarityIndex.build(emb, IDS)
    assert index.index_info["kind"] == "flat"
    queries = IDS[[3, 10]]
    result = index.similar(queries, k=20)
    q = emb[[3, 10]].mean(axis=0)
    q /= np.linalg.norm(q)
    sims = emb @ q
    sims[[3, 10]] = -np.inf
    expected = np.argsort(-sims)[:20]
    np.testing.assert_array_equal(result["id"].to_numpy(), IDS[expected])
    np.testing.assert_allclose(result["similarity"], sims[expected], rtol=1e-5)
    assert not set(queries) & set(result["id"])
    assert list(result.columns) == ["id", "similarity"]


def test_refine_moves_towards_positives_away_from_negatives(emb):
    index = SimilarityIndex.build(emb, IDS)
    pos, neg = IDS[[5]], IDS[[6]]
    result = index.refine(pos, neg, k=300)
    q = 1.75 * emb[5] - 0.25 * emb[6]
    q /= np.linalg.norm(q)
    sims = emb @ q
    sims[[5, 6]] = -np.inf
    np.testing.assert_array_equal(
        result["id"].to_numpy()[:10], IDS[np.argsort(-sims)[:10]]
    )
    assert IDS[6] not in set(result["id"]) and IDS[5] not in set(result["id"])
    with pytest.raises(DataError, match="at least one positive"):
        index.refine([], neg, k=5)


def test_search_vectors_normalises_queries(emb):
    index = SimilarityIndex.build(emb, IDS)
    result = index.search_vectors(3.0 * emb[:2], k=5)
    assert list(result.columns) == ["query", "id", "similarity"]
    first = result[result["query"] == 0]
    assert first["id"].iloc[0] == IDS[0]
    assert first["similarity"].iloc[0] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(DataError, match="dimension"):
        index.search_vectors(np.ones((1, 3)), k=5)


def test_save_load_roundtrip(emb, tmp_path):
    index = SimilarityIndex.build(emb, IDS)
    index.save(tmp_path / "index.faiss")
    loaded = SimilarityIndex.load(tmp_path / "index.faiss", emb, IDS)
    assert loaded.index_info["kind"] == "flat"
    a, b = index.similar(IDS[:1], 10), loaded.similar(IDS[:1], 10)
    np.testing.assert_array_equal(a["id"], b["id"])
    with pytest.raises(DataError, match="300 x 16"):
        SimilarityIndex.load(tmp_path / "index.faiss", emb[:10], IDS[:10])
    with pytest.raises(DataError, match="does not exist"):
        SimilarityIndex.load(tmp_path / "missing.faiss", emb, IDS)


def test_approximate_kinds_have_high_recall(monkeypatch, tmp_path):
    rng = np.random.default_rng(2)
    centres = _unit(20, 32, seed=3)
    x = centres[rng.integers(0, 20, 4000)] + rng.normal(0, 0.1, (4000, 32)).astype(
        np.float32
    )
    ids = np.arange(4000)
    exact = SimilarityIndex.build(x, ids, kind="flat")
    monkeypatch.setattr(neighbors, "EXACT_MAX", 1000)
    for kind in ("auto", "hnsw"):
        approx = SimilarityIndex.build(x, ids, kind=kind)
        assert approx.index_info["kind"] == ("ivf" if kind == "auto" else "hnsw")
        recall = np.mean(
            [
                len(
                    set(approx.similar([q], 50)["id"])
                    & set(exact.similar([q], 50)["id"])
                )
                / 50
                for q in range(0, 4000, 97)
            ]
        )
        assert recall >= 0.9
        approx.save(tmp_path / f"{kind}.faiss")
        loaded = SimilarityIndex.load(tmp_path / f"{kind}.faiss", x, ids)
        assert loaded.index_info["kind"] == approx.index_info["kind"]


def test_knn_graph_matches_brute_force(emb):
    index = SimilarityIndex.build(emb, IDS)
    rows, dist = index.knn_graph(5)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1)[:, :5]
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_allclose(
        dist, 1 - np.take_along_axis(sims, expected, 1), atol=1e-5
    )
    assert (rows != np.arange(300)[:, None]).all()


def test_bad_inputs(emb):
    bad = emb.copy()
    bad[[2, 9]] = np.nan
    with pytest.raises(DataError, match=r"ids \[1014, 1063\]"):
        SimilarityIndex.build(bad, IDS)
    with pytest.raises(DataError, match="ids for"):
        SimilarityIndex.build(emb, IDS[:5])
    index = SimilarityIndex.build(emb, IDS)
    with pytest.raises(DataError, match=r"\[5\]"):
        index.similar([5], 3)
    with pytest.raises(ValueError, match="unknown index kind"):
        SimilarityIndex.build(emb, IDS, kind="annoy")
