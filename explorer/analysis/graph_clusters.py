"""Automatic clusters: Leiden communities of the k-NN graph.

The pipeline's k-NN graph (cosine distances, :mod:`explorer.analysis.knn`)
becomes a weighted undirected graph, and ``leidenalg`` partitions it with the
resolution-scaled modularity (``RBConfigurationVertexPartition``), the way
single-cell analysis runs it (scanpy's ``tl.leiden`` on UMAP's fuzzy
connectivities; Traag, Waltman & van Eck 2019). Edge weights, by
``weighting``:

``umap``
    UMAP's fuzzy simplicial set (McInnes et al. 2018): each source's
    directed weights ``exp(-(d - rho) / sigma)``, ``rho`` its nearest
    distance and ``sigma`` solved so that they sum to ``log2(k + 1)`` (UMAP's
    ``n_neighbors`` counts the source itself), then the fuzzy union
    ``a + a^T - a * a^T``.
``jaccard``
    PhenoGraph's (Levine et al. 2015): the Jaccard index of the two sources'
    neighbour sets (each with the source itself).
``binary``
    1 for every edge of the symmetrised graph.

Leiden is seeded, so a version's clusters are reproducible. Communities
smaller than ``min_cluster_size`` are left as noise (``-1``, "no cluster"):
a handful of sources is no cluster worth naming. The others are numbered by
size, largest first.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from explorer.errors import DataError

log = logging.getLogger(__name__)

WEIGHTINGS = ("umap", "jaccard", "binary")
#: Settings chosen on the demo preset with the shipped encoder (``latentsky
#: bench analysis --sections clusters``, 4 000 sources, 64 px) and reported
#: on ``second``; see ``benchmarks/results/analysis-clusters-2026-12-01.json``.
#: Jaccard weights at resolution 0.2 had the best mean ARI over 3 seeds on
#: demo (0.236 +- 0.005, 7 clusters, no noise; UMAP weights 0.199, HDBSCAN as
#: before 0.109 with 47 % noise) and gave 0.142 on second (HDBSCAN 0.105).
DEFAULT_WEIGHTING = "jaccard"
DEFAULT_RESOLUTION = 0.2
#: Neighbours per source the graph keeps (None = every column given: the
#: pipeline's graph has max(k - 1, 10) = 14 for its k = 15).
DEFAULT_K: int | None = None
#: Smallest community kept as a cluster: this share of the sources, >= 5.
MIN_CLUSTER_SHARE = 1 / 500
MIN_CLUSTER_FLOOR = 5
#: Edges whose shared neighbours are counted at once.
_JACCARD_CHUNK = 1 << 20
#: Bisection steps of UMAP's per-source bandwidth (2^-64 of the bracket).
_SIGMA_STEPS = 64


def _check_graph(indices: np.ndarray, distances: np.ndarray) -> None:
    """Raise DataError unless the two arrays are one (N, k) k-NN graph."""
    if indices.ndim != 2 or indices.shape != distances.shape:
        msg = (
            f"k-NN graph indices {indices.shape} and distances {distances.shape} "
            "must both be (N, k)"
        )
        raise DataError(msg)
    n = len(indices)
    if n < 2 or indices.shape[1] < 1:
        msg = (
            f"clustering needs at least 2 sources and 1 neighbour, got {indices.shape}"
        )
        raise DataError(msg)
    if indices.max() >= n:
        msg = f"k-NN graph index {int(indices.max())} is out of range for {n} sources"
        raise DataError(msg)
    if not np.isfinite(distances[indices >= 0]).all():
        msg = "k-NN graph distances hold NaN/inf"
        raise DataError(msg)


def umap_weights(distances: np.ndarray) -> np.ndarray:
    """UMAP's directed membership strengths of each source's neighbours.

    Parameters
    ----------
    distances : ndarray
        ``(N, k)`` distances to each source's neighbours, ascending (``inf``
        or NaN-free; missing neighbours may be ``inf``).

    Returns
    -------
    ndarray
        ``(N, k)`` float64 weights in (0, 1]: ``exp(-max(0, d - rho) / sigma)``
        with ``rho`` the nearest distance and ``sigma`` such that each row
        sums to ``log2(k + 1)`` (the nearest neighbour gets 1), as
        umap-learn's ``smooth_knn_dist`` with ``n_neighbors = k + 1`` (the
        source itself being its first neighbour there), including its floor
        ``sigma >= 1e-3 * mean(d)``.
    """
    d = np.asarray(distances, dtype=np.float64)
    k = d.shape[1]
    target = np.log2(k + 1)
    rho = d[:, :1]
    excess = np.maximum(d - rho, 0.0)
    lo = np.zeros(len(d))
    hi = np.full(len(d), np.inf)
    sigma = np.ones(len(d))
    # The row sum grows with sigma; bisect (doubling while unbounded), as
    # umap-learn's smooth_knn_dist does.
    for _ in range(_SIGMA_STEPS):
        total = np.exp(-excess / sigma[:, None]).sum(axis=1)
        high = total > target
        hi = np.where(high, sigma, hi)
        lo = np.where(high, lo, sigma)
        sigma = np.where(np.isinf(hi), sigma * 2, (lo + hi) / 2)
    # umap-learn's floor (MIN_K_DIST_SCALE); its mean includes the self
    # column's zero. A row of identical distances never reaches the target:
    # sigma grows without bound and every weight tends to 1.
    floor = 1e-3 * d.sum(axis=1) / (k + 1)
    sigma = np.maximum(sigma, np.maximum(floor, 1e-12))
    return np.exp(-excess / sigma[:, None])


def knn_adjacency(
    indices: np.ndarray,
    distances: np.ndarray,
    *,
    weighting: str = DEFAULT_WEIGHTING,
) -> sp.csr_matrix:
    """Symmetric weighted adjacency of a k-NN graph.

    Parameters
    ----------
    indices : ndarray
        ``(N, k)`` neighbour rows of each source, itself excluded (``-1`` =
        missing).
    distances : ndarray
        ``(N, k)`` their distances, ascending.
    weighting : {"umap", "jaccard", "binary"}
        Edge weights (see the module docstring).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(N, N)`` float64, symmetric, zero diagonal.

    Raises
    ------
    DataError
        On a malformed graph or an unknown weighting.
    """
    indices = np.asarray(indices)
    distances = np.asarray(distances)
    _check_graph(indices, distances)
    if weighting not in WEIGHTINGS:
        msg = f"unknown graph weighting {weighting!r} (choose from {WEIGHTINGS})"
        raise DataError(msg)
    n, k = indices.shape
    rows = np.repeat(np.arange(n), k)
    cols = indices.ravel()
    keep = (cols >= 0) & (cols != rows)
    if weighting == "umap":
        finite = np.where(indices >= 0, distances, np.inf)
        vals = umap_weights(
            np.where(np.isfinite(finite), finite, finite[:, :1])
        ).ravel()
    else:
        vals = np.ones(n * k)
    a = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, n))
    a.sum_duplicates()
    if weighting == "umap":
        sym = a + a.T - a.multiply(a.T)
    elif weighting == "binary":
        sym = ((a + a.T) > 0).astype(np.float64)
    else:
        sym = _jaccard(a, k)
    sym = sp.csr_matrix(sym)
    sym.setdiag(0)
    sym.eliminate_zeros()
    return sym


def _jaccard(a: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Jaccard index of the neighbour sets (with self) on the symmetrised edges."""
    n = a.shape[0]
    member = ((a > 0).astype(np.float64) + sp.identity(n, format="csr")).tocsr()
    sizes = np.asarray(member.sum(axis=1)).ravel()
    edges = sp.triu((a + a.T) > 0, k=1).tocoo()
    # shared neighbours of each edge's two ends: one sparse row product per
    # edge, in chunks (all edges at once would hold ~2k entries per edge)
    shared = np.empty(len(edges.row))
    for start in range(0, len(shared), _JACCARD_CHUNK):
        r = edges.row[start : start + _JACCARD_CHUNK]
        c = edges.col[start : start + _JACCARD_CHUNK]
        both = member[r].multiply(member[c])
        shared[start : start + len(r)] = np.asarray(both.sum(axis=1)).ravel()
    jac = shared / (sizes[edges.row] + sizes[edges.col] - shared)
    upper = sp.csr_matrix((jac, (edges.row, edges.col)), shape=(n, n))
    return upper + upper.T


