"""The all-sources k-NN graph of unit vectors (UMAP, anomaly scores, diffs).

The graph is exact up to :data:`GRAPH_EXACT_MAX` sources (batched
inner-product search, :func:`exact_knn_graph`) and computed cell by cell with
:func:`clustered_knn_graph` above, comparing each k-means cell with a number
of nearby cells that grows with the square root of the number of cells
(recall@10 0.996 at 200 000 and 0.915 at 10^6 on the benchmark's 128-D
clusters). :func:`graph_plan` says which of the two a size gets; the
similarity index of :mod:`explorer.analysis.neighbors` is not used, so the
graph is the same whatever kind of index a version has.

The clustered graph, measured on the benchmark's isotropic 128-D Gaussian
clusters (:func:`explorer.bench.analysis.data.sphere_mixture`, seed 3; a hard
case with no low-dimensional structure), k = 10, recall@10 of 2 000 random
sources vs exact ``IndexFlatIP``, OMP 2 threads on two shared cores (load ~2,
times +-30 %):

=========  =====  =====  ===========  =========
N          cells  probe  recall@10    graph s
=========  =====  =====  ===========  =========
200 000    390    8      0.938        4-19
200 000    390    15*    0.996        6
10^6       1953   8      0.474        65
10^6       1953   16     0.696        66
10^6       1953   24     0.829        87
10^6       1953   32     0.908        97
10^6       1953   33*    0.915        102
=========  =====  =====  ===========  =========

``*`` default. One round of neighbours-of-neighbours refinement (NN-descent
local join) added only 0.004-0.02 recall here, so it is not used.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Largest number of sources whose all-pairs k-NN graph is computed exactly.
GRAPH_EXACT_MAX = 20_000
#: Target members per k-means cell of :func:`clustered_knn_graph`.
GRAPH_CELL_SIZE = 512
#: Cells compared with each cell: ``GRAPH_PROBE_PER_SQRT_CELL * sqrt(cells)``.
GRAPH_PROBE_PER_SQRT_CELL = 0.75
#: Fewest cells compared with each cell by :func:`clustered_knn_graph`.
GRAPH_PROBE_MIN = 8
#: Queries per exact search batch.
BATCH = 65536


def graph_cells(n: int, k: int, cell_size: int = GRAPH_CELL_SIZE) -> int:
    """Number of k-means cells :func:`clustered_knn_graph` splits ``n`` sources in."""
    return int(max(1, min(n // cell_size, n // max(4 * k, 39))))


def graph_probe(n_cells: int) -> int:
    """Cells compared with each cell by :func:`clustered_knn_graph`.

    ``max(GRAPH_PROBE_MIN, round(GRAPH_PROBE_PER_SQRT_CELL * sqrt(n_cells)))``
    (at most ``n_cells``): the probe grows with the square root of the number
    of cells, so the graph costs ~``N^1.5`` and its recall falls slowly with
    N instead of collapsing at a fixed probe (see :func:`clustered_knn_graph`).
    """
    scaled = round(GRAPH_PROBE_PER_SQRT_CELL * np.sqrt(max(n_cells, 1)))
    return int(min(max(GRAPH_PROBE_MIN, scaled), max(n_cells, 1)))


def graph_plan(n: int, k: int) -> dict[str, Any]:
    """How :func:`knn_graph` computes the graph of ``n`` sources.

    Returns
    -------
    dict
        ``method`` (``exact`` up to :data:`GRAPH_EXACT_MAX` sources, else
        ``clustered``) and, for ``clustered``, ``cells`` and ``probe``.
    """
    if n <= GRAPH_EXACT_MAX:
        return {"method": "exact", "k": k}
    cells = graph_cells(n, k)
    return {"method": "clustered", "k": k, "cells": cells, "probe": graph_probe(cells)}


def knn_graph(
    vectors: np.ndarray, k: int, *, batch: int = BATCH, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest neighbours of every source (itself excluded).

    Exact up to :data:`GRAPH_EXACT_MAX` sources, above that approximate with
    :func:`clustered_knn_graph` and the probe of :func:`graph_plan`.

    Parameters
    ----------
    vectors : ndarray
        ``(N, D)`` float32 unit vectors.
    k : int
        Neighbours per source, ``k < N``.
    batch : int
        Queries per exact search.
    progress : bool
        Progress bar.

    Returns
    -------
    indices : ndarray
        ``(N, k)`` int64 row numbers (``-1`` if fewer than ``k`` exist).
    distances : ndarray
        ``(N, k)`` float32 cosine distances ``1 - similarity``, ascending.
    """
    if len(vectors) > GRAPH_EXACT_MAX:
        return clustered_knn_graph(vectors, k, progress=progress)
    return exact_knn_graph(vectors, k, batch=batch, progress=progress)


