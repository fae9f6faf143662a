"""The analysis pipeline: embeddings -> index, k-NN graph, scores, clusters, map.

``analyse_directory`` turns a version directory holding ``embeddings.npy``
into everything the dashboard reads, computing the k-NN graph once and
sharing it between UMAP and the anomaly scores:

==================  ========================================================
``index.faiss``     similarity index (:mod:`explorer.analysis.neighbors`)
``map.parquet``     id, x, y, anomaly_score, anomaly_rank, knn_distance,
                    density, cluster, plus lof, pixel_knn_distance, combined
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
from explorer.store import Store, atomic
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
STEPS = ("index", "knn_graph", "pixel_pca", "anomaly", "clusters", "map")


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
    emb = np.load(path, mmap_mode="r")
    if emb.ndim != 2 or len(emb) != len(ids):
        msg = f"{path} has shape {emb.shape}, expected ({len(ids)}, D) for the store"
        raise DataError(msg)
    return np.asarray(finite_rows(emb, ids, what=str(path)), dtype=np.float32)


def _pixel_features(
    store: Store, directory: Path, previous: str | None, progress: bool
) -> np.ndarray:
    """Pixel-PCA features: reuse the previous version's copy when it matches."""
    candidates = [store.version_file(previous, PIXEL_PCA)] if previous else []
    candidates += [version_dir(store.root, v) / PIXEL_PCA for v in store.versions]
    for path in candidates:
        if path.is_file():
            feats = np.load(path)
            if len(feats) == store.n_sources:
                log.info("reusing pixel PCA features from %s", path)
                break
    else:
        from explorer.analysis.features import pixel_pca

        feats = pixel_pca(store, PIXEL_PCA_DIMS, PIXEL_PCA_KIND, progress=progress)
    with atomic.atomic_path(directory / PIXEL_PCA) as tmp, open(tmp, "wb") as fh:
        np.save(fh, feats)
    return feats


def _map_xy(
    store: Store,
    emb: np.ndarray,
    knn: tuple[np.ndarray, np.ndarray],
    *,
    k: int,
    seed: int,
    previous: str | None,
) -> tuple[np.ndarray, int]:
    """``(N, 2)`` map, aligned to ``previous``'s map; and the rows UMAP fitted."""
    from explorer.analysis.projection import MapProjector, align

    projector = MapProjector(n_neighbors=k, seed=seed).fit(emb, knn)
    xy = projector.embedding_
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
    return xy, int(len(projector.fit_rows_))


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


def _cluster_record(cluster: np.ndarray) -> dict[str, Any]:
    """The ``clusters`` entry of ``analysis.json``."""
    return {
        "n_clusters": int(cluster.max() + 1),
        "noise_fraction": round(float(np.mean(cluster < 0)), 4),
    }


def analyse_directory(
    store: Store,
    directory: str | os.PathLike[str],
    *,
    previous: str | None = None,
    progress: bool = True,
    k: int = 15,
    seed: int = 0,
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
        Seed of every random step.

    Returns
    -------
    dict
        What was written to ``analysis.json``.

    Raises
    ------
    DataError
        On missing or invalid embeddings.
    """
    from explorer.analysis.clusters import auto_clusters

    directory = Path(directory)
    ids = store.ids
    laps = _Laps(progress)
    emb = load_embeddings(directory, ids)
    index = SimilarityIndex.build(emb, ids, seed=seed)
    index.save(directory / INDEX)
    laps.lap("index")
    n_graph = min(max(k - 1, anomaly.K_NEIGHBOURS), len(emb) - 1)
    knn = index.knn_graph(n_graph, progress=progress)
    laps.lap("knn_graph")
    pixel = _pixel_features(store, directory, previous, progress)
    laps.lap("pixel_pca")
    scores = anomaly.score_table(
        *knn, pixel_features=pixel, k=min(anomaly.K_NEIGHBOURS, n_graph)
    )
    laps.lap("anomaly")
    cluster = auto_clusters(emb, seed=seed)
    laps.lap("clusters")
    xy, fit_rows = _map_xy(store, emb, knn, k=k, seed=seed, previous=previous)
    laps.lap("map")
    _write_map(directory, ids, xy, scores, cluster)
    info = {
        "n_sources": int(len(ids)),
        "embedding_dim": int(emb.shape[1]),
        "index": index.index_info,
        "knn_k": n_graph,
        "anomaly": _anomaly_record(scores),
        "clusters": _cluster_record(cluster),
        "map": {"n_neighbors": k, "fit_rows": fit_rows, "aligned_to": previous},
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
    store: Store, version: str, *, previous: str | None = "auto", progress: bool = True
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

    Returns
    -------
    dict
        The ``analysis.json`` record (also merged into the manifest entry as
        ``index_kind``).
    """
    directory = store.version_dir(version)
    if previous == "auto":
        previous = previous_version(store, version)
    info = analyse_directory(store, directory, previous=previous, progress=progress)
    store.update_version_info(version, index_kind=info["index"]["kind"])
    return info
