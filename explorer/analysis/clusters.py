"""Automatic clusters: HDBSCAN on a PCA-reduced embedding.

The embedding is reduced to :data:`N_COMPONENTS` principal components
(HDBSCAN's density estimates degrade in many dimensions), then
scikit-learn's ``HDBSCAN`` runs on at most :data:`FIT_MAX` sources (a seeded
sample above that: HDBSCAN's cost grows faster than linearly, ~1.5 s for
10 000 points on one core). Every other source takes the majority label of
its :data:`VOTE_K` nearest fitted sources (FAISS, Euclidean in PCA space),
and is noise (``-1``) when noise wins the vote.
"""

from __future__ import annotations

import logging

import numpy as np

from explorer.analysis.pca import pca_reduce
from explorer.analysis.validate import finite_rows
from explorer.errors import DataError

log = logging.getLogger(__name__)

N_COMPONENTS = 15
FIT_MAX = 10_000
VOTE_K = 5


def auto_clusters(
    embeddings: np.ndarray,
    *,
    n_components: int = N_COMPONENTS,
    min_cluster_size: int | None = None,
    fit_max: int = FIT_MAX,
    seed: int = 0,
) -> np.ndarray:
    """HDBSCAN cluster label of every source.

    Parameters
    ----------
    embeddings : ndarray
        ``(N, D)`` embeddings.
    n_components : int
        PCA dimensions HDBSCAN sees.
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster, default ``max(10, n_fit // 100)``.
    fit_max : int
        Largest number of sources HDBSCAN itself clusters.
    seed : int
        Seed of the sample.

    Returns
    -------
    ndarray
        ``(N,)`` int32 labels, ``-1`` = noise.

    Raises
    ------
    DataError
        On NaN/inf rows or fewer than 2 sources.
    """
    from sklearn.cluster import HDBSCAN

    # float32: 1e6 x 128 is 0.5 GB
    X = finite_rows(np.asarray(embeddings, dtype=np.float32))
    n = len(X)
    if n < 2:
        msg = f"clustering needs at least 2 sources, got {n}"
        raise DataError(msg)
    reduced = pca_reduce(X, n_components).astype(np.float32)
    fit_rows = (
        np.arange(n)
        if n <= fit_max
        else np.sort(np.random.default_rng(seed).choice(n, fit_max, replace=False))
    )
    n_fit = len(fit_rows)
    size = int(min_cluster_size or max(10, n_fit // 100))
    size = max(2, min(size, n_fit))
    model = HDBSCAN(min_cluster_size=size, copy=True).fit(reduced[fit_rows])
    labels = np.full(n, -1, dtype=np.int32)
    labels[fit_rows] = model.labels_.astype(np.int32)
    if n_fit < n:
        rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
        labels[rest] = _vote(reduced[fit_rows], labels[fit_rows], reduced[rest])
    log.info(
        "HDBSCAN: %d clusters, %.1f%% noise",
        labels.max() + 1,
        100 * np.mean(labels < 0),
    )
    return labels


def _vote(
    fitted: np.ndarray, fitted_labels: np.ndarray, queries: np.ndarray, k: int = VOTE_K
) -> np.ndarray:
    """Majority label of each query's ``k`` nearest fitted points (ties: nearest)."""
    import faiss

    index = faiss.IndexFlatL2(fitted.shape[1])
    index.add(np.ascontiguousarray(fitted))
    out = np.empty(len(queries), dtype=np.int32)
    for start in range(0, len(queries), 65536):
        chunk = np.ascontiguousarray(queries[start : start + 65536])
        _, rows = index.search(chunk, k)
        votes = fitted_labels[rows]  # (q, k), nearest first
        # Count each candidate label over the row; the nearest wins ties
        # because argmax keeps the first maximum.
        counts = (votes[:, :, None] == votes[:, None, :]).sum(axis=2)
        out[start : start + len(chunk)] = votes[
            np.arange(len(votes)), counts.argmax(axis=1)
        ]
    return out
