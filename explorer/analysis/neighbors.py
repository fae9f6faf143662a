"""Similarity search over the L2-normalised embeddings (FAISS).

Similarity is the cosine (inner product of unit vectors). The index kind is
chosen from the number of sources and recorded in ``index_info`` (written to
``analysis.json`` of the version by :mod:`explorer.analysis.pipeline`):

* ``flat`` -- exact ``IndexFlatIP`` up to :data:`EXACT_MAX` sources (a query
  scans everything: ~4 ms per query for 100 000 x 128 on one core);
* ``ivf`` -- ``IndexIVFFlat`` (inner product) above: k-means coarse
  quantiser with ``nlist ~ sqrt(N)`` lists trained on a sample, ``nprobe =
  nlist / 16`` lists scanned per query. Chosen over HNSW because it builds in
  17 s for 10^6 x 128 on two shared cores (HNSW: 14 s for 10^5, so minutes)
  and reached recall@100 = 0.9996 at 5.4 ms median per query
  (``latentsky bench analysis``);
* ``hnsw`` -- ``IndexHNSWFlat`` (inner product), available by ``kind="hnsw"``.

The all-sources k-NN graph (UMAP, anomaly scores) is exact up to
:data:`GRAPH_EXACT_MAX` sources and computed cell by cell with
:func:`clustered_knn_graph` above, whatever the index kind, comparing each
cell with a number of nearby cells that grows with the square root of the
number of cells (recall@10 0.996 at 200 000 and 0.915 at 10^6 in 6 s and
102 s on the benchmark's 128-D clusters, two cores).

``similar`` searches with the mean of the query vectors (renormalised) and
leaves the queries out; ``refine`` is Rocchio relevance feedback
(seed 002): ``q = alpha q0 + beta mean(positives) - gamma mean(negatives)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.errors import DataError

log = logging.getLogger(__name__)

#: Largest number of sources indexed exactly (IndexFlatIP).
EXACT_MAX = 200_000
#: Up to this many queries a search runs on one thread.
SINGLE_THREAD_QUERIES = 8
#: Largest number of sources whose all-pairs k-NN graph is computed exactly.
GRAPH_EXACT_MAX = 20_000
#: Target members per k-means cell of :func:`clustered_knn_graph`.
GRAPH_CELL_SIZE = 512
#: Cells compared with each cell: ``GRAPH_PROBE_PER_SQRT_CELL * sqrt(cells)``.
GRAPH_PROBE_PER_SQRT_CELL = 0.75
#: Fewest cells compared with each cell by :func:`clustered_knn_graph`.
GRAPH_PROBE_MIN = 8


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, float32 C-contiguous (zero rows stay zero)."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def choose_index(n: int, dim: int, kind: str = "auto") -> dict[str, Any]:
    """Index kind and parameters for ``n`` vectors of dimension ``dim``.

    Returns
    -------
    dict
        ``kind`` (flat|ivf|hnsw) and its parameters.
    """
    if kind == "auto":
        kind = "flat" if n <= EXACT_MAX else "ivf"
    if kind == "flat":
        return {"kind": "flat", "metric": "inner_product", "n": n, "dim": dim}
    if kind == "ivf":
        nlist = int(min(max(np.sqrt(n), 16), 65536, max(n // 39, 1)))
        nprobe = int(min(max(nlist // 16, 8), nlist))
        return {
            "kind": "ivf",
            "metric": "inner_product",
            "n": n,
            "dim": dim,
            "nlist": nlist,
            "nprobe": nprobe,
        }
    if kind == "hnsw":
        return {
            "kind": "hnsw",
            "metric": "inner_product",
            "n": n,
            "dim": dim,
            "M": 32,
            "ef_construction": 80,
            "ef_search": 256,
        }
    msg = f"unknown index kind {kind!r} (use auto, flat, ivf or hnsw)"
    raise ValueError(msg)


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
    """How :meth:`SimilarityIndex.knn_graph` computes the graph of ``n`` sources.

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


