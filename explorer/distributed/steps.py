"""The steps of ``analyse --dask`` that fan out over row partitions.

Each helper submits one task per partition
(:mod:`explorer.distributed.partitions`) and gathers the pieces in row
order: the k-NN graph (:func:`graph`), the pixel scan (:func:`pixel_scan`),
the pixel-space k-NN distance (:func:`pixel_knn_distance`); :func:`score_table`
assembles the anomaly columns from them, as
:func:`explorer.analysis.anomaly.score_table` does in process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.analysis import anomaly
from explorer.analysis.artefacts import FLAG_COLUMNS
from explorer.analysis.pipeline_steps import (
    PIXEL_PCA_DIMS,
    PIXEL_PCA_KIND,
    reused_scan,
    save_pixel_pca,
)
from explorer.distributed import partitions
from explorer.distributed.cluster import worker_path
from explorer.distributed.embed import blocks
from explorer.store import Store, layout
from explorer.store.layout import EMBEDDINGS, INDEX, PIXEL_PCA

#: Cutouts the pixel PCA is fitted on (pixel_scan's default sample and seed 0).
SCAN_SAMPLE = 5000


def run(client: Any, function: Any, calls: list[tuple]) -> list[Any]:
    """``function(*call)`` for every call on the cluster, results in order."""
    futures = [client.submit(function, *call, pure=False) for call in calls]
    try:
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise


def graph(
    client: Any, directory: Path, parts: list[tuple[int, int]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(N, k)`` k-NN graph, one task per partition of rows."""
    index_path = partitions.as_path(directory / INDEX)
    emb_path = partitions.as_path(directory / EMBEDDINGS)
    calls = [(index_path, emb_path, a, b, k) for a, b in parts]
    pieces = run(client, partitions.graph_partition, calls)
    return (
        np.concatenate([p[0] for p in pieces]),
        np.concatenate([p[1] for p in pieces]),
    )


def pixel_scan(
    client: Any,
    store: Store,
    directory: Path,
    previous: str | None,
    parts: list[tuple[int, int]],
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Pixel PCA, residual and artefact flags; ``pixel_pca.npy`` written.

    Reused from an earlier version when one has them (as in process), else
    the PCA is fitted on the lead's seeded sample
    (:func:`explorer.analysis.features.pixel_scan`'s) and every block of at
    most one shard is projected and flagged by a task.
    """
    from explorer.analysis.features import fit_pixel_pca

    scan = reused_scan(store, previous)
    if scan is None:
        n = store.n_sources
        rows = np.random.default_rng(0).choice(n, min(SCAN_SAMPLE, n), replace=False)
        model = fit_pixel_pca(
            store.cutouts_at(np.sort(rows)), PIXEL_PCA_DIMS, PIXEL_PCA_KIND, 0
        )
        shared = client.scatter(model, broadcast=True)
        root = str(worker_path(store.root))
        step = min(max(b - a for a, b in parts), layout.SHARD_SOURCES)
        calls = [(root, shared, a, b, PIXEL_PCA_KIND) for a, b in blocks(n, step)]
        pieces = run(client, partitions.scan_partition, calls)
        scan = (
            np.concatenate([p[0] for p in pieces]),
            np.concatenate([p[1] for p in pieces]),
            pd.concat([p[2] for p in pieces], ignore_index=True),
        )
    save_pixel_pca(directory, scan[0])
    return scan


def score_table(
    indices: np.ndarray,
    distances: np.ndarray,
    pixel_knn_distance: np.ndarray,
    pixel_residual: np.ndarray,
    artefacts: pd.DataFrame,
    k: int,
    embedding: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`explorer.analysis.anomaly.score_table` from per-partition pieces.

    The same columns in the same order, from the gathered embedding graph
    and the per-partition ``pixel_knn_distance`` instead of a pixel k-NN
    search over all rows here.

    Parameters
    ----------
    indices, distances : ndarray
        ``(N, >=k)`` embedding k-NN graph (self excluded), cosine distances.
    pixel_knn_distance : ndarray
        ``(N,)`` mean distance to the ``k`` pixel-space neighbours.
    pixel_residual : ndarray
        ``(N,)`` pixel-PCA reconstruction residual.
    artefacts : DataFrame
        ``N`` rows of artefact flags and ``artefact_score``.
    k : int
        Neighbours used.
    embedding : ndarray, optional
        ``(N, D)`` embedding (for the default ``family_max``).

    Returns
    -------
    DataFrame
        See :func:`explorer.analysis.anomaly.score_table`.
    """
    idx, dist = np.asarray(indices)[:, :k], np.asarray(distances)[:, :k]
    knn = anomaly.knn_distance_score(dist)
    table = pd.DataFrame(
        {
            "knn_distance": knn,
            "density": (1.0 / np.maximum(knn, 1e-6)).astype(np.float32),
            "lof": anomaly.lof_score(idx, dist),
        }
    )
    table["pixel_knn_distance"] = np.asarray(pixel_knn_distance, dtype=np.float32)
    table["combined"] = anomaly.rank_average(
        table["knn_distance"], table["pixel_knn_distance"]
    )
    table["pixel_residual"] = np.asarray(pixel_residual, dtype=np.float32)
    for column in FLAG_COLUMNS:
        table[column] = artefacts[column].to_numpy()
    default = anomaly.DEFAULT_SCORE
    table["max_rank"] = anomaly.rank_max(*(table[c] for c in anomaly.MAX_RANK_OF))
    anomaly.add_family_scores(table, embedding)
    default = default if default in table else "max_rank"
    score = table[default].to_numpy(dtype=np.float32)
    table["science_anomaly"] = anomaly.science_anomaly(score, table["artefact_score"])
    table.insert(0, "anomaly_rank", anomaly.anomaly_rank(score))
    table.insert(0, "anomaly_score", score)
    table.attrs["anomaly_method"] = default
    return table


def pixel_knn_distance(
    client: Any, directory: Path, parts: list[tuple[int, int]], k: int
) -> np.ndarray:
    """``(N,)`` mean pixel-space distance to the ``k`` nearest, per partition."""
    features = partitions.as_path(directory / PIXEL_PCA)
    calls = [(features, a, b, k) for a, b in parts]
    return np.concatenate(run(client, partitions.pixel_partition, calls))
