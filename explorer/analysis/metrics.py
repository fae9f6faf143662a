"""Cluster-quality metrics for any selection of sources (live metrics panel).

* :func:`davies_bouldin` and :func:`silhouette` follow scikit-learn's
  definitions (``davies_bouldin_score``, ``silhouette_score``); the silhouette
  is O(n^2), so above ``sample_size`` points it is computed on a seeded sample.
* :func:`tpcf_score` is the two-point-correlation score of seed 003
  (Mohale et al.), see :mod:`explorer.analysis.tpcf`.
* :func:`selection_metrics` scores one selection: its auto clusters when it
  holds at least two, else the selection against the rest of the survey.

Degenerate inputs (fewer than two clusters, a cluster smaller than
``min_cluster_size``, constant data) return a result whose ``value`` is NaN and
whose ``reason`` says why -- never an exception, because these feed the UI.
Embeddings holding NaN/inf rows are refused with :class:`DataError` naming the
offending ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.analysis.tpcf import (
    TPCFResult,
    check_finite,
    single_threaded_blas,
    tpcf_score,
)

__all__ = [
    "ClusterScore",
    "TPCFResult",
    "davies_bouldin",
    "selection_labels",
    "selection_metrics",
    "silhouette",
    "tpcf_score",
]

#: Above this many points the silhouette is computed on a seeded sample.
SILHOUETTE_SAMPLE = 5000


@dataclass(frozen=True)
class ClusterScore:
    """One cluster-quality number.

    Attributes
    ----------
    value : float
        The score (NaN when undefined).
    n : int
        Points scored.
    n_clusters : int
        Distinct labels among them (noise ``-1`` excluded).
    reason : str
        Empty when defined, else why the value is NaN.
    sampled : bool
        Whether the value comes from a random sample of the points.
    """

    value: float
    n: int = 0
    n_clusters: int = 0
    reason: str = ""
    sampled: bool = False


def _prepare(
    X: np.ndarray, labels: np.ndarray, ids: np.ndarray | None, min_cluster_size: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Validate, drop noise (-1); return (X, labels, reason-if-degenerate)."""
    X = check_finite(X, ids)
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(X):
        reason = f"{len(labels)} labels for {len(X)} points"
        return X, labels, reason
    keep = labels != -1
    X, labels = X[keep], labels[keep]
    uniq, counts = np.unique(labels, return_counts=True)
    if len(uniq) < 2:
        return X, labels, f"needs at least 2 clusters, got {len(uniq)}"
    if counts.min() < min_cluster_size:
        small = uniq[counts < min_cluster_size][:3].tolist()
        reason = f"cluster(s) {small} have fewer than {min_cluster_size} members"
        return X, labels, reason
    if len(uniq) >= len(X):
        return X, labels, "every point is its own cluster"
    if not np.any(np.ptp(X, axis=0) > 0):
        return X, labels, "all points are identical"
    return X, labels, ""


def davies_bouldin(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    ids: np.ndarray | None = None,
    min_cluster_size: int = 2,
) -> ClusterScore:
    """Davies-Bouldin index (lower = more compact, better separated clusters).

    ``DB = mean_k max_{l != k} (S_k + S_l) / M_kl`` with ``S_k`` the mean
    Euclidean distance of cluster ``k``'s members to its centroid and ``M_kl``
    the centroid distance (scikit-learn's ``davies_bouldin_score``).

    Parameters
    ----------
    X : ndarray
        ``(n, D)`` points.
    labels : ndarray
        ``(n,)`` cluster labels; ``-1`` (noise) is ignored.
    ids : ndarray, optional
        Source ids, only to name NaN rows in the error.
    min_cluster_size : int
        Smaller clusters make the result NaN (with a reason).

    Returns
    -------
    ClusterScore

    Raises
    ------
    DataError
        If ``X`` holds NaN/inf rows.
    """
    X, labels, reason = _prepare(X, labels, ids, min_cluster_size)
    n_clusters = len(np.unique(labels))
    if reason:
        return ClusterScore(np.nan, len(X), n_clusters, reason)
    with single_threaded_blas():
        value = _davies_bouldin(X, labels)
    return ClusterScore(value, len(X), n_clusters)


