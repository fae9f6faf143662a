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

The all-sources k-NN graph (UMAP, anomaly scores) is in
:mod:`explorer.analysis.knn`; :meth:`SimilarityIndex.knn_graph` is a shortcut.

``similar`` searches with the mean of the query vectors (renormalised) and
leaves the queries out; ``refine`` is Rocchio relevance feedback:
``q = alpha q0 + beta mean(positives) - gamma mean(negatives)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from explorer.analysis import knn
from explorer.analysis.validate import finite_rows
from explorer.errors import DataError

log = logging.getLogger(__name__)

#: Largest number of sources indexed exactly (IndexFlatIP).
EXACT_MAX = 200_000
#: Up to this many queries a search runs on one thread.
SINGLE_THREAD_QUERIES = 8


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

        from explorer.store import location

        path = location.store_path(path)
        if not path.is_file():
            msg = f"similarity index {path} does not exist (run `latentsky analyse`)"
            raise DataError(msg)
        if location.is_remote(path):  # faiss reads local files only
            buffer = np.frombuffer(path.read_bytes(), dtype=np.uint8)
            index = faiss.deserialize_index(buffer)
        else:
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
        sims, rows = self.search(q, k)
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
        """The k-NN graph of the indexed vectors (:func:`.knn.knn_graph`).

        Exact up to :data:`explorer.analysis.knn.GRAPH_EXACT_MAX` sources,
        clustered above, whatever the kind of this index.

        Returns
        -------
        indices : ndarray
            ``(N, k)`` int64 row numbers (``-1`` if fewer than ``k`` exist).
        distances : ndarray
            ``(N, k)`` float32 cosine distances ``1 - similarity``, ascending.
        """
        return knn.knn_graph(self.vectors, k, batch=batch, progress=progress)

    # ------------------------------------------------------------- helpers
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw top-``k`` search of unit ``queries``.

        Parameters
        ----------
        queries : ndarray
            ``(q, D)`` float32 unit vectors (not normalised here).
        k : int
            Results per query (at most the index size).

        Returns
        -------
        similarities : ndarray
            ``(q, k)`` float32 cosine similarities, best first.
        rows : ndarray
            ``(q, k)`` int64 row numbers (``-1`` where fewer exist).
        """
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
        sims, rows = self.search(query, k + len(exclude))
        sims, rows = sims[0], rows[0]
        keep = (rows >= 0) & ~np.isin(rows, exclude)
        sims, rows = sims[keep][:k], rows[keep][:k]
        return pd.DataFrame(
            {"id": self.ids[rows], "similarity": sims.astype(np.float32)}
        )


def _checked_vectors(
    embeddings: np.ndarray, ids: Sequence[int] | np.ndarray
) -> np.ndarray:
    emb = np.asarray(embeddings)
    if emb.ndim != 2 or len(emb) == 0:
        msg = f"embeddings must be a non-empty (N, D) array, got shape {emb.shape}"
        raise DataError(msg)
    return normalise(finite_rows(emb, ids))


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