def leiden_clusters(
    indices: np.ndarray,
    distances: np.ndarray,
    *,
    resolution: float = DEFAULT_RESOLUTION,
    weighting: str = DEFAULT_WEIGHTING,
    k: int | None = DEFAULT_K,
    min_cluster_size: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Leiden cluster label of every source from its k-NN graph.

    Parameters
    ----------
    indices, distances : ndarray
        ``(N, k')`` k-NN graph (:func:`explorer.analysis.knn.knn_graph`).
    resolution : float
        Resolution of the modularity (> 0; larger = more, smaller clusters).
    weighting : {"umap", "jaccard", "binary"}
        Edge weights.
    k : int, optional
        Neighbours kept per source (the first ``k`` columns; None = all).
    min_cluster_size : int, optional
        Smaller communities become noise; default ``max(5, N / 500)``.
    seed : int
        Seed of Leiden's random moves.

    Returns
    -------
    ndarray
        ``(N,)`` int32 labels, largest cluster 0, ``-1`` = noise.

    Raises
    ------
    DataError
        On a malformed graph, a resolution <= 0 or an unknown weighting.
    """
    import igraph
    import leidenalg

    if not resolution > 0:
        msg = f"Leiden resolution {resolution} must be > 0"
        raise DataError(msg)
    indices = np.asarray(indices)[:, :k]
    distances = np.asarray(distances)[:, :k]
    adj = sp.triu(knn_adjacency(indices, distances, weighting=weighting)).tocoo()
    n = len(indices)
    graph = igraph.Graph(n=n, edges=np.column_stack([adj.row, adj.col]))
    graph.es["weight"] = adj.data
    part = leidenalg.find_partition(
        graph,
        leidenalg.RBConfigurationVertexPartition,
        weights="weight",
        resolution_parameter=float(resolution),
        n_iterations=-1,
        seed=int(seed),
    )
    raw = np.asarray(part.membership)
    labels = relabel_by_size(raw, min_cluster_size or min_cluster_size_for(n))
    log.info(
        "Leiden (resolution %g, %s weights): %d clusters, %.1f%% noise",
        resolution,
        weighting,
        labels.max() + 1,
        100 * np.mean(labels < 0),
    )
    return labels


def min_cluster_size_for(n: int) -> int:
    """Default smallest kept community of ``n`` sources: ``max(5, n / 500)``."""
    return max(MIN_CLUSTER_FLOOR, round(n * MIN_CLUSTER_SHARE))


def relabel_by_size(raw: np.ndarray, min_size: int) -> np.ndarray:
    """Labels ``0..`` by decreasing size (ties: lower raw label), small ones -1.

    Parameters
    ----------
    raw : ndarray
        ``(N,)`` non-negative community ids.
    min_size : int
        Communities with fewer members become ``-1``.

    Returns
    -------
    ndarray
        ``(N,)`` int32.
    """
    counts = np.bincount(raw)
    order = np.lexsort((np.arange(len(counts)), -counts))
    new = np.full(len(counts), -1, dtype=np.int32)
    kept = order[counts[order] >= min_size]
    new[kept] = np.arange(len(kept), dtype=np.int32)
    return new[raw]
