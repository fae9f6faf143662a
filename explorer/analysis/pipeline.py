"""The analysis pipeline: embeddings -> index, k-NN graph, scores, clusters, map.

``analyse_directory`` turns a version directory holding ``embeddings.npy``
into everything the dashboard reads, computing the k-NN graph once and
sharing it between UMAP and the anomaly scores:

==================  ========================================================
``index.faiss``     similarity index (:mod:`explorer.analysis.neighbors`)
``map.parquet``     id, x, y, anomaly_score, anomaly_rank, knn_distance,
                    density, cluster, plus lof, pixel_knn_distance, combined,
                    pixel_residual, max_rank (the default anomaly_score),
                    the artefact flags (cosmic_ray_flag, trail_flag,
                    bad_column_flag, saturated_flag), artefact_score,
                    science_anomaly, map_consistency, map_knn_distance,
                    hidden_in_map
``pixel_pca.npy``   (N, 64) pixel-PCA features (reused by later versions)
``analysis.json``   index kind and parameters, anomaly method, timings
==================  ========================================================

Every file is written atomically, so :func:`analyse_version` can re-run on a
published version without ever exposing half a file. The steps this module
shares with ``analyse --dask`` (:mod:`explorer.distributed.analyse`) are the
public functions of :mod:`explorer.analysis.pipeline_steps`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.analysis import anomaly
from explorer.analysis.neighbors import SimilarityIndex
from explorer.analysis.pipeline_steps import (
    MAP_COLUMNS,
    PIXEL_PCA_DIMS,
    PIXEL_PCA_KIND,
    STEPS,
    TRUST_PAIRS,
    Laps,
    cluster_step,
    graph_width,
    map_xy,
    reused_scan,
    save_pixel_pca,
    write_results,
)
from explorer.analysis.validate import finite_rows
from explorer.errors import DataError
from explorer.store import Store, location
from explorer.store.layout import ANALYSIS, EMBEDDINGS, INDEX, MAP, PIXEL_PCA

__all__ = [
    "ANALYSIS",
    "MAP_COLUMNS",
    "PIXEL_PCA",
    "PIXEL_PCA_DIMS",
    "PIXEL_PCA_KIND",
    "STEPS",
    "TRUST_PAIRS",
    "analyse_directory",
    "analyse_version",
    "load_embeddings",
    "previous_version",
    "reanalyse",
]

log = logging.getLogger(__name__)


def load_embeddings(directory: Path, ids: np.ndarray) -> np.ndarray:
    """Read ``embeddings.npy`` of a version directory and validate it.

    Parameters
    ----------
    directory : Path
        Version directory.
    ids : ndarray
        ``(N,)`` source ids of the store, in row order.

    Returns
    -------
    ndarray
        ``(N, D)`` float32 (memory-mapped).

    Raises
    ------
    DataError
        If it is missing, not (N, D) for the store's N, or holds NaN/inf rows
        (naming up to five of their ids).
    """
    path = directory / EMBEDDINGS
    if not path.is_file():
        msg = f"{path} does not exist"
        raise DataError(msg)
    emb = location.load_npy(path)  # memory-mapped unless the store is a URL
    if emb.ndim != 2 or len(emb) != len(ids):
        msg = f"{path} has shape {emb.shape}, expected ({len(ids)}, D) for the store"
        raise DataError(msg)
    return np.asarray(finite_rows(emb, ids, what=str(path)), dtype=np.float32)


def _pixel_features(
    store: Store, directory: Path, previous: str | None, progress: bool
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Pixel PCA, its residual and the artefact flags (reused when they exist)."""
    scan = reused_scan(store, previous)
    if scan is None:
        from explorer.analysis.features import pixel_scan

        scan = pixel_scan(store, PIXEL_PCA_DIMS, PIXEL_PCA_KIND, progress=progress)
    save_pixel_pca(directory, scan[0])
    return scan


