"""Does the 2-D map keep each source's neighbourhood? Flags where it does not.

A 2-D map (UMAP, t-SNE) must tear and squash a many-dimensional space, and
an isolated source in the embedding can land inside a dense clump of the
map, where nobody looking at the map would see it as odd. Two measures per
source, both from neighbour sets only (never O(N^2)):

* ``map_consistency`` -- the share of a source's ``k`` nearest neighbours in
  the embedding (the k-NN graph the pipeline already has) that are also among
  its ``k`` nearest neighbours on the map (a SciPy KD-tree in 2-D); 1 = the
  map keeps its neighbourhood, 0 = none of it.
* ``hidden_in_map`` -- an anomaly the map hides: in the top
  :data:`HIDDEN_TOP` of the embedding's anomaly ranks yet with a 2-D
  neighbour distance below the map's median (inside a clump).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.errors import DataError

#: Share of the most anomalous sources that ``hidden_in_map`` looks at.
HIDDEN_TOP = 0.01


def map_knn(xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` nearest map neighbours of each source (itself excluded).

    Parameters
    ----------
    xy : ndarray
        ``(N, 2)`` map coordinates.
    k : int
        Neighbours.

    Returns
    -------
    (rows (N, k) int64, distances (N, k) float64)
    """
    from scipy.spatial import cKDTree

    xy = np.asarray(xy, dtype=np.float64)
    k = min(k, len(xy) - 1)
    dist, rows = cKDTree(xy).query(xy, k=k + 1, workers=1)
    # duplicates of a point may come before it: drop the point itself, or
    # the last column where it is not among the k + 1
    own = rows == np.arange(len(xy))[:, None]
    own[~own.any(axis=1), -1] = True
    keep = ~own
    return rows[keep].reshape(len(xy), k), dist[keep].reshape(len(xy), k)


def neighbour_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of each row of ``a`` found in the same row of ``b``, ``(N,)`` float32.

    Parameters
    ----------
    a, b : ndarray
        ``(N, k)`` neighbour rows (``-1`` in ``a`` = missing, not counted).
    """
    a, b = np.asarray(a), np.asarray(b)
    if len(a) != len(b):
        msg = f"neighbour tables have {len(a)} and {len(b)} rows, expected equal"
        raise DataError(msg)
    hits = (a[:, :, None] == b[:, None, :]).any(axis=2) & (a >= 0)
    return (hits.sum(axis=1) / np.maximum((a >= 0).sum(axis=1), 1)).astype(np.float32)


def map_consistency(
    xy: np.ndarray,
    knn_rows: np.ndarray,
    anomaly_score: np.ndarray,
    *,
    chunk: int = 100_000,
) -> pd.DataFrame:
    """``map_consistency`` and ``hidden_in_map`` of every source.

    Parameters
    ----------
    xy : ndarray
        ``(N, 2)`` map coordinates.
    knn_rows : ndarray
        ``(N, k)`` embedding k-NN graph rows (self excluded).
    anomaly_score : ndarray
        ``(N,)`` embedding anomaly score (higher = more anomalous).
    chunk : int
        Rows compared at a time (bounds the ``(chunk, k, k)`` comparison).

    Returns
    -------
    DataFrame
        ``map_consistency`` float32 (0..1), ``map_knn_distance`` float32,
        ``hidden_in_map`` bool.

    Raises
    ------
    DataError
        If the shapes disagree.
    """
    xy = np.asarray(xy)
    knn_rows = np.asarray(knn_rows)
    score = np.asarray(anomaly_score, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or not len(xy) == len(knn_rows) == len(score):
        msg = (
            f"map {xy.shape}, k-NN graph {knn_rows.shape} and score {score.shape} "
            "must all have N rows (map (N, 2))"
        )
        raise DataError(msg)
    rows_2d, dist_2d = map_knn(xy, knn_rows.shape[1])
    overlap = np.concatenate(
        [
            neighbour_overlap(knn_rows[s : s + chunk], rows_2d[s : s + chunk])
            for s in range(0, len(xy), chunk)
        ]
    )
    spacing = dist_2d.mean(axis=1)
    pct = pd.Series(score).rank(pct=True, method="average").to_numpy()
    hidden = (pct > 1.0 - HIDDEN_TOP) & (spacing < np.median(spacing))
    return pd.DataFrame(
        {
            "map_consistency": overlap,
            "map_knn_distance": spacing.astype(np.float32),
            "hidden_in_map": hidden,
        }
    )
