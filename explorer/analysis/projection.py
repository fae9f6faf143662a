"""The 2-D map of every source: UMAP on the embeddings, plus map alignment.

Speed-ups over a plain ``umap.UMAP().fit_transform``:

* the k-NN graph is the FAISS one the pipeline computes anyway for the
  similarity index and anomaly scores (``precomputed_knn``), so UMAP runs no
  nearest-neighbour descent;
* ``init="pca"`` above :data:`SPECTRAL_MAX` sources (the spectral layout of a
  graph with many components is slow) and spectral below;
* ``n_epochs`` 200 (UMAP's own choice above 10 000 points) and 500 below;
* above ``fit_max`` sources (:data:`FIT_MAX` = 50 000) UMAP is fitted on a
  seeded sample of ``fit_max`` sources and every other source is placed at the
  membership-weighted mean position of its fitted neighbours in the full
  k-NN graph (or, if it has none, of its ``n_neighbors`` nearest fitted
  sources by FAISS search). This is the initial placement of
  ``UMAP.transform``, without its extra epochs; every source is on the map,
  nothing is subsampled from what is shown. Measured on 200 000 x 128
  (clustered): 49 s vs 173 s for plain UMAP, trustworthiness (k=10) 0.9856
  vs 0.9872 (fit_max 100 000: 84 s, 0.9873).

``import umap`` costs ~14 s (numba); it is imported inside :meth:`fit` only.

:func:`align` rotates, reflects, scales and shifts a new map onto an older one
(orthogonal Procrustes on the sources they share), so re-embedding a survey
does not flip or spin the picture the user knows.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from explorer.analysis.validate import finite_rows
from explorer.errors import DataError

log = logging.getLogger(__name__)

FIT_MAX = 50_000
SPECTRAL_MAX = 50_000


class MapProjector:
    """UMAP projection of unit-normalised embeddings (scikit-learn style).

    Parameters
    ----------
    n_neighbors : int
        UMAP's neighbourhood size.
    min_dist : float
        UMAP's minimum distance in the map.
    n_epochs : int, optional
        Optimisation epochs (default 500 up to 10 000 sources, else 200).
    init : {"auto", "spectral", "pca", "random"}
        Initial layout; ``auto`` is spectral up to :data:`SPECTRAL_MAX`.
    fit_max : int
        Above this many sources, fit on a sample and place the rest.
    seed : int or None
        Random seed. None (default) lets UMAP run its epochs in parallel
        (faster, not reproducible); a seed makes umap-learn single-threaded,
        so give one only when reproducibility is asked for.

    Attributes
    ----------
    embedding_ : ndarray
        ``(N, 2)`` float32 map of the sources given to :meth:`fit`.
    fit_rows_ : ndarray
        Rows UMAP was fitted on (all rows below ``fit_max``).
    timings_ : dict
        Seconds spent per stage.
    """

    def __init__(
        self,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        *,
        n_epochs: int | None = None,
        init: str = "auto",
        fit_max: int = FIT_MAX,
        seed: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.n_epochs = n_epochs
        self.init = init
        self.fit_max = fit_max
        self.seed = seed

    def fit(
        self,
        X: np.ndarray,
        knn: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> MapProjector:
        """Compute the map of ``X``.

        Parameters
        ----------
        X : ndarray
            ``(N, D)`` embeddings (normalised here).
        knn : (indices, distances), optional
            The k-NN graph of ``X`` (self excluded, ``k >= n_neighbors - 1``,
            cosine distances) from :meth:`SimilarityIndex.knn_graph`; computed
            here when missing. Ignored when fitting on a sample.

        Returns
        -------
        MapProjector
            ``self``.
        """
        import time

        from explorer.analysis.knn import GRAPH_EXACT_MAX
        from explorer.analysis.neighbors import SimilarityIndex, normalise

        vectors = normalise(finite_rows(X))
        n = len(vectors)
        self.timings_ = {}
        if n < 3:
            self.fit_rows_ = np.arange(n)
            self.embedding_ = np.zeros((n, 2), dtype=np.float32)
            return self
        k = min(self.n_neighbors, n - 1)
        full_knn = knn if knn is not None and len(knn[0]) == n else None
        if n > self.fit_max:
            rng = np.random.default_rng(self.seed)
            fit_rows = np.sort(rng.choice(n, self.fit_max, replace=False))
            knn = None
        else:
            fit_rows = np.arange(n)
        fitted = vectors[fit_rows]
        start = time.perf_counter()
        kind = "flat" if len(fitted) <= GRAPH_EXACT_MAX else "ivf"
        index = SimilarityIndex.build(fitted, np.arange(len(fitted)), kind=kind)
        if knn is None or knn[0].shape[1] < k - 1:
            knn = index.knn_graph(max(k - 1, 1))
        self.timings_["knn"] = time.perf_counter() - start
        start = time.perf_counter()
        xy = self._umap(fitted, knn, k)
        self.timings_["umap"] = time.perf_counter() - start
        embedding = np.empty((n, 2), dtype=np.float32)
        embedding[fit_rows] = xy
        if len(fit_rows) < n:
            start = time.perf_counter()
            rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
            embedding[rest] = self._place_rest(
                index, xy, vectors, fit_rows, rest, full_knn, k
            )
            self.timings_["place"] = time.perf_counter() - start
        self.fit_rows_ = fit_rows
        self.embedding_ = embedding
        self._index, self._fitted_xy = index, xy
        return self

    @staticmethod
    def _place_rest(index, xy, vectors, fit_rows, rest, full_knn, k) -> np.ndarray:
        """Positions of the unfitted rows: from the full k-NN graph's fitted
        neighbours where a row has some, else by searching the fitted index."""
        out = np.empty((len(rest), 2), dtype=np.float32)
        todo = np.ones(len(rest), dtype=bool)
        if full_knn is not None:
            slot = np.full(len(vectors), -1, dtype=np.int64)
            slot[fit_rows] = np.arange(len(fit_rows))
            nb_rows = full_knn[0][rest]
            nb_slot = np.where(nb_rows >= 0, slot[np.maximum(nb_rows, 0)], -1)
            has = (nb_slot >= 0).any(axis=1)
            out[has] = _weighted(full_knn[1][rest][has], nb_slot[has], xy)
            todo = ~has
        if todo.any():
            out[todo] = _place(index, xy, vectors[rest[todo]], k)
        return out

    def fit_transform(
        self,
        X: np.ndarray,
        knn: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """:meth:`fit` and return ``embedding_``."""
        return self.fit(X, knn).embedding_

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Place new embeddings on the fitted map, ``(q, 2)`` float32."""
        from explorer.analysis.neighbors import normalise

        if not hasattr(self, "_index"):
            raise DataError("MapProjector.transform called before fit")
        k = min(self.n_neighbors, len(self._fitted_xy))
        return _place(self._index, self._fitted_xy, normalise(finite_rows(X)), k)

    def _umap(
        self, vectors: np.ndarray, knn: tuple[np.ndarray, np.ndarray], k: int
    ) -> np.ndarray:
        import umap

        n = len(vectors)
        own = np.arange(n)[:, None]
        indices = np.hstack([own, knn[0][:, : k - 1]]).astype(np.int64)
        dists = np.hstack([np.zeros((n, 1), np.float32), knn[1][:, : k - 1]]).astype(
            np.float32
        )
        indices = np.where(indices >= 0, indices, own)  # missing neighbours -> self
        init = self.init
        if init == "auto":
            init = "spectral" if n <= SPECTRAL_MAX else "pca"
        n_epochs = self.n_epochs or (500 if n <= 10_000 else 200)
        reducer = umap.UMAP(
            n_neighbors=k,
            min_dist=self.min_dist,
            metric="cosine",
            init=init,
            n_epochs=n_epochs,
            random_state=self.seed,
            precomputed_knn=(indices, dists),
            n_jobs=1 if self.seed is not None else -1,
        )
        with warnings.catch_warnings():
            # We never call UMAP.transform (no NNDescent index is needed), and
            # a seed makes UMAP single-threaded on purpose.
            warnings.filterwarnings("ignore", message=".*knn_search_index.*")
            warnings.filterwarnings("ignore", message=".*n_jobs value.*")
            warnings.filterwarnings(
                "ignore", message=".*Graph is not fully connected.*"
            )
            xy = reducer.fit_transform(vectors)
        return np.asarray(xy, dtype=np.float32)


