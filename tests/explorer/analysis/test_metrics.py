"""Davies-Bouldin, silhouette and selection metrics against hand-computed and
scikit-learn references."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import metrics
from explorer.errors import DataError

# Three tiny clusters on a line-friendly layout, easy to do by hand.
X3 = np.array(
    [
        [0.0, 0.0],
        [2.0, 0.0],  # A: centroid (1, 0), S_A = 1
        [10.0, 0.0],
        [10.0, 2.0],  # B: centroid (10, 1), S_B = 1
        [0.0, 10.0],
        [0.0, 14.0],
    ]
)  # C: centroid (0, 12), S_C = 2
L3 = np.array([0, 0, 1, 1, 2, 2])


def test_davies_bouldin_by_hand():
    m_ab = np.hypot(9, 1)
    m_ac = np.hypot(1, 12)
    m_bc = np.hypot(10, 11)
    r_a = max(2 / m_ab, 3 / m_ac)
    r_b = max(2 / m_ab, 3 / m_bc)
    r_c = max(3 / m_ac, 3 / m_bc)
    expected = (r_a + r_b + r_c) / 3
    result = metrics.davies_bouldin(X3, L3)
    assert result.value == pytest.approx(expected, rel=1e-12)
    assert result.n_clusters == 3 and not result.reason


def test_silhouette_by_hand():
    X = np.array([[0.0], [1.0], [5.0], [6.0]])
    labels = np.array([0, 0, 1, 1])
    # point 0: a = 1, b = mean(5, 6) = 5.5 -> 1 - 1/5.5; symmetric for all four
    s0 = 1 - 1 / 5.5  # points 0 and 3
    s1 = 1 - 1 / 4.5  # points 1 and 2: a = 1, b = mean(4, 5)
    expected = (2 * s0 + 2 * s1) / 4
    assert metrics.silhouette(X, labels).value == pytest.approx(expected)


def test_silhouette_samples_above_cap():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (600, 3)), rng.normal(8, 1, (600, 3))])
    labels = np.repeat([0, 1], 600)
    full = metrics.silhouette(X, labels, sample_size=5000)
    sampled = metrics.silhouette(X, labels, sample_size=300, seed=1)
    assert sampled.sampled and not full.sampled
    assert sampled.value == pytest.approx(full.value, abs=0.05)
    assert sampled.value == metrics.silhouette(X, labels, sample_size=300, seed=1).value


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (np.zeros(6, int), "at least 2 clusters"),
        (np.array([0, 0, 0, 0, 0, 1]), "auto cluster 1 has fewer than 2 members"),
        (np.array([-1, -1, -1, -1, -1, 0]), "at least 2 clusters"),
    ],
)
def test_degenerate_selections_give_nan(labels, reason):
    for fn in (metrics.davies_bouldin, metrics.silhouette):
        result = fn(X3, labels)
        assert np.isnan(result.value)
        assert reason in result.reason
        assert "[" not in result.reason  # a sentence, not a Python list


def test_constant_data_gives_nan():
    result = metrics.davies_bouldin(np.ones((6, 2)), L3)
    assert np.isnan(result.value) and "identical" in result.reason


def test_label_length_mismatch_gives_nan():
    assert "labels" in metrics.davies_bouldin(X3, L3[:4]).reason


def test_nan_rows_refused():
    X = X3.copy()
    X[2, 1] = np.nan
    with pytest.raises(DataError, match=r"ids \[12\]"):
        metrics.davies_bouldin(X, L3, ids=np.arange(10, 16))


def test_selection_metrics_vs_rest_and_within():
    rng = np.random.default_rng(0)
    emb = np.concatenate([rng.normal(0, 1, (100, 4)), rng.normal(6, 1, (100, 4))])
    clusters = np.repeat([0, 1], 100)
    one = metrics.selection_metrics(emb, np.arange(100), clusters=clusters)
    # one auto cluster selected: only the comparison with the rest is defined
    assert one["within"]["davies_bouldin"].n_clusters == 1
    assert np.isnan(one["within"]["davies_bouldin"].value)
    assert one["vs_rest"]["davies_bouldin"].value < 0.5
    both = metrics.selection_metrics(emb, np.arange(50, 150), clusters=clusters)
    assert both["within"]["davies_bouldin"].n_clusters == 2
    assert both["within"]["davies_bouldin"].n == 100
    assert np.isfinite(both["tpcf"].score)


def _blobs():
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
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    X, clusters = _blobs()
    rows = np.arange(30, 100)  # blobs 1 and 2
    result = metrics.selection_metrics(X, rows, clusters=clusters)
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
    X, clusters = _blobs()
    result = metrics.selection_metrics(X, np.arange(30), clusters=clusters, max_rest=20)
    assert result["sampled"]
    assert result["vs_rest"]["davies_bouldin"].n == 50


def test_single_cluster_selection_gives_reasons_not_errors():
    X, clusters = _blobs()
    result = metrics.selection_metrics(X, np.arange(5), clusters=clusters)
    within = result["within"]["silhouette"]
    assert np.isnan(within.value) and within.reason


def test_davies_bouldin_equals_scikit_learn():
    from sklearn.metrics import davies_bouldin_score

    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 6)).astype(np.float32)
    labels = rng.integers(0, 5, 500) * 3 + 7
    X += labels[:, None] * 0.3
    ours = metrics.davies_bouldin(X, labels).value
    assert ours == pytest.approx(
        davies_bouldin_score(X.astype(np.float64), labels), rel=1e-9
    )
