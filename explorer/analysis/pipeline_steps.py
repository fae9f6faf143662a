"""The steps of a version's analysis that every way of running it shares.

:func:`explorer.analysis.pipeline.analyse_directory` (one process) and
:func:`explorer.distributed.analyse.analyse_directory_on_dask` (row
partitions on dask) differ in how they compute the k-NN graph, the pixel
scan and the map positions; everything else is one of these functions:
the step timer (:class:`Laps`), the reuse and saving of the pixel scan
(:func:`reused_scan`, :func:`save_pixel_pca`), the auto clusters
(:func:`cluster_step`), the map's alignment and trustworthiness
(:func:`map_xy`, :func:`finish_map`) and the files at the end
(:func:`write_results`: map consistency, ``map.parquet``, ``analysis.json``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.analysis import anomaly
from explorer.analysis.neighbors import SimilarityIndex
from explorer.errors import StoreError
from explorer.store import Store, atomic, location
from explorer.store.layout import ANALYSIS, MAP, PIXEL_PCA, version_dir

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
#: Full-space distances the map's trustworthiness may cost (rows x N): all
#: points up to 50 000 sources, a row sample (ranks against all N) above.
TRUST_PAIRS = 50_000**2


class Laps:
    """Seconds per pipeline step, with a progress bar over :data:`STEPS`.

    Parameters
    ----------
    progress : bool
        Show the bar.
    """

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


def graph_width(k: int, n: int) -> int:
    """Neighbours of the k-NN graph: UMAP's ``k - 1``, at least the anomaly k.

    Parameters
    ----------
    k : int
        UMAP's n_neighbors.
    n : int
        Sources.

    Returns
    -------
    int
        ``min(max(k - 1, K_NEIGHBOURS), n - 1)``.
    """
    return min(max(k - 1, anomaly.K_NEIGHBOURS), n - 1)


def reused_scan(
    store: Store, previous: str | None
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame] | None:
    """Pixel PCA, residual and artefact flags of an earlier version, if complete.

    They depend on the cutouts only, so any version of the same store that
    has all three saves a pass over the cutouts.

    Parameters
    ----------
    store : Store
        The store.
    previous : str or None
        The version tried first; then every version, newest first.

    Returns
    -------
    (ndarray, ndarray, DataFrame) or None
        ``(N, 64)`` features, ``(N,)`` residual, ``N`` rows of flags; None
        when no version has all three for the store's N sources.
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


def save_pixel_pca(directory: Path, features: np.ndarray) -> None:
    """Write ``(N, F)`` pixel-PCA ``features`` as ``directory/pixel_pca.npy``."""
    with atomic.atomic_path(directory / PIXEL_PCA) as tmp, open(tmp, "wb") as fh:
        np.save(fh, features)


