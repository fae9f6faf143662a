"""The worker side of ``latentsky analyse --dask``: one partition of rows each.

Every task reads what it needs from the version directory being analysed,
once per worker process (:func:`_cached`, keyed by path, size and mtime):
the similarity index ``index.faiss`` the lead built and saved (the "shared
FAISS index"), the memory-mapped ``embeddings.npy``, and ``pixel_pca.npy``
from which each worker builds the same pixel-space index
:func:`explorer.analysis.anomaly.euclidean_knn` builds. Nothing is sent
back but the partition's rows of the result.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from explorer.analysis.anomaly import euclidean_index, knn_distance_score
from explorer.analysis.knn import drop_self
from explorer.analysis.neighbors import normalise

_CACHE: dict[tuple[str, str, int, int], Any] = {}


def _cached(kind: str, path: str, load: Callable[[str], Any]) -> Any:
    """``load(path)`` once per process and file version (one entry per kind)."""
    stat = os.stat(path)
    key = (kind, path, stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        for old in [k for k in _CACHE if k[0] == kind]:
            del _CACHE[old]
        _CACHE[key] = load(path)
    return _CACHE[key]


def _read_index(path: str) -> Any:
    import faiss

    return faiss.read_index(path)


def _embeddings(path: str) -> np.ndarray:
    return _cached("embeddings", path, lambda p: np.load(p, mmap_mode="r"))


def graph_partition(
    index_path: str, embeddings_path: str, start: int, stop: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Task: the k-NN graph rows ``start:stop`` against the saved index.

    Parameters
    ----------
    index_path : str
        ``index.faiss`` of the version (unit vectors, inner product).
    embeddings_path : str
        Its ``embeddings.npy`` (normalised here, as the index's vectors were).
    start, stop : int
        Rows of the partition.
    k : int
        Neighbours per row, itself excluded.

    Returns
    -------
    indices : ndarray
        ``(stop - start, k)`` int64 rows (``-1`` where fewer exist).
    distances : ndarray
        ``(stop - start, k)`` float32 cosine distances, ascending.
    """
    index = _cached("index", index_path, _read_index)
    queries = normalise(_embeddings(embeddings_path)[start:stop])
    kk = int(min(k + 1, index.ntotal))
    sims, rows = index.search(queries, kk)
    rows, sims = drop_self(rows, sims, np.arange(start, stop)[:, None])
    return rows, np.clip(1.0 - sims, 0.0, 2.0).astype(np.float32)


def _pixel_index(path: str) -> tuple[Any, np.ndarray]:
    """The pixel-feature index of :func:`explorer.analysis.anomaly.euclidean_knn`."""
    features = np.ascontiguousarray(np.load(path), dtype=np.float32)
    index = euclidean_index(features)
    return index, features


def pixel_partition(features_path: str, start: int, stop: int, k: int) -> np.ndarray:
    """Task: ``pixel_knn_distance`` of rows ``start:stop``.

    The mean Euclidean distance to the ``k`` nearest neighbours in pixel-PCA
    space (``pixel_pca.npy``), self excluded.

    Returns
    -------
    ndarray
        ``(stop - start,)`` float32.
    """
    index, features = _cached("pixel", features_path, _pixel_index)
    sq, rows = index.search(features[start:stop], int(min(k + 1, len(features))))
    rows, sq = drop_self(rows, sq, np.arange(start, stop)[:, None])
    return knn_distance_score(np.sqrt(np.maximum(sq, 0)).astype(np.float32))


def scan_partition(
    store_root: str, model: dict[str, np.ndarray], start: int, stop: int, kind: str
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Task: pixel PCA, residual and artefact flags of cutout rows ``start:stop``.

    The per-block body of :func:`explorer.analysis.features.pixel_scan`.

    Parameters
    ----------
    store_root : str
        The store.
    model : dict
        The pixel PCA fitted on the lead
        (:func:`explorer.analysis.features.fit_pixel_pca`).
    start, stop : int
        Rows of the partition.
    kind : str
        The pixel normalisation the model was fitted with.

    Returns
    -------
    (ndarray, ndarray, DataFrame)
        ``(n, components)`` float32 features, ``(n,)`` float32 residual and
        ``n`` rows of :func:`explorer.analysis.artefacts.artefact_flags`.
    """
    from explorer.analysis.artefacts import artefact_flags
    from explorer.analysis.features import pca_residual
    from explorer.store import Store

    store = _cached(
        "store",
        str(Path(store_root) / "manifest.json"),
        lambda _: Store.open(store_root),
    )
    block = np.asarray(store.cutouts[start:stop])
    features, residual = pca_residual(block, model, kind)
    return features, residual, artefact_flags(block)


def place_partition(
    projector: Any, embeddings_path: str, rows: np.ndarray
) -> np.ndarray:
    """Task: map positions of ``rows`` by the fitted ``projector.transform``.

    Parameters
    ----------
    projector : MapProjector
        Fitted on the lead (on a sample of the rows), scattered to workers.
    embeddings_path : str
        The version's ``embeddings.npy``.
    rows : ndarray
        Sorted rows to place.

    Returns
    -------
    ndarray
        ``(len(rows), 2)`` float32.
    """
    vectors = np.asarray(_embeddings(embeddings_path)[np.asarray(rows)])
    return projector.transform(vectors)


def as_path(path: str | os.PathLike[str]) -> str:
    """The absolute path a worker opens."""
    return str(Path(path).resolve())