def _place(index, fitted_xy: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    """Similarity-weighted mean map position of the k nearest fitted sources."""
    out = np.empty((len(vectors), 2), dtype=np.float32)
    for start in range(0, len(vectors), 65536):
        chunk = vectors[start : start + 65536]
        sims, rows = index.search(chunk, k)
        out[start : start + len(chunk)] = _weighted(1.0 - sims, rows, fitted_xy)
    return out


def _weighted(dist: np.ndarray, rows: np.ndarray, fitted_xy: np.ndarray) -> np.ndarray:
    """Membership-weighted mean of ``fitted_xy[rows]`` (``rows < 0`` ignored).

    UMAP-like weights ``exp(-(d - d_min) / spread)``, ``d_min`` the nearest
    valid distance and ``spread`` the mean excess over it.
    """
    valid = rows >= 0
    d = np.where(valid, dist, np.nan).astype(np.float64)
    d_min = np.nanmin(d, axis=1, keepdims=True)
    spread = np.maximum(np.nanmean(d, axis=1, keepdims=True) - d_min, 1e-6)
    w = np.exp(np.where(valid, -(d - d_min) / spread, -np.inf))
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("qk,qkd->qd", w, fitted_xy[np.maximum(rows, 0)]).astype(np.float32)


def procrustes(
    source: np.ndarray, target: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity transform (scale, rotation/reflection, shift) ``source -> target``.

    Minimises ``sum |s * source @ R + t - target|**2`` (orthogonal Procrustes
    with scaling; ``R`` may be a reflection).

    Parameters
    ----------
    source, target : ndarray
        ``(M, 2)`` matched points.

    Returns
    -------
    scale : float
    rotation : ndarray
        ``(2, 2)`` orthogonal matrix.
    shift : ndarray
        ``(2,)``.
    """
    src = np.asarray(source, dtype=np.float64)
    tgt = np.asarray(target, dtype=np.float64)
    mu_s, mu_t = src.mean(axis=0), tgt.mean(axis=0)
    a, b = src - mu_s, tgt - mu_t
    u, sv, vt = np.linalg.svd(a.T @ b)
    rotation = u @ vt
    norm = float((a**2).sum())
    scale = float(sv.sum() / norm) if norm > 0 else 1.0
    shift = mu_t - scale * mu_s @ rotation
    return scale, rotation, shift


def align(
    new_xy: np.ndarray,
    old_xy: np.ndarray,
    *,
    new_ids: np.ndarray | None = None,
    old_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Move a new map onto an old one (Procrustes on the shared sources).

    Parameters
    ----------
    new_xy : ndarray
        ``(N, 2)`` new map.
    old_xy : ndarray
        ``(M, 2)`` old map.
    new_ids, old_ids : ndarray, optional
        Source ids of the rows; without them the rows must match one to one.

    Returns
    -------
    ndarray
        ``(N, 2)`` float32 new map, rotated/reflected/scaled/shifted; unchanged
        when fewer than 3 sources are shared.

    Raises
    ------
    DataError
        If no ids are given and the row counts differ.
    """
    new_xy = np.asarray(new_xy, dtype=np.float64)
    old_xy = np.asarray(old_xy, dtype=np.float64)
    if new_ids is None or old_ids is None:
        if len(new_xy) != len(old_xy):
            msg = f"maps have {len(new_xy)} and {len(old_xy)} rows; pass ids to match"
            raise DataError(msg)
        src, tgt = new_xy, old_xy
    else:
        shared, i_new, i_old = np.intersect1d(new_ids, old_ids, return_indices=True)
        src, tgt = new_xy[i_new], old_xy[i_old]
    ok = np.isfinite(src).all(axis=1) & np.isfinite(tgt).all(axis=1)
    if ok.sum() < 3:
        log.warning("maps share %d sources: not aligned", int(ok.sum()))
        return new_xy.astype(np.float32)
    scale, rotation, shift = procrustes(src[ok], tgt[ok])
    return (scale * new_xy @ rotation + shift).astype(np.float32)
