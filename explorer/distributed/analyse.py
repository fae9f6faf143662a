"""``latentsky analyse --dask``: the per-row analysis in partitions on dask.

The lead builds the similarity index once and saves it as ``index.faiss``;
the tasks of :mod:`explorer.distributed.partitions` then compute, one
partition of rows each, the embedding k-NN graph against that index, the
pixel scan (pixel-PCA projection, residual and artefact flags of at most a
shard of cutouts per task, with the PCA fitted on the lead's seeded
sample), the pixel-space k-NN distance against ``pixel_pca.npy`` and, for a
UMAP map of more than ``map_fit_max`` sources, the positions of the
unfitted rows by ``MapProjector.transform`` (the projector is fitted on a
seeded sample in the lead and scattered to the workers).

What stays single-process, in the lead (each needs all rows at once, or is
a cheap O(N) step): the index build, the pixel PCA fit (on 5 000 cutouts),
LOF (needs every neighbour's k-distance) and the rank-based scores, the
auto clusters (Leiden on the gathered graph, or HDBSCAN), the UMAP fit (on
the sample), t-SNE and PCA maps (t-SNE places its own rest with openTSNE's
``transform``), the map alignment, trustworthiness and map consistency.

Up to :data:`explorer.analysis.knn.GRAPH_EXACT_MAX` sources both paths
compute the exact graph, so every score equals that of
:func:`explorer.analysis.pipeline.analyse_directory` to float tolerance.
Above it the in-process graph is the clustered approximation while the
tasks search the saved index: exact (``IndexFlatIP``) up to
:data:`explorer.analysis.neighbors.EXACT_MAX` sources, IVF with its
recorded ``nprobe`` above.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.analysis import anomaly
from explorer.analysis.neighbors import SimilarityIndex
from explorer.analysis.pipeline import load_embeddings, reanalyse
from explorer.analysis.pipeline_steps import (
    Laps,
    cluster_step,
    finish_map,
    graph_width,
    map_xy,
    write_results,
)
from explorer.analysis.projection import FIT_MAX
from explorer.distributed import partitions
from explorer.distributed.cluster import describe, worker_path
from explorer.distributed.embed import blocks
from explorer.distributed.steps import (
    graph,
    pixel_knn_distance,
    pixel_scan,
    run,
    score_table,
)
from explorer.store import Store
from explorer.store.layout import EMBEDDINGS, INDEX

log = logging.getLogger(__name__)

#: Rows per analysis task by default (pixel-scan tasks: one shard at most).
PARTITION_ROWS = 65_536


def placed_umap(
    client: Any,
    emb: np.ndarray,
    directory: Path,
    *,
    k: int,
    seed: int | None,
    fit_max: int,
    partition_rows: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """UMAP fitted on ``fit_max`` seeded rows, the rest placed by dask tasks.

    Every other row is placed by the fitted projector's ``transform``: the
    membership-weighted mean position of its ``k`` nearest fitted sources
    (by FAISS search in the projector's index). In process, above its
    ``fit_max`` :class:`MapProjector` places a row from its fitted
    neighbours in the full k-NN graph when it has any, so the two maps of
    the unfitted rows differ slightly (the record's ``placed_by`` says which).

    Parameters
    ----------
    client : distributed.Client
        Connected client.
    emb : ndarray
        ``(N, D)`` embeddings (memory-mapped), ``N > fit_max``.
    directory : pathlib.Path
        The version directory (workers read its ``embeddings.npy``).
    k : int
        UMAP's n_neighbors, and the fitted sources a row is placed from.
    seed : int or None
        Seed of the sample and of UMAP.
    fit_max : int
        Rows UMAP is fitted on.
    partition_rows : int
        Rows placed per task.

    Returns
    -------
    (ndarray, dict)
        ``(N, 2)`` float32 map and its ``map`` record (before alignment).
    """
    from explorer.analysis.projection import MapProjector

    started = time.perf_counter()
    n = len(emb)
    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(n, fit_max, replace=False))
    projector = MapProjector(n_neighbors=k, seed=seed, fit_max=fit_max)
    projector.fit(np.asarray(emb[fit_rows]))
    xy = np.empty((n, 2), dtype=np.float32)
    xy[fit_rows] = projector.embedding_
    rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
    shared = client.scatter(projector, broadcast=True)
    emb_path = partitions.as_path(directory / EMBEDDINGS)
    chunks = [rest[a:b] for a, b in blocks(len(rest), partition_rows)]
    placed = run(
        client, partitions.place_partition, [(shared, emb_path, c) for c in chunks]
    )
    for rows, positions in zip(chunks, placed, strict=True):
        xy[rows] = positions
    record = {
        "method": "umap",
        "params": {
            "n_neighbors": k,
            "min_dist": projector.min_dist,
            "fit_max": fit_max,
            "n_jobs": 1 if seed is not None else -1,
            "placed_by": "MapProjector.transform per dask partition",
        },
        "seed": seed,
        "fit_rows": int(len(fit_rows)),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return xy, record


def _map(
    client: Any,
    store: Store,
    emb: np.ndarray,
    knn: tuple[np.ndarray, np.ndarray],
    directory: Path,
    options: dict[str, Any],
) -> tuple[np.ndarray, dict[str, Any]]:
    """The map: placed per partition for a large UMAP, else the pipeline's."""
    method, seed, k = options["map_method"], options["map_seed"], options["k"]
    fit_max = options["map_fit_max"]
    if method != "umap" or len(emb) <= fit_max:
        return map_xy(
            store,
            emb,
            knn,
            k=k,
            method=method,
            seed=seed,
            previous=options["previous"],
        )
    xy, record = placed_umap(
        client,
        emb,
        directory,
        k=k,
        seed=seed,
        fit_max=fit_max,
        partition_rows=options["partition_rows"],
    )
    return finish_map(store, emb, knn, xy, record, options["previous"])


def analyse_directory_on_dask(
    client: Any,
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
    partition_rows: int = PARTITION_ROWS,
    map_fit_max: int = FIT_MAX,
) -> dict[str, Any]:
    """:func:`explorer.analysis.pipeline.analyse_directory` with dask partitions.

    Writes the same files (``index.faiss``, ``pixel_pca.npy``,
    ``map.parquet``, ``analysis.json``, each atomically); ``analysis.json``
    also records the cluster and the partitions under ``dask``.

    Parameters
    ----------
    client : distributed.Client
        Connected client; its workers must see ``directory``.
    store, directory, previous, progress, k, seed, map_method, map_seed,
    cluster_method, resolution
        As for :func:`explorer.analysis.pipeline.analyse_directory`.
    partition_rows : int
        Rows per task.
    map_fit_max : int
        A UMAP map of more sources is fitted on this many and the rest
        placed per partition (default the in-process ``fit_max``).

    Returns
    -------
    dict
        What was written to ``analysis.json``.

    Raises
    ------
    DataError
        On missing or invalid embeddings, or ``partition_rows < 1``.
    """
    directory = worker_path(directory, "version directory")
    ids = store.ids
    laps = Laps(progress)
    emb = load_embeddings(directory, ids)
    parts = blocks(len(emb), partition_rows)
    index = SimilarityIndex.build(emb, ids, seed=seed)
    index.save(directory / INDEX)
    laps.lap("index")
    n_graph = graph_width(k, len(emb))
    knn = graph(client, directory, parts, n_graph)
    laps.lap("knn_graph")
    _, residual, flags = pixel_scan(client, store, directory, previous, parts)
    laps.lap("pixel_pca")
    k_score = min(anomaly.K_NEIGHBOURS, n_graph)
    pixel_knn = pixel_knn_distance(client, directory, parts, k_score)
    scores = score_table(*knn, pixel_knn, residual, flags, k_score, emb)
    laps.lap("anomaly")
    cluster = cluster_step(
        emb, knn, ids, method=cluster_method, resolution=resolution, seed=seed
    )
    laps.lap("clusters")
    options = {
        "map_method": map_method,
        "map_seed": map_seed,
        "k": k,
        "map_fit_max": map_fit_max,
        "partition_rows": partition_rows,
        "previous": previous,
    }
    xy = _map(client, store, emb, knn, directory, options)
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
        extra={
            "dask": {
                **describe(client),
                "partitions": len(parts),
                "rows": partition_rows,
            }
        },
    )
    log.info(
        "analysed %d sources on dask in %.1f s",
        len(ids),
        sum(info["timings_s"].values()),
    )
    return info


def analyse_version_on_dask(
    client: Any,
    store: Store,
    version: str,
    *,
    previous: str | None = "auto",
    progress: bool = True,
    map_method: str = "umap",
    map_seed: int | None = None,
    cluster_method: str = "leiden",
    resolution: float | None = None,
    partition_rows: int = PARTITION_ROWS,
) -> dict[str, Any]:
    """:func:`explorer.analysis.pipeline.analyse_version` on dask.

    Parameters
    ----------
    client : distributed.Client
        Connected client.
    store, version, previous, progress, map_method, map_seed, cluster_method,
    resolution
        As for :func:`explorer.analysis.pipeline.analyse_version`.
    partition_rows : int
        Rows per task.

    Returns
    -------
    dict
        The ``analysis.json`` record.
    """
    return reanalyse(
        store,
        version,
        previous,
        functools.partial(analyse_directory_on_dask, client),
        progress=progress,
        map_method=map_method,
        map_seed=map_seed,
        cluster_method=cluster_method,
        resolution=resolution,
        partition_rows=partition_rows,
    )