class SimilarityIndex:
    """Cosine-similarity search over one version's embeddings.

    Build with :meth:`build` (or :meth:`load` a saved ``index.faiss``).

    Attributes
    ----------
    index : faiss.Index
        The FAISS index (inner product on unit vectors).
    ids : ndarray
        ``(N,)`` int64 source ids in row order.
    vectors : ndarray
        ``(N, D)`` float32 unit vectors (queries by id read these).
    index_info : dict
        Kind and parameters of the index.
    """

    def __init__(
        self,
        index: Any,
        vectors: np.ndarray,
        ids: np.ndarray,
        index_info: dict[str, Any],
    ) -> None:
        self.index = index
        self.vectors = vectors
        self.ids = np.asarray(ids, dtype=np.int64)
        self.index_info = index_info
        self._sorter = np.argsort(self.ids, kind="stable")

    # ------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        embeddings: np.ndarray,
        ids: Sequence[int] | np.ndarray,
        *,
        kind: str = "auto",
        seed: int = 0,
    ) -> SimilarityIndex:
        """Index ``embeddings`` (``(N, D)``, normalised here) with source ``ids``.

        Raises
        ------
        DataError
            On NaN/inf rows (naming their ids) or a length mismatch.
        """
        import faiss

        vectors = _checked_vectors(embeddings, ids)
        n, dim = vectors.shape
        info = choose_index(n, dim, kind)
        if info["kind"] == "flat":
            index = faiss.IndexFlatIP(dim)
        elif info["kind"] == "ivf":
            quantiser = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(
                quantiser, dim, info["nlist"], faiss.METRIC_INNER_PRODUCT
            )
            rng = np.random.default_rng(seed)
            n_train = min(n, 40 * info["nlist"])
            index.train(vectors[np.sort(rng.choice(n, n_train, replace=False))])
            index.nprobe = info["nprobe"]
        else:
            index = faiss.IndexHNSWFlat(dim, info["M"], faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = info["ef_construction"]
            index.hnsw.efSearch = info["ef_search"]
        index.add(vectors)
        log.info("built %s similarity index over %d x %d", info["kind"], n, dim)
        return cls(index, vectors, np.asarray(ids), info)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the FAISS index to ``path`` (atomically)."""
        import faiss

        from explorer.store import atomic

        with atomic.atomic_path(path) as tmp:
            faiss.write_index(self.index, str(tmp))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        embeddings: np.ndarray,
        ids: Sequence[int] | np.ndarray,
    ) -> SimilarityIndex:
        """Read ``index.faiss`` written by :meth:`save` for these embeddings.

        Raises
        ------
        DataError
            If the file is missing or its size/dimension does not match.
        """
        import faiss

        path = Path(path)
        if not path.is_file():
            msg = f"similarity index {path} does not exist (run `latentsky analyse`)"
            raise DataError(msg)
        index = faiss.read_index(str(path))
        vectors = normalise(embeddings)
        if index.ntotal != len(vectors) or index.d != vectors.shape[1]:
            msg = (
                f"{path} indexes {index.ntotal} x {index.d} vectors but the "
                f"embeddings are {vectors.shape[0]} x {vectors.shape[1]}"
            )
            raise DataError(msg)
        info = _describe(index)
        return cls(index, vectors, np.asarray(ids), info)

    # -------------------------------------------------------------- queries
    def rows_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row numbers of source ``ids``; DataError naming unknown ids."""
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        pos = np.clip(
            np.searchsorted(self.ids, ids, sorter=self._sorter), 0, len(self.ids) - 1
        )
        rows = self._sorter[pos]
        missing = ids[self.ids[rows] != ids]
        if len(missing):
            msg = f"source id(s) {missing[:5].tolist()} are not in the index"
            raise DataError(msg)
        return rows

    def search_vectors(self, vectors: np.ndarray, k: int = 100) -> pd.DataFrame:
        """Top-``k`` sources for each query vector (normalised here).

        Parameters
        ----------
        vectors : ndarray
            ``(q, D)`` (or ``(D,)``) query vectors.
        k : int
            Results per query.

        Returns
        -------
        DataFrame
            ``query`` (row of ``vectors``), ``id``, ``similarity`` (cosine),
            best first within each query.
        """
        q = normalise(np.atleast_2d(vectors))
        if q.shape[1] != self.vectors.shape[1]:
            dim = self.vectors.shape[1]
            msg = f"query vectors have dimension {q.shape[1]}, index has {dim}"
            raise DataError(msg)
        sims, rows = self._search(q, k)
        valid = rows >= 0
        return pd.DataFrame(
            {
                "query": np.repeat(np.arange(len(q)), rows.shape[1])[valid.ravel()],
                "id": self.ids[rows[valid]],
                "similarity": sims[valid].astype(np.float32),
            }
        )

    def similar(self, ids: Sequence[int] | np.ndarray, k: int = 100) -> pd.DataFrame:
        """The ``k`` sources most similar to the mean of the query sources.

        The query sources themselves are left out of the result.

        Returns
        -------
        DataFrame
            ``id``, ``similarity`` (cosine to the renormalised mean), best first.
        """
        rows = self.rows_of(ids)
        query = self.vectors[rows].mean(axis=0, keepdims=True)
        return self._ranked(query, k, exclude=rows)

    def refine(
        self,
        positive_ids: Sequence[int],
        negative_ids: Sequence[int] = (),
        k: int = 100,
        *,
        query_ids: Sequence[int] | None = None,
        alpha: float = 1.0,
        beta: float = 0.75,
        gamma: float = 0.25,
    ) -> pd.DataFrame:
        """Rocchio refinement: toward the positives, away from the negatives.

        ``q = alpha q0 + beta mean(positives) - gamma mean(negatives)``, with
        ``q0`` the mean of ``query_ids`` (default: of the positives).
        Queries, positives and negatives are left out of the result.

        Returns
        -------
        DataFrame
            ``id``, ``similarity``, best first.
        """
        pos = self.rows_of(positive_ids) if len(positive_ids) else np.zeros(0, np.int64)
        neg = self.rows_of(negative_ids) if len(negative_ids) else np.zeros(0, np.int64)
        base = (
            self.rows_of(query_ids) if query_ids is not None and len(query_ids) else pos
        )
        if len(base) == 0:
            raise DataError("refine needs at least one positive or query source")
        query = alpha * self.vectors[base].mean(axis=0)
        if len(pos):
            query = query + beta * self.vectors[pos].mean(axis=0)
        if len(neg):
            query = query - gamma * self.vectors[neg].mean(axis=0)
        exclude = np.unique(np.concatenate([base, pos, neg]))
        return self._ranked(query[None, :], k, exclude=exclude)

    def knn_graph(
        self, k: int, *, batch: int = 65536, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest neighbours of every indexed source (itself excluded).

        Exact up to :data:`GRAPH_EXACT_MAX` sources, above that approximate
        with :func:`clustered_knn_graph` (whatever the index kind) with the
        probe of :func:`graph_plan` (recall@10 vs N in that docstring).

        Returns
        -------
        indices : ndarray
            ``(N, k)`` int64 row numbers (``-1`` if fewer than ``k`` exist).
        distances : ndarray
            ``(N, k)`` float32 cosine distances ``1 - similarity``, ascending.
        """
        n = len(self.vectors)
        if n > GRAPH_EXACT_MAX:
            return clustered_knn_graph(self.vectors, k, progress=progress)
        if self.index_info.get("kind") != "flat":
            exact = SimilarityIndex.build(self.vectors, self.ids, kind="flat")
            return exact.knn_graph(k, batch=batch, progress=progress)
        return self._graph(k, batch, progress)

    def _graph(
        self, k: int, batch: int, progress: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        from tqdm.auto import tqdm

        n = len(self.vectors)
        indices = np.empty((n, k), dtype=np.int64)
        distances = np.empty((n, k), dtype=np.float32)
        starts = range(0, n, batch)
        for start in tqdm(
            starts, desc="k-NN graph", disable=not progress, unit="batch"
        ):
            stop = min(start + batch, n)
            sims, rows = self._search(self.vectors[start:stop], k + 1)
            own = np.arange(start, stop)[:, None]
            is_self = rows == own
            # Drop the source itself (or, if a duplicate pushed it out, the last).
            drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
            keep = np.ones_like(rows, dtype=bool)
            keep[np.arange(len(rows)), drop] = False
            indices[start:stop] = rows[keep].reshape(-1, k)
            distances[start:stop] = 1.0 - sims[keep].reshape(-1, k)
        np.clip(distances, 0.0, 2.0, out=distances)
        return indices, distances

    # ------------------------------------------------------------- helpers
    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        k = int(min(k, self.index.ntotal))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if len(queries) > SINGLE_THREAD_QUERIES:
            return self.index.search(queries, k)
        # A handful of queries: OpenMP start-up and contention on a busy
        # machine cost more than the scan (3 ms on one thread vs 15-40 ms on
        # two for 100 000 x 128, measured).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self.index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(threads)

    def _ranked(self, query: np.ndarray, k: int, exclude: np.ndarray) -> pd.DataFrame:
        query = normalise(query)
        sims, rows = self._search(query, k + len(exclude))
        sims, rows = sims[0], rows[0]
        keep = (rows >= 0) & ~np.isin(rows, exclude)
        sims, rows = sims[keep][:k], rows[keep][:k]
        return pd.DataFrame(
            {"id": self.ids[rows], "similarity": sims.astype(np.float32)}
        )


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

    Measured on the benchmark's isotropic 128-D Gaussian clusters
    (:func:`explorer.bench.analysis.sphere_mixture`, seed 3; a hard case
    with no low-dimensional structure), k = 10, recall@10 of 2 000 random
    sources vs exact ``IndexFlatIP``, OMP 2 threads on two shared cores
    (load ~2, times +-30 %):

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
    import faiss
    from tqdm.auto import tqdm

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = x.shape
    n_cells = graph_cells(n, k, cell_size)
    if probe is None:
        probe = graph_probe(n_cells)
    log.info("k-NN graph: %d sources, %d cells, probe %d", n, n_cells, probe)
    rng = np.random.default_rng(seed)
    kmeans = faiss.Kmeans(dim, n_cells, niter=10, spherical=True, seed=seed)
    kmeans.train(x[np.sort(rng.choice(n, min(n, 40 * n_cells), replace=False))])
    _, cell = kmeans.index.search(x, 1)
    cell = cell[:, 0]
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(n_cells + 1))
    centre_sims = kmeans.centroids @ kmeans.centroids.T
    near_cells = np.argsort(-centre_sims, axis=1)
    indices = np.full((n, k), -1, dtype=np.int64)
    distances = np.full((n, k), 2.0, dtype=np.float32)
    for c in tqdm(range(n_cells), desc="k-NN graph", disable=not progress):
        members = order[bounds[c] : bounds[c + 1]]
        if len(members) == 0:
            continue
        cand_parts, total = [members], len(members)
        for other in near_cells[c]:
            if len(cand_parts) >= probe and total > k:
                break
            if other != c:
                part = order[bounds[other] : bounds[other + 1]]
                cand_parts.append(part)
                total += len(part)
        cand = np.concatenate(cand_parts)
        cand_x = np.ascontiguousarray(x[cand])
        kk = min(k, len(cand) - 1)
        # faiss.knn: BLAS product + heap selection in C++, far faster
        # than np.argpartition over the (members x candidates) block.
        sims, top = faiss.knn(
            np.ascontiguousarray(x[members]),
            cand_x,
            kk + 1,
            metric=faiss.METRIC_INNER_PRODUCT,
        )
        own = np.arange(len(members))[:, None]  # members lead cand
        is_self = top == own
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), kk)
        keep = np.ones_like(top, dtype=bool)
        keep[np.arange(len(members)), drop] = False
        indices[members, :kk] = cand[top[keep].reshape(-1, kk)]
        distances[members, :kk] = 1.0 - sims[keep].reshape(-1, kk)
    np.clip(distances, 0.0, 2.0, out=distances)
    return indices, distances


def _checked_vectors(
    embeddings: np.ndarray, ids: Sequence[int] | np.ndarray
) -> np.ndarray:
    emb = np.asarray(embeddings)
    if emb.ndim != 2 or len(emb) == 0:
        msg = f"embeddings must be a non-empty (N, D) array, got shape {emb.shape}"
        raise DataError(msg)
    if len(ids) != len(emb):
        msg = f"{len(ids)} ids for {len(emb)} embedding rows"
        raise DataError(msg)
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        named = np.asarray(ids)[bad][:5].tolist()
        msg = f"embeddings hold NaN/inf in {int(bad.sum())} row(s): ids {named}"
        raise DataError(msg)
    return normalise(emb)


def _describe(index: Any) -> dict[str, Any]:
    """Kind and parameters of a FAISS index read from disk."""
    import faiss

    info: dict[str, Any] = {
        "metric": "inner_product",
        "n": int(index.ntotal),
        "dim": int(index.d),
    }
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        info.update(
            kind="ivf",
            nlist=int(ivf.nlist),
            nprobe=int(ivf.nprobe),
        )
    elif isinstance(index, faiss.IndexHNSW):
        info.update(
            kind="hnsw",
            M=int(index.hnsw.nb_neighbors(1)),
            ef_search=int(index.hnsw.efSearch),
        )
    else:
        info.update(kind="flat")
    return info
