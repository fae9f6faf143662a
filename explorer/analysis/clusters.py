"""Automatic clusters of a version: Leiden (default) or HDBSCAN, and their names.

:func:`find_clusters` is what the pipeline calls: ``leiden`` partitions the
k-NN graph the pipeline already computed
(:func:`explorer.analysis.graph_clusters.leiden_clusters`, Jaccard weights,
resolution 0.2, seeded); ``hdbscan`` is :func:`auto_clusters`. On the demo
survey embedded with the shipped encoder (4 000 sources, 64 px) Leiden
reached ARI 0.24 / NMI 0.35 with no noise where HDBSCAN reached 0.11 / 0.24
with 47 % noise; on ``second`` 0.14 vs 0.11 (36 % noise). A supervised
linear probe on the same embedding reaches only ARI 0.46 (demo): the
encoder, not the clustering, bounds ARI below issue 13's 0.5
(``benchmarks/results/analysis-clusters-2026-12-01.json``).

HDBSCAN: the embedding is reduced to :data:`N_COMPONENTS` principal components
(HDBSCAN's density estimates degrade in many dimensions), then
scikit-learn's ``HDBSCAN`` runs on at most :data:`FIT_MAX` sources (a seeded
sample above that: HDBSCAN's cost grows faster than linearly, ~1.5 s for
10 000 points on one core). Every other source takes the majority label of
its :data:`VOTE_K` nearest fitted sources (FAISS, Euclidean in PCA space),
and is noise (``-1``) when noise wins the vote.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from explorer.analysis.pca import pca_reduce
from explorer.analysis.validate import finite_rows
from explorer.errors import DataError

log = logging.getLogger(__name__)

N_COMPONENTS = 15
FIT_MAX = 10_000
VOTE_K = 5
#: HDBSCAN settings chosen on the demo preset (``latentsky bench analysis
#: --sections clusters``, 3 000 sources, 32 px): min_samples 1 and clusters of
#: >= N/60 left 30 % noise (the library default min_samples = min_cluster_size
#: left 65 %) and gave the best ARI of the grid; confirmed on ``second``
#: (29 % noise). ARI stays ~0.03 with the pixel-PCA stand-in embedding.
MIN_SAMPLES = 1
MIN_CLUSTER_SHARE = 1 / 60
CLUSTER_METHODS = ("leiden", "hdbscan")
DEFAULT_METHOD = "leiden"


def find_clusters(
    embeddings: np.ndarray,
    knn: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    method: str = DEFAULT_METHOD,
    resolution: float | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Auto cluster label of every source by ``method``, and how it was made.

    Parameters
    ----------
    embeddings : ndarray
        ``(N, D)`` embeddings.
    knn : (indices, distances), optional
        The ``(N, k)`` k-NN graph of the embeddings (needed by ``leiden``).
    method : {"leiden", "hdbscan"}
        Leiden communities of the k-NN graph, or HDBSCAN on PCA-15.
    resolution : float, optional
        Leiden's resolution (default
        :data:`explorer.analysis.graph_clusters.DEFAULT_RESOLUTION`).
    seed : int
        Seed of Leiden's moves / HDBSCAN's sample.

    Returns
    -------
    labels : ndarray
        ``(N,)`` int32, ``-1`` = noise.
    record : dict
        ``method`` and ``params`` (for ``analysis.json``).

    Raises
    ------
    DataError
        On an unknown method, a missing graph or invalid input.
    """
    if method == "hdbscan":
        if resolution is not None:
            msg = "a resolution applies to --clusters leiden only, not hdbscan"
            raise DataError(msg)
        labels = auto_clusters(embeddings, seed=seed)
        params = {"n_components": N_COMPONENTS, "min_samples": MIN_SAMPLES}
        return labels, {"method": method, "params": params}
    if method != "leiden":
        msg = f"unknown cluster method {method!r} (choose from {CLUSTER_METHODS})"
        raise DataError(msg)
    if knn is None:
        msg = "Leiden clustering needs the k-NN graph"
        raise DataError(msg)
    from explorer.analysis import graph_clusters as gc

    res = gc.DEFAULT_RESOLUTION if resolution is None else float(resolution)
    labels = gc.leiden_clusters(*knn, resolution=res, seed=seed)
    params = {
        "resolution": res,
        "weighting": gc.DEFAULT_WEIGHTING,
        "k": int(min(gc.DEFAULT_K or knn[0].shape[1], knn[0].shape[1])),
        "min_cluster_size": int(gc.min_cluster_size_for(len(labels))),
        "seed": int(seed),
    }
    return labels, {"method": method, "params": params}


def auto_clusters(
    embeddings: np.ndarray,
    *,
    n_components: int = N_COMPONENTS,
    min_cluster_size: int | None = None,
    min_samples: int | None = MIN_SAMPLES,
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
        HDBSCAN's smallest cluster, default ``max(10, n_fit / 60)``.
    min_samples : int, optional
        HDBSCAN's density neighbours (None = ``min_cluster_size``).
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
    size = int(min_cluster_size or max(10, round(n_fit * MIN_CLUSTER_SHARE)))
    size = max(2, min(size, n_fit))
    model = HDBSCAN(min_cluster_size=size, min_samples=min_samples, copy=True)
    model.fit(reduced[fit_rows])
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


#: Label of the sources HDBSCAN leaves out (``cluster == -1``).
NO_CLUSTER = "no cluster"
#: Members listed as a cluster's most typical ones.
N_TYPICAL = 5


def cluster_name(label: int, size: int | None = None) -> str:
    """What the UI calls auto cluster ``label``: ``"auto cluster 3 (412)"``.

    ``-1`` is :data:`NO_CLUSTER`, never "auto cluster -1".
    """
    if int(label) < 0:
        return NO_CLUSTER
    return f"auto cluster {int(label)}" + (f" ({size:,})" if size else "")


def cluster_summary(
    embeddings: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray,
    *,
    n_typical: int = N_TYPICAL,
) -> list[dict]:
    """Size and most typical members of every auto cluster.

    Parameters
    ----------
    embeddings : ndarray
        ``(N, D)`` embeddings the clusters were found in.
    labels : ndarray
        ``(N,)`` cluster labels, ``-1`` = noise.
    ids : ndarray
        ``(N,)`` source ids.
    n_typical : int
        Members listed per cluster: those nearest its centroid (Euclidean).

    Returns
    -------
    list of dict
        One per cluster, by label: ``cluster``, ``name``, ``cluster_size``,
        ``typical_ids`` (nearest the centroid first); the noise last as
        ``cluster`` -1 named :data:`NO_CLUSTER` without typical members.
    """
    X = np.asarray(embeddings, dtype=np.float32)
    labels = np.asarray(labels)
    ids = np.asarray(ids)
    out = []
    for label in range(int(labels.max(initial=-1)) + 1):
        rows = np.flatnonzero(labels == label)
        if not len(rows):
            continue
        centre = X[rows].mean(axis=0)
        d = np.einsum("ij,ij->i", X[rows] - centre, X[rows] - centre)
        typical = rows[np.argsort(d, kind="stable")[:n_typical]]
        out.append(
            {
                "cluster": label,
                "name": cluster_name(label, len(rows)),
                "cluster_size": int(len(rows)),
                "typical_ids": ids[typical].tolist(),
            }
        )
    n_noise = int((labels < 0).sum())
    if n_noise:
        noise = {"cluster": -1, "name": NO_CLUSTER, "cluster_size": n_noise}
        out.append({**noise, "typical_ids": []})
    return out
