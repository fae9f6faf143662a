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
published version without ever exposing half a file.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.analysis import anomaly
from explorer.analysis.neighbors import SimilarityIndex
from explorer.analysis.validate import finite_rows
from explorer.errors import DataError, StoreError
from explorer.store import Store, atomic, location
from explorer.store.layout import (
    ANALYSIS,
    EMBEDDINGS,
    INDEX,
    MAP,
    PIXEL_PCA,
    version_dir,
)

__all__ = [
    "ANALYSIS",
    "MAP_COLUMNS",
    "PIXEL_PCA",
    "analyse_directory",
    "analyse_version",
    "load_embeddings",
    "previous_version",
]

log = logging.getLogger(__name__)

PIXEL_PCA_KIND = "asinh"
#: Dimensions of the pixel-PCA features (``pixel_pca.npy``).
PIXEL_PCA_DIMS = 64
MAP_COLUMNS = (
    "id",
    "x",
    "y",
    "anomaly_score",
    "anomaly_rank",
    "knn_distance",
    "density",
    "cluster",
)
STEPS = (
    "index",
    "knn_graph",
    "pixel_pca",
    "anomaly",
    "clusters",
    "map",
    "consistency",
)


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


def _reused_scan(
    store: Store, previous: str | None
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame] | None:
    """Pixel PCA, residual and artefact flags of an earlier version, if complete.

    They depend on the cutouts only, so any version of the same store that
    has all three saves a pass over the cutouts.
    """
    from explorer.analysis.artefacts import FLAG_COLUMNS

    names = ([previous] if previous else []) + list(reversed(store.versions))
    for name in names:
        path = version_dir(store.root, name) / PIXEL_PCA
        map_path = version_dir(store.root, name) / MAP
        if not (path.is_file() and map_path.is_file()):
            continue
        wanted = ["pixel_residual", *FLAG_COLUMNS]
        try:
            old = location.read_parquet(map_path, columns=wanted)
        except (KeyError, ValueError, OSError):
            continue  # a map from before these columns existed
        feats = location.load_npy(path, mmap=False)
        if len(feats) == len(old) == store.n_sources:
            log.info("reusing the pixel scan of version %s", name)
            return feats, old["pixel_residual"].to_numpy(), old[list(FLAG_COLUMNS)]
    return None