def drop_self(
    rows: np.ndarray, scores: np.ndarray, own: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Remove each query's own row from its ``k + 1`` search results.

    Parameters
    ----------
    rows : ndarray
        ``(q, k + 1)`` result rows, best first.
    scores : ndarray
        ``(q, k + 1)`` matching similarities or distances.
    own : ndarray
        ``(q, 1)`` row of each query in the searched set.

    Returns
    -------
    (rows (q, k), scores (q, k))
        Without the query itself or, when duplicates pushed it out of the
        results, without the last result.
    """
    q, k1 = rows.shape
    is_self = rows == own
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k1 - 1)
    keep = np.ones_like(rows, dtype=bool)
    keep[np.arange(q), drop] = False
    return rows[keep].reshape(q, k1 - 1), scores[keep].reshape(q, k1 - 1)


def exact_knn_graph(
    vectors: np.ndarray, k: int, *, batch: int = BATCH, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN graph by batched inner-product search (see :func:`knn_graph`)."""
    import faiss
    from tqdm.auto import tqdm

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    kk = int(min(k + 1, n))
    indices = np.empty((n, kk - 1), dtype=np.int64)
    distances = np.empty((n, kk - 1), dtype=np.float32)
    for start in tqdm(
        range(0, n, batch), desc="k-NN graph", disable=not progress, unit="batch"
    ):
        stop = min(start + batch, n)
        sims, rows = faiss.knn(x[start:stop], x, kk, metric=faiss.METRIC_INNER_PRODUCT)
        rows, sims = drop_self(rows, sims, np.arange(start, stop)[:, None])
        indices[start:stop] = rows
        distances[start:stop] = 1.0 - sims
    np.clip(distances, 0.0, 2.0, out=distances)
    return indices, distances


def clustered_knn_graph(
    vectors: np.ndarray,
    k: int,
    *,
    probe: int | None = None,
    cell_size: int = GRAPH_CELL_SIZE,
    seed: int = 0,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate k-NN graph of unit vectors by blocked matrix products.

    The vectors are split into k-means cells of ~``cell_size`` members
    (spherical, inner product). The members of each cell are compared with
    every member of the ``probe`` cells whose centroids are most similar to
    their own cell's (its own included) by ``faiss.knn`` (one BLAS product and
    a heap selection per cell). That is the work of an IVF search with
    ``nprobe = probe`` at matrix-multiply speed instead of one scan per query
    (``IndexIVFFlat.search`` of every source took several minutes for
    200 000 x 128). Neighbours beyond the ``probe`` cells are missed, more so
    as N grows at a fixed ``probe`` (the cells get smaller relative to the
    structure), so the default ``probe`` grows with the number of cells
    (:func:`graph_probe`: ``0.75 sqrt(cells)``, at least 8), which keeps
    recall@10 near 0.9 up to 10^6 at ~N^1.5 cost.

    Recall and time against N and ``probe``: see the module docstring.

    Parameters
    ----------
    vectors : ndarray
        ``(N, D)`` float32 unit vectors.
    k : int
        Neighbours per source (itself excluded).
    probe : int, optional
        Cells compared with each cell (default :func:`graph_probe` of the
        number of cells).
    cell_size : int
        Target members per cell.
    seed : int
        Seed of the k-means.
    progress : bool
        Progress bar over cells.

    Returns
    -------
    (indices (N, k) int64, distances (N, k) float32 cosine distances)
    """
    from tqdm.auto import tqdm

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    n_cells = graph_cells(n, k, cell_size)
    if probe is None:
        probe = graph_probe(n_cells)
    log.info("k-NN graph: %d sources, %d cells, probe %d", n, n_cells, probe)
    order, bounds, near_cells = _cells(x, n_cells, seed)
    indices = np.full((n, k), -1, dtype=np.int64)
    distances = np.full((n, k), 2.0, dtype=np.float32)
    for c in tqdm(range(n_cells), desc="k-NN graph", disable=not progress):
        members = order[bounds[c] : bounds[c + 1]]
        if len(members) == 0:
            continue
        parts, total = [members], len(members)
        for other in near_cells[c]:
            if len(parts) >= probe and total > k:
                break
            if other != c:
                part = order[bounds[other] : bounds[other + 1]]
                parts.append(part)
                total += len(part)
        _cell_neighbours(x, members, np.concatenate(parts), k, indices, distances)
    np.clip(distances, 0.0, 2.0, out=distances)
    return indices, distances


def _cells(
    x: np.ndarray, n_cells: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spherical k-means cells of ``x``: (rows by cell, cell bounds, nearest cells)."""
    import faiss

    n, dim = x.shape
    rng = np.random.default_rng(seed)
    kmeans = faiss.Kmeans(dim, n_cells, niter=10, spherical=True, seed=seed)
    kmeans.train(x[np.sort(rng.choice(n, min(n, 40 * n_cells), replace=False))])
    _, cell = kmeans.index.search(x, 1)
    cell = cell[:, 0]
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(n_cells + 1))
    centre_sims = kmeans.centroids @ kmeans.centroids.T
    return order, bounds, np.argsort(-centre_sims, axis=1)


def _cell_neighbours(
    x: np.ndarray,
    members: np.ndarray,
    cand: np.ndarray,
    k: int,
    indices: np.ndarray,
    distances: np.ndarray,
) -> None:
    """Fill the graph rows of one cell's ``members`` from candidates ``cand``.

    ``cand`` starts with ``members`` (so a member's own row in it is its
    position in ``members``).
    """
    import faiss

    kk = min(k, len(cand) - 1)
    # faiss.knn: BLAS product + heap selection in C++, far faster
    # than np.argpartition over the (members x candidates) block.
    sims, top = faiss.knn(
        np.ascontiguousarray(x[members]),
        np.ascontiguousarray(x[cand]),
        kk + 1,
        metric=faiss.METRIC_INNER_PRODUCT,
    )
    top, sims = drop_self(top, sims, np.arange(len(members))[:, None])
    indices[members, :kk] = cand[top]
    distances[members, :kk] = 1.0 - sims
