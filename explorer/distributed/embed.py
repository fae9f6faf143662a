"""``latentsky embed --dask``: blocks of cutout shards encoded by dask tasks.

Each task encodes the rows of a block of whole Zarr shards with the
checkpoint (:func:`explorer.jobs.runner.encode_rows`, which loads it once per
worker process); the lead writes every block into the memory-mapped
``embeddings.npy`` of the version being built as it arrives, so no more
than the blocks in flight are held in memory. ``config.json`` and the
publication of the version are those of ``latentsky embed``; with
``analyse`` the analysis runs on the same client
(:func:`explorer.distributed.analyse.analyse_directory_on_dask`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.distributed.cluster import worker_path
from explorer.errors import DataError
from explorer.jobs.protocol import manifest_entry
from explorer.jobs.runner import embedding_config, encode_rows, open_for_embedding
from explorer.store import Store, atomic, layout

log = logging.getLogger(__name__)

#: Shards per embedding task by default (1 024 cutouts: ~1 s of a CPU core).
SHARDS_PER_TASK = 1


def blocks(n: int, rows_per_task: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each task's rows, in order, covering ``0..n``."""
    if rows_per_task < 1:
        msg = f"rows per task must be >= 1, got {rows_per_task}"
        raise DataError(msg)
    return [(a, min(a + rows_per_task, n)) for a in range(0, n, rows_per_task)]


def write_embeddings_on_dask(
    client: Any,
    store: Store,
    checkpoint: Path,
    directory: Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    rows_per_task: int = SHARDS_PER_TASK * layout.SHARD_SOURCES,
    progress: bool = True,
) -> dict[str, Any]:
    """Embed every cutout of ``store`` into ``directory`` by dask tasks.

    Writes ``embeddings.npy`` (``(N, D)`` float32 unit rows) and
    ``config.json``, as :func:`models.embed.write_embeddings` does.

    Parameters
    ----------
    client : distributed.Client
        Connected client; its workers must see the store and checkpoint.
    store : Store
        The store.
    checkpoint : pathlib.Path
        Trained checkpoint.
    directory : pathlib.Path
        The version directory being built.
    device, batch_size
        Of each worker's forward passes.
    rows_per_task : int
        Rows one task encodes (a multiple of the shard size reads whole shards).
    progress : bool
        Progress bar.

    Returns
    -------
    dict
        The ``config.json`` written.

    Raises
    ------
    CheckpointError
        If the checkpoint is unusable or does not match the store (checked
        here before any task is submitted).
    """
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    root, ckpt = worker_path(store.root), worker_path(checkpoint, "checkpoint")
    # the checkpoint checked against the store before any task (on the CPU:
    # the lead encodes nothing)
    dim = embedding_config(root, ckpt, device="cpu")["embedding_dim"]
    n = store.n_sources
    emb = np.lib.format.open_memmap(
        directory / layout.EMBEDDINGS, mode="w+", dtype=np.float32, shape=(n, dim)
    )
    started = time.perf_counter()
    futures = {
        client.submit(
            encode_rows,
            root,
            ckpt,
            a,
            b,
            device=device,
            batch_size=batch_size,
            pure=False,
        ): (a, b)
        for a, b in blocks(n, rows_per_task)
    }
    try:
        with tqdm(total=n, unit="img", desc="embed", disable=not progress) as bar:
            for future, block in as_completed(futures, with_results=True):
                a, b = futures.pop(future)
                emb[a:b] = block
                bar.update(b - a)
    except BaseException:
        client.cancel(list(futures))
        raise
    emb.flush()
    del emb
    seconds = time.perf_counter() - started
    # on a worker: its cached model, and the device as the workers resolved it
    meta = client.submit(
        embedding_config, root, ckpt, device=device, seconds=seconds, pure=False
    ).result()
    meta["dask"] = {
        "tasks": len(blocks(n, rows_per_task)),
        "rows_per_task": rows_per_task,
    }
    atomic.write_json(directory / layout.CONFIG, meta)
    log.info("embedded %d sources on dask in %.1f s", n, seconds)
    return meta


def embed_version_on_dask(
    client: Any,
    store_root: Path,
    checkpoint: Path,
    version: str,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    rows_per_task: int = SHARDS_PER_TASK * layout.SHARD_SOURCES,
    progress: bool = True,
    make_current: bool = True,
    analyse: bool = True,
    map_method: str = "umap",
    map_seed: int | None = None,
) -> str:
    """:func:`explorer.jobs.runner.embed_version` with the work on dask.

    Parameters
    ----------
    client : distributed.Client
        Connected client.
    store_root, checkpoint, version, device, batch_size, progress, make_current,
    analyse, map_method, map_seed
        As for :func:`explorer.jobs.runner.embed_version`.
    rows_per_task : int
        Rows per embedding task.

    Returns
    -------
    str
        The version's name.
    """
    from explorer.distributed.analyse import analyse_directory_on_dask

    store, previous = open_for_embedding(store_root, map_method)
    entry: dict[str, Any] = {}
    with store.new_version(version, make_current=make_current, info=entry) as tmp:
        meta = write_embeddings_on_dask(
            client,
            store,
            checkpoint,
            tmp,
            device=device,
            batch_size=batch_size,
            rows_per_task=rows_per_task,
            progress=progress,
        )
        entry.update(manifest_entry(meta))
        if analyse:
            analyse_directory_on_dask(
                client,
                store,
                tmp,
                previous=previous,
                progress=progress,
                map_method=map_method,
                map_seed=map_seed,
            )
    return version