def _pixel_features(
    store: Store, directory: Path, previous: str | None, progress: bool
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Pixel PCA, its residual and the artefact flags (reused when they exist)."""
    scan = _reused_scan(store, previous)
    if scan is None:
        from explorer.analysis.features import pixel_scan

        scan = pixel_scan(store, PIXEL_PCA_DIMS, PIXEL_PCA_KIND, progress=progress)
    with atomic.atomic_path(directory / PIXEL_PCA) as tmp, open(tmp, "wb") as fh:
        np.save(fh, scan[0])
    return scan


def _map_xy(
    store: Store,
    emb: np.ndarray,
    knn: tuple[np.ndarray, np.ndarray],
    *,
    k: int,
    method: str,
    seed: int | None,
    previous: str | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """``(N, 2)`` map by ``method``, aligned to ``previous``'s; its ``map`` record.

    The record holds method, parameters, seed, fitted rows, alignment and the
    trustworthiness (k=10) on all points (a row sample only above
    :data:`TRUST_PAIRS` ``/ N`` sources; see
    :mod:`explorer.analysis.trustworthiness`).
    """
    from explorer.analysis.knn import GRAPH_EXACT_MAX
    from explorer.analysis.map_methods import project
    from explorer.analysis.neighbors import normalise
    from explorer.analysis.projection import align

    xy, record = project(emb, method, knn=knn, n_neighbors=k, seed=seed)
    if previous:
        try:
            old = store.map_table(previous)
            xy = align(
                xy,
                old[["x", "y"]].to_numpy(),
                new_ids=store.ids,
                old_ids=old["id"].to_numpy(),
            )
        except StoreError as exc:
            log.warning("not aligning to %s: %s", previous, exc)
    record["aligned_to"] = previous
    record["trustworthiness"] = _map_trustworthiness(
        normalise(emb), xy, knn[0] if len(emb) <= GRAPH_EXACT_MAX else None
    )
    return xy, record


#: Full-space distances the map's trustworthiness may cost (rows x N): all
#: points up to 50 000 sources, a row sample (ranks against all N) above.
TRUST_PAIRS = 50_000**2


def _map_trustworthiness(
    vectors: np.ndarray, xy: np.ndarray, exact_knn: np.ndarray | None
) -> dict[str, Any] | None:
    """Trustworthiness (k=10) of the map, or None below 21 sources."""
    from explorer.analysis.trustworthiness import trustworthiness

    n = len(vectors)
    if n < 21:
        return None
    use_knn = exact_knn if exact_knn is not None and exact_knn.shape[1] >= 10 else None
    return trustworthiness(
        vectors, xy, k=10, knn=use_knn, max_rows=max(1000, TRUST_PAIRS // n)
    )


def _write_map(
    directory: Path,
    ids: np.ndarray,
    xy: np.ndarray,
    scores: pd.DataFrame,
    cluster: np.ndarray,
) -> None:
    """``map.parquet``: :data:`MAP_COLUMNS` first, then the other score columns."""
    table = pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1]})
    table = pd.concat([table, scores.reset_index(drop=True)], axis=1)
    table["cluster"] = cluster.astype(np.int32)
    extra = [c for c in table.columns if c not in MAP_COLUMNS]
    table = table[list(MAP_COLUMNS) + extra]
    with atomic.atomic_path(directory / MAP) as tmp:
        table.to_parquet(tmp, index=False)


class _Laps:
    """Seconds per pipeline step, with a progress bar over :data:`STEPS`."""

    def __init__(self, progress: bool) -> None:
        from tqdm.auto import tqdm

        self.timings: dict[str, float] = {}
        self._bar = tqdm(total=len(STEPS), desc="analysis", disable=not progress)
        self._start = time.perf_counter()

    def lap(self, name: str) -> None:
        """Record the time since the previous lap as step ``name``."""
        now = time.perf_counter()
        self.timings[name] = round(now - self._start, 3)
        self._bar.update(1)
        self._bar.set_postfix_str(name)
        self._start = time.perf_counter()

    def close(self) -> dict[str, float]:
        """Close the bar; the timings in seconds."""
        self._bar.close()
        return self.timings


def _anomaly_record(scores: pd.DataFrame) -> dict[str, Any]:
    """The ``anomaly`` entry of ``analysis.json``."""
    return {
        "method": scores.attrs.get("anomaly_method"),
        "k": anomaly.K_NEIGHBOURS,
        "pixel_features": f"pixel PCA-{PIXEL_PCA_DIMS} ({PIXEL_PCA_KIND})",
    }


def _cluster_record(cluster: np.ndarray, summary: list[dict]) -> dict[str, Any]:
    """The ``clusters`` entry of ``analysis.json`` (with each cluster's
    ``cluster_size`` and ``typical_ids``, nearest its centroid first)."""
    return {
        "n_clusters": int(cluster.max() + 1),
        "noise_fraction": round(float(np.mean(cluster < 0)), 4),
        "clusters": summary,
    }


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
    from explorer.analysis.clusters import cluster_summary, find_clusters
    from explorer.analysis.consistency import map_consistency

    directory = location.store_path(directory)  # a UPath for a URL store
    ids = store.ids
    laps = _Laps(progress)
    emb = load_embeddings(directory, ids)
    index = SimilarityIndex.build(emb, ids, seed=seed)
    index.save(directory / INDEX)
    laps.lap("index")
    n_graph = min(max(k - 1, anomaly.K_NEIGHBOURS), len(emb) - 1)
    knn = index.knn_graph(n_graph, progress=progress)
    laps.lap("knn_graph")
    pixel, residual, flags = _pixel_features(store, directory, previous, progress)
    laps.lap("pixel_pca")
    k_score = min(anomaly.K_NEIGHBOURS, n_graph)
    scores = anomaly.score_table(
        *knn, pixel_features=pixel, pixel_residual=residual, artefacts=flags, k=k_score
    )
    laps.lap("anomaly")
    cluster, how = find_clusters(
        emb, knn, method=cluster_method, resolution=resolution, seed=seed
    )
    clusters_info = {
        **how,
        **_cluster_record(cluster, cluster_summary(emb, cluster, ids)),
    }
    laps.lap("clusters")
    xy, map_record = _map_xy(
        store, emb, knn, k=k, method=map_method, seed=map_seed, previous=previous
    )
    laps.lap("map")
    consistency = map_consistency(xy, knn[0][:, :k_score], scores["knn_distance"])
    for column in consistency:  # assigned, not concatenated: keeps scores.attrs
        scores[column] = consistency[column].to_numpy()
    laps.lap("consistency")
    _write_map(directory, ids, xy, scores, cluster)
    info = {
        "n_sources": int(len(ids)),
        "embedding_dim": int(emb.shape[1]),
        "index": index.index_info,
        "knn_k": n_graph,
        "anomaly": _anomaly_record(scores),
        "clusters": clusters_info,
        "map": map_record,
        "timings_s": laps.close(),
    }
    atomic.write_json(directory / ANALYSIS, info)
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
    directory = store.version_dir(version)
    if previous == "auto":
        previous = previous_version(store, version)
    info = analyse_directory(
        store,
        directory,
        previous=previous,
        progress=progress,
        map_method=map_method,
        map_seed=map_seed,
        cluster_method=cluster_method,
        resolution=resolution,
    )
    store.update_version_info(version, index_kind=info["index"]["kind"])
    return info
