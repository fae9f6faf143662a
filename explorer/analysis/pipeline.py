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

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.analysis import anomaly
from explorer.errors import DataError, StoreError
from explorer.store import EMBEDDINGS, INDEX, MAP, Store, atomic

log = logging.getLogger(__name__)

ANALYSIS = "analysis.json"
PIXEL_PCA = "pixel_pca.npy"
PIXEL_PCA_KIND = "asinh"
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


def load_embeddings(directory: Path, ids: np.ndarray) -> np.ndarray:
    """Read ``embeddings.npy`` of a version directory and validate it.

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
    bad = np.zeros(len(emb), dtype=bool)
    for start in range(0, len(emb), 262144):
        bad[start : start + 262144] = ~np.isfinite(emb[start : start + 262144]).all(
            axis=1
        )
    if bad.any():
        msg = (
            f"{path} holds NaN/inf in {int(bad.sum())} row(s): "
            f"ids {ids[bad][:5].tolist()}"
        )
        raise DataError(msg)
    return np.asarray(emb, dtype=np.float32)


def _pixel_features(
    store: Store, directory: Path, previous: str | None, progress: bool
) -> np.ndarray:
    """Pixel-PCA features: reuse the previous version's copy when it matches."""
    candidates = [store.version_file(previous, PIXEL_PCA)] if previous else []
    candidates += [store.root / "versions" / v / PIXEL_PCA for v in store.versions]
    for path in candidates:
        if path.is_file():
            feats = np.load(path)
            if len(feats) == store.n_sources:
                log.info("reusing pixel PCA features from %s", path)
                break
    else:
        from explorer.analysis.features import pixel_pca

        feats = pixel_pca(store, 64, PIXEL_PCA_KIND, progress=progress)
    with atomic.atomic_path(directory / PIXEL_PCA) as tmp, open(tmp, "wb") as fh:
        np.save(fh, feats)
    return feats


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
    from tqdm.auto import tqdm

    from explorer.analysis.clusters import auto_clusters
    from explorer.analysis.neighbors import SimilarityIndex
    from explorer.analysis.projection import MapProjector, align

    directory = Path(directory)
    ids = store.ids
    timings: dict[str, float] = {}
    steps = tqdm(total=6, desc="analysis", disable=not progress)

    def lap(name: str, start: float) -> float:
        timings[name] = round(time.perf_counter() - start, 3)
        steps.update(1)
        steps.set_postfix_str(name)
        return time.perf_counter()

    t = time.perf_counter()
    emb = load_embeddings(directory, ids)
    index = SimilarityIndex.build(emb, ids, seed=seed)
    index.save(directory / INDEX)
    t = lap("index", t)
    n_graph = min(max(k - 1, anomaly.K_NEIGHBOURS), len(emb) - 1)
    knn = index.knn_graph(n_graph, progress=progress)
    t = lap("knn_graph", t)
    pixel = _pixel_features(store, directory, previous, progress)
    t = lap("pixel_pca", t)
    scores = anomaly.score_table(
        *knn, pixel_features=pixel, k=min(anomaly.K_NEIGHBOURS, n_graph)
    )
    t = lap("anomaly", t)
    cluster = auto_clusters(emb, seed=seed)
    t = lap("clusters", t)
    projector = MapProjector(n_neighbors=k, seed=seed).fit(emb, knn)
    xy = projector.embedding_
    if previous:
        try:
            old = store.map_table(previous)
            xy = align(
                xy,
                old[["x", "y"]].to_numpy(),
                new_ids=ids,
                old_ids=old["id"].to_numpy(),
            )
        except StoreError as exc:
            log.warning("not aligning to %s: %s", previous, exc)
    t = lap("map", t)
    steps.close()

    table = pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1]})
    table = pd.concat([table, scores.reset_index(drop=True)], axis=1)
    table["cluster"] = cluster.astype(np.int32)
    extra = [c for c in table.columns if c not in MAP_COLUMNS]
    table = table[list(MAP_COLUMNS) + extra]
    with atomic.atomic_path(directory / MAP) as tmp:
        table.to_parquet(tmp, index=False)
    info = {
        "n_sources": int(len(ids)),
        "embedding_dim": int(emb.shape[1]),
        "index": index.index_info,
        "knn_k": n_graph,
        "anomaly": {
            "method": scores.attrs.get("anomaly_method"),
            "k": anomaly.K_NEIGHBOURS,
            "pixel_features": f"pixel PCA-64 ({PIXEL_PCA_KIND})",
        },
        "clusters": {
            "n_clusters": int(cluster.max() + 1),
            "noise_fraction": round(float(np.mean(cluster < 0)), 4),
        },
        "map": {
            "n_neighbors": k,
            "fit_rows": int(len(projector.fit_rows_)),
            "aligned_to": previous,
        },
        "timings_s": timings,
    }
    atomic.write_json(directory / ANALYSIS, info)
    log.info("analysed %d sources in %.1f s", len(ids), sum(timings.values()))
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


def read_analysis(store: Store, version: str | None = None) -> dict[str, Any]:
    """``analysis.json`` of a version ({} when absent)."""
    path = store.version_file(version, ANALYSIS)
    return json.loads(path.read_text()) if path.is_file() else {}
