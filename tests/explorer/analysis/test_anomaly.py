"""Anomaly scores from a k-NN graph, against scikit-learn and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import anomaly
from explorer.errors import DataError


def test_knn_distance_by_hand():
    d = np.array([[0.1, 0.3], [0.2, -1.0]])  # -1 = missing neighbour
    np.testing.assert_allclose(anomaly.knn_distance_score(d), [0.2, 0.2], rtol=1e-6)


def test_lof_matches_scikit_learn():
    from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

    rng = np.random.default_rng(0)
    X = np.concatenate(
        [
            rng.normal(0, 1, (200, 3)),
            rng.normal(0, 0.2, (100, 3)) + 4,
            [[10.0, 10.0, 10.0]],
        ]
    )
    k = 8
    dist, rows = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    ours = anomaly.lof_score(rows[:, 1:], dist[:, 1:])
    ref = -LocalOutlierFactor(n_neighbors=k).fit(X).negative_outlier_factor_
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    assert ours.argmax() == len(X) - 1


def test_euclidean_knn_excludes_self():
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    rows, dist = anomaly.euclidean_knn(X, k=2)
    np.testing.assert_array_equal(rows[:, 0], [1, 0, 1, 2])
    np.testing.assert_allclose(dist[:, 0], [1, 1, 2, 4])


def test_euclidean_knn_above_the_exact_size_is_approximate_but_close():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(1)
    centres = rng.normal(0, 5, (20, 16))
    X = (centres[rng.integers(0, 20, 4000)] + rng.normal(0, 1, (4000, 16))).astype(
        np.float32
    )
    rows, dist = anomaly.euclidean_knn(X, k=10, exact_max=1000)  # IVF path
    ref_dist, ref_rows = NearestNeighbors(n_neighbors=11).fit(X).kneighbors(X)
    recall = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(rows, ref_rows[:, 1:], strict=True)]
    )
    assert recall > 0.9
    # the k-NN distance score built on it ranks like the exact one
    from scipy.stats import spearmanr

    ours = anomaly.knn_distance_score(dist)
    exact = anomaly.knn_distance_score(ref_dist[:, 1:].astype(np.float32))
    assert spearmanr(ours, exact).statistic > 0.95


def test_ranks_and_rank_average():
    score = np.array([0.5, 2.0, 1.0, 2.0])
    np.testing.assert_array_equal(anomaly.anomaly_rank(score), [4, 1, 3, 2])
    avg = anomaly.rank_average(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0]))
    np.testing.assert_allclose(avg, [2 / 3] * 3)
    with pytest.raises(DataError):
        anomaly.rank_average()


def test_isolation_forest_finds_outlier():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(size=(300, 4)), [[8, 8, 8, 8]]])
    assert anomaly.isolation_forest_score(X).argmax() == 300


def test_score_table_columns_and_default():
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(size=(200, 5)), [[9.0] * 5]])
    from sklearn.neighbors import NearestNeighbors

    dist, rows = NearestNeighbors(n_neighbors=11).fit(X).kneighbors(X)
    table = anomaly.score_table(rows[:, 1:], dist[:, 1:], pixel_features=X)
    assert list(table.columns[:2]) == ["anomaly_score", "anomaly_rank"]
    assert {"knn_distance", "density", "lof", "pixel_knn_distance", "combined"} <= set(
        table
    )
    # the default needs the residual and the artefact score: without them
    # it falls back to the embedding density
    assert table.attrs["anomaly_method"] == "knn_distance"
    assert table["anomaly_rank"].dtype == np.int32
    assert table["anomaly_rank"].iloc[200] == 1
    no_pixels = anomaly.score_table(rows[:, 1:], dist[:, 1:])
    assert no_pixels.attrs["anomaly_method"] in ("knn_distance", "lof")
    with pytest.raises(DataError, match="unknown anomaly score"):
        anomaly.score_table(rows, dist, default="magic")


def test_top_share():
    score = np.arange(200.0)
    target = np.zeros(200, bool)
    target[[199, 150]] = True
    assert anomaly.top_share(score, target, 0.01) == 0.5


def test_rank_max_by_hand():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([4.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(anomaly.rank_max(a, b), [1.0, 0.5, 0.75, 1.0])
    with pytest.raises(DataError):
        anomaly.rank_max()


def test_science_anomaly_down_weights_flagged():
    score = np.array([4.0, 3.0, 2.0, 1.0])
    art = np.array([0.9, 0.1, 0.5, 0.0])
    expected = np.array([1.0 * anomaly.ARTEFACT_WEIGHT, 0.75, 0.5 * 0.1, 0.25])
    np.testing.assert_allclose(anomaly.science_anomaly(score, art), expected, rtol=1e-6)


def test_max_rank_finds_each_kind_of_oddity():
    """An embedding outlier, a pixel-space outlier and a flagged artefact each
    reach the top 3 of ``max_rank`` (the default without an embedding)."""
    import pandas as pd
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(size=(300, 4)), [[8.0] * 4]])  # row 300
    dist, rows = NearestNeighbors(n_neighbors=11).fit(X).kneighbors(X)
    residual = rng.uniform(0, 1, 301)
    pixels = rng.normal(size=(301, 4))
    pixels[10] = 9.0  # row 10: odd pixels, ordinary embedding
    flags = pd.DataFrame(
        {c: np.zeros(301, bool) for c in anomaly.FLAG_COLUMNS[:-1]}
        | {"artefact_score": rng.uniform(0, 0.3, 301).astype(np.float32)}
    )
    flags.loc[20, ["trail_flag", "artefact_score"]] = [True, 0.9]  # row 20
    table = anomaly.score_table(
        rows[:, 1:],
        dist[:, 1:],
        pixel_features=pixels,
        pixel_residual=residual,
        artefacts=flags,
    )
    assert table.attrs["anomaly_method"] == "max_rank"
    top3 = set(np.argsort(-table["anomaly_score"].to_numpy(), kind="stable")[:3])
    assert top3 == {300, 10, 20}
    assert table["trail_flag"].iloc[20]
    sci = table["science_anomaly"].to_numpy()
    assert sci[20] < 0.2 and sci[300] == sci.max()


def _planted(n: int = 301, seed: int = 3):
    """Gaussian embedding with an isolated row ``n - 1`` and a trail at row 20."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(n - 1, 4)), [[8.0] * 4]])
    flags = pd.DataFrame(
        {c: np.zeros(n, bool) for c in anomaly.FLAG_COLUMNS[:-1]}
        | {"artefact_score": rng.uniform(0, 0.3, n).astype(np.float32)}
    )
    flags.loc[20, ["trail_flag", "artefact_score"]] = [True, 0.9]
    return X, flags


