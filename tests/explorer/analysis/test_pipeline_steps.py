"""The analysis steps both pipelines share, on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.pipeline_steps import (
    MAP_COLUMNS,
    STEPS,
    Laps,
    cluster_step,
    graph_width,
    map_trustworthiness,
    reused_scan,
    write_map,
)
from explorer.store import Store
from explorer.store.layout import MAP


@pytest.mark.parametrize(
    ("k", "n", "width"),
    [(15, 1000, 14), (5, 1000, 10), (15, 8, 7), (30, 1000, 29)],
)
def test_graph_width_is_umap_k_minus_one_at_least_anomaly_k(k, n, width):
    # max(k - 1, 10), never more than the n - 1 other sources
    assert graph_width(k, n) == width


def test_write_map_puts_the_contract_columns_first(tmp_path):
    ids = np.array([7, 3, 5])
    xy = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], np.float32)
    scores = pd.DataFrame(
        {
            "lof": [1.0, 2.0, 3.0],
            "anomaly_score": [0.1, 0.9, 0.5],
            "anomaly_rank": [3, 1, 2],
            "knn_distance": [0.2, 0.4, 0.3],
            "density": [5.0, 2.5, 3.3],
        },
        index=[10, 11, 12],  # a non-default index must not misalign rows
    )
    write_map(tmp_path, ids, xy, scores, np.array([0, -1, 1]))
    table = pd.read_parquet(tmp_path / MAP)
    assert list(table.columns) == [*MAP_COLUMNS, "lof"]
    assert table["id"].tolist() == [7, 3, 5]
    assert table["y"].tolist() == [1.0, 3.0, 5.0]
    assert table["anomaly_rank"].tolist() == [3, 1, 2]
    assert table["cluster"].dtype == np.int32
    assert table["cluster"].tolist() == [0, -1, 1]


def test_laps_time_each_step_in_order():
    laps = Laps(progress=False)
    for name in STEPS:
        laps.lap(name)
    timings = laps.close()
    assert list(timings) == list(STEPS)
    assert all(t >= 0 for t in timings.values())


def test_trustworthiness_needs_21_sources():
    rng = np.random.default_rng(0)
    vectors, xy = rng.normal(size=(20, 4)), rng.normal(size=(20, 2))
    assert map_trustworthiness(vectors, xy, None) is None


def test_cluster_step_records_sizes_and_noise():
    # two tight, well separated groups of 30 unit vectors
    rng = np.random.default_rng(1)
    a = np.array([1.0, 0, 0, 0]) + 0.01 * rng.normal(size=(30, 4))
    b = np.array([0, 1.0, 0, 0]) + 0.01 * rng.normal(size=(30, 4))
    emb = np.vstack([a, b]).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    from explorer.analysis.knn import exact_knn_graph

    knn = exact_knn_graph(emb, 10)
    ids = np.arange(100, 160)
    labels, record = cluster_step(
        emb, knn, ids, method="leiden", resolution=None, seed=0
    )
    assert record["n_clusters"] == 2
    assert record["noise_fraction"] == 0.0
    assert sorted(c["cluster_size"] for c in record["clusters"]) == [30, 30]
    assert len(set(labels[:30])) == 1 and len(set(labels[30:])) == 1
    assert labels[0] != labels[30]


def test_no_scan_to_reuse_in_a_store_without_versions(small_store):
    assert reused_scan(Store.open(small_store), None) is None
