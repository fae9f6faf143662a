"""The map method of a version: UMAP (default), t-SNE (openTSNE) or PCA.

:func:`project` is what the pipeline calls; it returns the ``(N, 2)`` map
and the ``map`` record of ``analysis.json`` (method, parameters, seed).

* ``umap`` -- :class:`explorer.analysis.projection.MapProjector` on the
  pipeline's k-NN graph. Unseeded by default: a seed makes umap-learn run its
  epochs on one thread (reproducible, several times slower).
* ``tsne`` -- openTSNE with its own defaults (perplexity 30, PCA
  initialisation, 500 iterations, FFT gradients above 10 000 points) on the
  unit-normalised embeddings (Euclidean there ranks like cosine). Above
  :data:`TSNE_FIT_MAX` sources it is fitted on a seeded sample and the rest
  are placed with openTSNE's ``TSNEEmbedding.transform`` (its documented way
  to add points to an existing embedding).
* ``pca`` -- the first two principal axes of the unit-normalised embeddings
  (deterministic; no seed).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np

from explorer.errors import DataError

log = logging.getLogger(__name__)

MAP_METHODS = ("umap", "tsne", "pca")
#: Above this many sources t-SNE is fitted on a sample and the rest placed.
TSNE_FIT_MAX = 20_000
#: openTSNE threads (its default); raise it on a machine with idle cores.
TSNE_JOBS = int(os.environ.get("LATENTSKY_TSNE_JOBS", "1"))


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`MAP_METHODS`, else a DataError."""
    if method not in MAP_METHODS:
        msg = f"map method {method!r} is not one of {MAP_METHODS}"
        raise DataError(msg)
    return method


def project(
    X: np.ndarray,
    method: str = "umap",
    *,
    knn: tuple[np.ndarray, np.ndarray] | None = None,
    n_neighbors: int = 15,
    seed: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Map ``X`` to 2-D with ``method``.

    Parameters
    ----------
    X : ndarray
        ``(N, D)`` embeddings (unit-normalised here).
    method : {"umap", "tsne", "pca"}
        Map method.
    knn : (indices, distances), optional
        The pipeline's k-NN graph (UMAP only).
    n_neighbors : int
        UMAP's neighbourhood size.
    seed : int, optional
        Seed; None (default) = not reproducible, all cores. For UMAP a seed
        also makes it single-threaded.

    Returns
    -------
    (ndarray, dict)
        ``(N, 2)`` float32 map and its record: ``method``, ``params``,
        ``seed``, ``fit_rows`` (rows the method was fitted on), ``seconds``.

    Raises
    ------
    DataError
        For an unknown method or NaN/inf rows.
    """
    from explorer.analysis.neighbors import normalise
    from explorer.analysis.validate import finite_rows

    check_method(method)
    start = time.perf_counter()
    if method == "umap":
        from explorer.analysis.projection import MapProjector

        projector = MapProjector(n_neighbors=n_neighbors, seed=seed).fit(X, knn)
        xy, fit_rows = projector.embedding_, len(projector.fit_rows_)
        params = {
            "n_neighbors": n_neighbors,
            "min_dist": projector.min_dist,
            "fit_max": projector.fit_max,
            "n_jobs": 1 if seed is not None else -1,
        }
    elif method == "tsne":
        vectors = normalise(finite_rows(X))
        xy, fit_rows, params = tsne_map(vectors, seed)
    else:
        vectors = normalise(finite_rows(X))
        xy, fit_rows, params = pca_map(vectors), len(vectors), {"components": 2}
    record = {
        "method": method,
        "params": params,
        "seed": seed,
        "fit_rows": int(fit_rows),
        "seconds": round(time.perf_counter() - start, 3),
    }
    return np.asarray(xy, dtype=np.float32), record


def pca_map(vectors: np.ndarray) -> np.ndarray:
    """``(N, 2)`` coordinates on the first two principal axes of ``vectors``."""
    from explorer.analysis.pca import pca_reduce

    if len(vectors) < 2:
        return np.zeros((len(vectors), 2), dtype=np.float32)
    xy = pca_reduce(np.asarray(vectors, dtype=np.float64), 2)
    if xy.shape[1] < 2:  # 1-D embeddings
        xy = np.hstack([xy, np.zeros((len(xy), 2 - xy.shape[1]))])
    return xy.astype(np.float32)


def tsne_map(
    vectors: np.ndarray, seed: int | None, fit_max: int = TSNE_FIT_MAX
) -> tuple[np.ndarray, int, dict[str, Any]]:
    """openTSNE map of unit vectors: fit (on a sample above ``fit_max``), place rest.

    Returns
    -------
    (ndarray, int, dict)
        ``(N, 2)`` map, number of fitted rows, parameters used.
    """
    from openTSNE import TSNE

    n = len(vectors)
    if n < 5:
        return np.zeros((n, 2), dtype=np.float32), n, {}
    # openTSNE's own defaults, except the neighbourhood that must fit n.
    # n_jobs=1 is openTSNE's default too: on the shared 2-core machine two
    # threads took 24 s for 400 points where one took 2.8 s.
    perplexity = float(min(30.0, (n - 1) / 3.0))
    tsne = TSNE(perplexity=perplexity, n_jobs=TSNE_JOBS, random_state=seed)
    params = {
        "perplexity": perplexity,
        "n_iter": 500,
        "initialization": "pca",
        "n_jobs": TSNE_JOBS,
    }
    if n <= fit_max:
        return np.asarray(tsne.fit(vectors), dtype=np.float32), n, params
    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(n, fit_max, replace=False))
    embedding = tsne.fit(vectors[fit_rows])
    rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
    out = np.empty((n, 2), dtype=np.float32)
    out[fit_rows] = np.asarray(embedding)
    for start in range(0, len(rest), 50_000):
        chunk = rest[start : start + 50_000]
        out[chunk] = np.asarray(embedding.transform(vectors[chunk]))
    params.update(fit_max=fit_max, placed_by="TSNEEmbedding.transform")
    return out, fit_max, params