def test_isolation_forest_chunked_and_sampled():
    X, _ = _planted(2001)
    whole = anomaly.isolation_forest_score(X, seed=4)
    chunked = anomaly.isolation_forest_score(X, seed=4, chunk=300)
    np.testing.assert_array_equal(whole, chunked)  # chunking changes nothing
    sampled = anomaly.isolation_forest_score(X, seed=4, fit_max=500)
    assert sampled.argmax() == 2000 and whole.argmax() == 2000
    # a forest fitted on a quarter ranks the rows about as the full one does
    from scipy.stats import spearmanr

    assert spearmanr(whole, sampled).statistic > 0.9
    with pytest.raises(DataError, match="non-finite"):
        anomaly.isolation_forest_score(np.array([[np.nan, 1.0]]))


def test_science_score_and_family_max_by_hand():
    iso = np.array([0.9, 0.1, 0.5, 0.3])  # pct 1, .25, .75, .5
    art = np.array([0.0, 0.8, 0.2, 0.1])  # pct .25, 1, .75, .5
    sci = anomaly.science_score(iso, art)
    np.testing.assert_allclose(sci, [0.625, 0.625, 0.75, 0.5])
    # pct(sci) = 2.5/4, 2.5/4, 1, 1/4 (the tie averaged); max with pct(art)
    np.testing.assert_allclose(anomaly.family_max(sci, art), [0.625, 1.0, 1.0, 0.5])
    with pytest.raises(DataError, match="family_max"):
        anomaly.family_max(sci, art[:2])


def test_default_family_max_keeps_science_and_artefact():
    """With the embedding the default is ``family_max``: the planted isolated
    embedding row with sub-threshold structure (a lens arc, say) and the
    flagged trail are its top two; ``science_anomaly`` keeps the isolated row
    on top and sinks the trail."""
    from sklearn.neighbors import NearestNeighbors

    X, flags = _planted()
    flags.loc[300, "artefact_score"] = 0.4  # structure, below the flag threshold
    dist, rows = NearestNeighbors(n_neighbors=11).fit(X).kneighbors(X)
    table = anomaly.score_table(
        rows[:, 1:],
        dist[:, 1:],
        pixel_features=X,
        pixel_residual=np.zeros(len(X)),
        artefacts=flags,
        embedding=X,
    )
    assert table.attrs["anomaly_method"] == "family_max"
    assert {"isolation_forest", "science_score", "family_max"} <= set(table)
    score = table["anomaly_score"].to_numpy()
    assert 0 < score.min() and score.max() <= 1
    assert set(np.argsort(-score, kind="stable")[:2]) == {300, 20}
    assert table["anomaly_rank"].iloc[[300, 20]].max() == 2
    sci = table["science_anomaly"].to_numpy()
    assert sci.argmax() == 300 and sci[20] < 0.2
    with pytest.raises(DataError, match="embedding has 3 rows"):
        anomaly.score_table(rows[:, 1:], dist[:, 1:], artefacts=flags, embedding=X[:3])