def cluster_step(
    emb: np.ndarray,
    knn: tuple[np.ndarray, np.ndarray],
    ids: np.ndarray,
    *,
    method: str,
    resolution: float | None,
    seed: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Auto clusters and the ``clusters`` entry of ``analysis.json``.

    Parameters
    ----------
    emb : ndarray
        ``(N, D)`` embeddings.
    knn : (ndarray, ndarray)
        ``(N, k)`` k-NN graph rows and cosine distances.
    ids : ndarray
        ``(N,)`` source ids.
    method, resolution, seed
        As for :func:`explorer.analysis.clusters.find_clusters`.

    Returns
    -------
    (ndarray, dict)
        ``(N,)`` labels (-1 = noise) and the record: how they were found,
        ``n_clusters``, ``noise_fraction`` and per cluster its
        ``cluster_size`` and ``typical_ids`` (nearest its centroid first).
    """
    from explorer.analysis.clusters import cluster_summary, find_clusters

    cluster, how = find_clusters(
        emb, knn, method=method, resolution=resolution, seed=seed
    )
    record = {
        **how,
        "n_clusters": int(cluster.max() + 1),
        "noise_fraction": round(float(np.mean(cluster < 0)), 4),
        "clusters": cluster_summary(emb, cluster, ids),
    }
    return cluster, record


def map_xy(
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

    The map of :func:`explorer.analysis.map_methods.project`, finished by
    :func:`finish_map`.
    """
    from explorer.analysis.map_methods import project

    xy, record = project(emb, method, knn=knn, n_neighbors=k, seed=seed)
    return finish_map(store, emb, knn, xy, record, previous)


def finish_map(
    store: Store,
    emb: np.ndarray,
    knn: tuple[np.ndarray, np.ndarray],
    xy: np.ndarray,
    record: dict[str, Any],
    previous: str | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """A made map aligned to ``previous``'s, its record completed.

    Parameters
    ----------
    store : Store
        The store (``previous``'s map is read from it).
    emb : ndarray
        ``(N, D)`` embeddings.
    knn : (ndarray, ndarray)
        The k-NN graph (its rows are the exact neighbours up to
        :data:`explorer.analysis.knn.GRAPH_EXACT_MAX` sources).
    xy : ndarray
        ``(N, 2)`` map.
    record : dict
        Its ``map`` record (method, parameters, seed, fitted rows), to which
        ``aligned_to`` and the trustworthiness (k=10) on all points (a row
        sample above :data:`TRUST_PAIRS` ``/ N`` sources) are added.
    previous : str or None
        The version to align to; a missing or unreadable map is skipped
        with a warning.

    Returns
    -------
    (ndarray, dict)
        The aligned ``(N, 2)`` map and ``record``.
    """
    from explorer.analysis.knn import GRAPH_EXACT_MAX
    from explorer.analysis.neighbors import normalise
    from explorer.analysis.projection import align

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
    record["trustworthiness"] = map_trustworthiness(
        normalise(emb), xy, knn[0] if len(emb) <= GRAPH_EXACT_MAX else None
    )
    return xy, record


def map_trustworthiness(
    vectors: np.ndarray, xy: np.ndarray, exact_knn: np.ndarray | None
) -> dict[str, Any] | None:
    """Trustworthiness (k=10) of the map, or None below 21 sources.

    Parameters
    ----------
    vectors : ndarray
        ``(N, D)`` unit embeddings.
    xy : ndarray
        ``(N, 2)`` map.
    exact_knn : ndarray or None
        ``(N, >=10)`` exact full-space neighbour rows, when known.

    Returns
    -------
    dict or None
        :func:`explorer.analysis.trustworthiness.trustworthiness`'s record.
    """
    from explorer.analysis.trustworthiness import trustworthiness

    n = len(vectors)
    if n < 21:
        return None
    use_knn = exact_knn if exact_knn is not None and exact_knn.shape[1] >= 10 else None
    return trustworthiness(
        vectors, xy, k=10, knn=use_knn, max_rows=max(1000, TRUST_PAIRS // n)
    )


def write_map(
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


def anomaly_record(scores: pd.DataFrame) -> dict[str, Any]:
    """The ``anomaly`` entry of ``analysis.json``."""
    return {
        "method": scores.attrs.get("anomaly_method"),
        "k": anomaly.K_NEIGHBOURS,
        "pixel_features": f"pixel PCA-{PIXEL_PCA_DIMS} ({PIXEL_PCA_KIND})",
    }


def write_results(
    directory: Path,
    *,
    ids: np.ndarray,
    emb: np.ndarray,
    index: SimilarityIndex,
    knn: tuple[np.ndarray, np.ndarray],
    k_score: int,
    scores: pd.DataFrame,
    cluster: tuple[np.ndarray, dict[str, Any]],
    xy: tuple[np.ndarray, dict[str, Any]],
    laps: Laps,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The last step: map consistency, then ``map.parquet`` and ``analysis.json``.

    Parameters
    ----------
    directory : Path
        Version directory.
    ids : ndarray
        ``(N,)`` source ids.
    emb : ndarray
        ``(N, D)`` embeddings.
    index : SimilarityIndex
        The saved similarity index.
    knn : (ndarray, ndarray)
        ``(N, knn_k)`` k-NN graph.
    k_score : int
        Neighbours of the anomaly scores (and of the map consistency).
    scores : DataFrame
        The anomaly columns (the consistency columns are added to it).
    cluster : (ndarray, dict)
        What :func:`cluster_step` returned.
    xy : (ndarray, dict)
        The ``(N, 2)`` map and its record (:func:`finish_map`).
    laps : Laps
        The step timer (lapped here for ``consistency``, then closed).
    extra : dict, optional
        More entries of ``analysis.json``.

    Returns
    -------
    dict
        What was written to ``analysis.json``.
    """
    from explorer.analysis.consistency import map_consistency

    positions, labels = xy[0], cluster[0]
    consistency = map_consistency(
        positions, knn[0][:, :k_score], scores["knn_distance"]
    )
    for column in consistency:  # assigned, not concatenated: keeps scores.attrs
        scores[column] = consistency[column].to_numpy()
    laps.lap("consistency")
    write_map(directory, ids, positions, scores, labels)
    info = {
        "n_sources": int(len(ids)),
        "embedding_dim": int(emb.shape[1]),
        "index": index.index_info,
        "knn_k": int(knn[0].shape[1]),
        "anomaly": anomaly_record(scores),
        "clusters": cluster[1],
        "map": xy[1],
        "timings_s": laps.close(),
        **(extra or {}),
    }
    atomic.write_json(directory / ANALYSIS, info)
    return info