def _davies_bouldin(X: np.ndarray, labels: np.ndarray) -> float:
    """scikit-learn's ``davies_bouldin_score``, vectorised (~5x faster on 10^5 x 128).

    Centroids come from one sparse one-hot product instead of a loop over
    clusters; the result equals scikit-learn's to rounding (tested).
    """
    from scipy import sparse

    _, codes = np.unique(labels, return_inverse=True)
    n_clusters = int(codes.max()) + 1
    onehot = sparse.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))),
        shape=(n_clusters, len(X)),
    )
    counts = np.asarray(onehot.sum(axis=1)).ravel()
    centroids = np.asarray(onehot @ X) / counts[:, None]
    spread = (
        np.bincount(
            codes,
            weights=np.linalg.norm(X - centroids[codes], axis=1),
            minlength=n_clusters,
        )
        / counts
    )
    sq = (centroids**2).sum(axis=1)
    gaps = np.sqrt(
        np.maximum(sq[:, None] + sq[None, :] - 2 * centroids @ centroids.T, 0)
    )
    if np.allclose(spread, 0) or np.allclose(gaps, 0):
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (spread[:, None] + spread[None, :]) / gaps
    # As scikit-learn: coincident centroids (gap 0) contribute 0, not inf.
    ratio = np.nan_to_num(ratio, nan=0.0, posinf=0.0)
    np.fill_diagonal(ratio, 0.0)
    return float(np.mean(ratio.max(axis=1)))


def silhouette(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    ids: np.ndarray | None = None,
    sample_size: int = SILHOUETTE_SAMPLE,
    seed: int = 0,
    min_cluster_size: int = 2,
) -> ClusterScore:
    """Mean silhouette coefficient (Euclidean; -1 worst .. 1 best).

    Parameters
    ----------
    X, labels, ids, min_cluster_size
        As in :func:`davies_bouldin`.
    sample_size : int
        Above this many points a seeded random sample of this size is scored.
    seed : int
        Seed of that sample.

    Returns
    -------
    ClusterScore
        ``sampled`` tells whether a sample was used.
    """
    from sklearn.metrics import silhouette_score

    X, labels, reason = _prepare(X, labels, ids, min_cluster_size)
    n_clusters = len(np.unique(labels))
    if reason:
        return ClusterScore(np.nan, len(X), n_clusters, reason)
    sampled = len(X) > sample_size
    if sampled:
        rows = np.random.default_rng(seed).choice(len(X), sample_size, replace=False)
        if len(np.unique(labels[rows])) < 2:
            return ClusterScore(
                np.nan,
                len(X),
                n_clusters,
                "the silhouette sample holds one cluster only",
                True,
            )
        X, labels = X[rows], labels[rows]
    return ClusterScore(
        float(silhouette_score(X, labels)), len(X), n_clusters, sampled=sampled
    )


def selection_labels(n: int, rows: np.ndarray) -> np.ndarray:
    """Labels ``1`` for the selected ``rows`` of ``n`` points, ``0`` for the rest."""
    labels = np.zeros(n, dtype=np.int32)
    labels[np.asarray(rows, dtype=np.int64)] = 1
    return labels


def selection_metrics(
    embeddings: np.ndarray,
    rows: np.ndarray,
    *,
    clusters: np.ndarray | None = None,
    ids: np.ndarray | None = None,
) -> dict[str, object]:
    """Davies-Bouldin, silhouette and TPCF score of one selection.

    If the selection spans at least two auto clusters (``clusters``, ``-1`` =
    noise) the cluster metrics compare those clusters within the selection;
    otherwise they compare the selection with the rest of the survey.

    Parameters
    ----------
    embeddings : ndarray
        ``(N, D)`` embeddings of all sources.
    rows : ndarray
        Row numbers of the selection.
    clusters : ndarray, optional
        ``(N,)`` auto-cluster labels.
    ids : ndarray, optional
        ``(N,)`` source ids (to name NaN rows).

    Returns
    -------
    dict
        ``davies_bouldin`` and ``silhouette`` (:class:`ClusterScore`),
        ``tpcf`` (:class:`TPCFResult`), and ``mode`` ("clusters" or
        "selection vs rest").
    """
    rows = np.asarray(rows, dtype=np.int64)
    X_sel = np.asarray(embeddings[rows])
    sel_ids = None if ids is None else np.asarray(ids)[rows]
    if (
        clusters is not None
        and len(np.unique(clusters[rows][clusters[rows] >= 0])) >= 2
    ):
        X, labels, the_ids, mode = (
            X_sel,
            np.asarray(clusters)[rows],
            sel_ids,
            "clusters",
        )
    else:
        X, labels, the_ids = (
            np.asarray(embeddings),
            selection_labels(len(embeddings), rows),
            ids,
        )
        mode = "selection vs rest"
    return {
        "mode": mode,
        "davies_bouldin": davies_bouldin(X, labels, ids=the_ids),
        "silhouette": silhouette(X, labels, ids=the_ids),
        "tpcf": tpcf_score(X_sel, ids=sel_ids),
    }