def analyse_directory(
    store: Store,
    directory: str | os.PathLike[str],
    *,
    previous: str | None = None,
    progress: bool = True,
    k: int = 15,
    seed: int = 0,
    map_method: str = "umap",
    map_seed: int | None = None,
    cluster_method: str = "leiden",
    resolution: float | None = None,
) -> dict[str, Any]:
    """Compute index, scores, clusters and map for ``directory/embeddings.npy``.

    Parameters
    ----------
    store : Store
        The store the embeddings belong to (rows aligned with its catalogue).
    directory : path-like
        Version directory (possibly the temporary one of ``store.new_version``).
    previous : str, optional
        A version whose map the new map is aligned to.
    progress : bool
        Show progress bars.
    k : int
        Neighbours of the k-NN graph (UMAP's n_neighbors; the anomaly scores
        use the nearest :data:`explorer.analysis.anomaly.K_NEIGHBOURS`).
    seed : int
        Seed of every random step but the map's.
    map_method : {"umap", "tsne", "pca"}
        How the 2-D map is made (:mod:`explorer.analysis.map_methods`).
    map_seed : int, optional
        Seed of the map; None (default) = not reproducible, all cores.
    cluster_method : {"leiden", "hdbscan"}
        Auto clusters (:func:`explorer.analysis.clusters.find_clusters`).
    resolution : float, optional
        Leiden's resolution (None = its default).

    Returns
    -------
    dict
        What was written to ``analysis.json``.

    Raises
    ------
    DataError
        On missing or invalid embeddings.
    """
    directory = location.store_path(directory)  # a UPath for a URL store
    ids = store.ids
    laps = Laps(progress)
    emb = load_embeddings(directory, ids)
    index = SimilarityIndex.build(emb, ids, seed=seed)
    index.save(directory / INDEX)
    laps.lap("index")
    n_graph = graph_width(k, len(emb))
    knn = index.knn_graph(n_graph, progress=progress)
    laps.lap("knn_graph")
    pixel, residual, flags = _pixel_features(store, directory, previous, progress)
    laps.lap("pixel_pca")
    k_score = min(anomaly.K_NEIGHBOURS, n_graph)
    scores = anomaly.score_table(
        *knn,
        pixel_features=pixel,
        pixel_residual=residual,
        artefacts=flags,
        embedding=emb,
        k=k_score,
    )
    laps.lap("anomaly")
    cluster = cluster_step(
        emb, knn, ids, method=cluster_method, resolution=resolution, seed=seed
    )
    laps.lap("clusters")
    xy = map_xy(
        store, emb, knn, k=k, method=map_method, seed=map_seed, previous=previous
    )
    laps.lap("map")
    info = write_results(
        directory,
        ids=ids,
        emb=emb,
        index=index,
        knn=knn,
        k_score=k_score,
        scores=scores,
        cluster=cluster,
        xy=xy,
        laps=laps,
    )
    log.info("analysed %d sources in %.1f s", len(ids), sum(info["timings_s"].values()))
    return info


def previous_version(store: Store, version: str) -> str | None:
    """The newest version older than ``version`` that has a map, or None."""
    names = store.versions
    older = names[: names.index(version)] if version in names else names
    for name in reversed(older):
        if store.version_file(name, MAP).is_file():
            return name
    return None


def analyse_version(
    store: Store,
    version: str,
    *,
    previous: str | None = "auto",
    progress: bool = True,
    map_method: str = "umap",
    map_seed: int | None = None,
    cluster_method: str = "leiden",
    resolution: float | None = None,
) -> dict[str, Any]:
    """Re-run :func:`analyse_directory` on a published version (atomic per file).

    Parameters
    ----------
    store : Store
        The store.
    version : str
        Existing version name.
    previous : str or None
        Version to align the map to; ``"auto"`` = the newest older version
        with a map; None = no alignment.
    progress : bool
        Show progress bars.
    map_method, map_seed, cluster_method, resolution
        As in :func:`analyse_directory`.

    Returns
    -------
    dict
        The ``analysis.json`` record (also merged into the manifest entry as
        ``index_kind``).
    """
    return reanalyse(
        store,
        version,
        previous,
        analyse_directory,
        progress=progress,
        map_method=map_method,
        map_seed=map_seed,
        cluster_method=cluster_method,
        resolution=resolution,
    )


def reanalyse(
    store: Store,
    version: str,
    previous: str | None,
    analyse: Callable[..., dict[str, Any]],
    **options: Any,
) -> dict[str, Any]:
    """Run ``analyse`` on the directory of the published ``version``.

    What :func:`analyse_version` and its dask twin
    (:func:`explorer.distributed.analyse.analyse_version_on_dask`) share.

    Parameters
    ----------
    store, version, previous
        As for :func:`analyse_version`.
    analyse : callable
        ``analyse(store, directory, previous=..., **options) -> dict``, e.g.
        :func:`analyse_directory`.
    **options
        Passed on to ``analyse``.

    Returns
    -------
    dict
        What ``analyse`` returned; its index kind is merged into the manifest
        entry as ``index_kind``.
    """
    directory = store.version_dir(version)
    if previous == "auto":
        previous = previous_version(store, version)
    info = analyse(store, directory, previous=previous, **options)
    store.update_version_info(version, index_kind=info["index"]["kind"])
    return info
