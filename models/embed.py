"""Embed cutouts with a trained encoder: the store's, or a few in memory.

The representation is the encoder output ``h`` (not the projector's ``z``),
L2-normalised, float32, written chunk by chunk into a memory-mapped
``embeddings.npy`` inside a version directory being built, with
``config.json``. Embedding writes embeddings only: the analysis (map, index,
scores) is run by the caller (:mod:`explorer.jobs`) on that directory before
the version is published. Inputs go through :class:`models.augment.Preprocess`,
the same deterministic path as training's views.

The work is split along its seams: :func:`load_model`, :func:`stream_batches`
(encode store batches into an array) and :func:`write_embeddings` (the files).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from explorer.errors import DataError
from explorer.jobs.protocol import manifest_entry
from explorer.store import Store, atomic
from explorer.store.layout import CONFIG, EMBEDDINGS
from models.checkpoint import check_data_matches, sha256_file
from models.config import TrainConfig
from models.data import ShardBatches, make_loader
from models.encode import (
    DEFAULT_BATCH,
    auto_batch_size,
    batch_for_memory,
    embed_arrays,
    encode,
    load_model,
)
from models.encoder import SSLModel
from models.train import resolve_device

__all__ = [
    "DEFAULT_BATCH",
    "auto_batch_size",
    "batch_for_memory",
    "check_store",
    "embed_arrays",
    "embed_store",
    "encode",
    "encode_store",
    "load_model",
    "stream_batches",
    "version_config",
    "write_embeddings",
]

log = logging.getLogger(__name__)

#: Progress callback: one dict per batch (see :func:`stream_batches`).
Progress = Callable[[dict[str, Any]], None]


def _store_loader(
    store: Store, batch_size: int, num_workers: int, dev: torch.device
) -> tuple[ShardBatches, torch.utils.data.DataLoader]:
    """Batches of ``(rows, cutouts)`` over every row of ``store``, in order."""
    dataset = ShardBatches(store.root, batch_size, shuffle=False, drop_last=False)
    loader = make_loader(dataset, num_workers, pin_memory=dev.type == "cuda")
    return dataset, loader


def stream_batches(
    model: SSLModel,
    config: TrainConfig,
    dev: torch.device,
    store: Store,
    out: np.ndarray,
    *,
    batch_size: int,
    num_workers: int,
    progress: Progress | None = None,
    bar: bool | None = None,
    desc: str = "embed",
) -> int:
    """Encode every cutout of ``store`` into the rows of ``out``.

    Parameters
    ----------
    model, config, dev
        What :func:`load_model` returned, and its device.
    store : Store
        The cutouts to encode.
    out : ndarray
        ``(N, D)`` float32 (memory-mapped or in memory), written row by row.
    batch_size, num_workers : int
        Cutouts per forward pass; DataLoader reader processes.
    progress : callable, optional
        Called with ``{"phase": "embed", "done", "total", "fraction",
        "images_per_s", "eta_s"}`` after each batch.
    bar : bool or None
        Show a tqdm bar: None on a terminal only, False never.
    desc : str
        The bar's label.

    Returns
    -------
    int
        How many rows were written.
    """
    n = len(out)
    dataset, loader = _store_loader(store, batch_size, num_workers, dev)
    t0, done = time.perf_counter(), 0
    batches = tqdm(
        loader,
        total=len(dataset),
        desc=desc,
        unit="batch",
        disable=None if bar is None else not bar,
    )
    for rows, raw in batches:
        out[rows.numpy()] = encode(model, config, raw.to(dev)).cpu().numpy()
        done += len(rows)
        if progress is not None:
            rate = done / max(time.perf_counter() - t0, 1e-9)
            progress(
                {
                    "phase": "embed",
                    "done": done,
                    "total": n,
                    "fraction": done / n,
                    "images_per_s": rate,
                    "eta_s": (n - done) / max(rate, 1e-9),
                }
            )
    return done


def version_config(
    checkpoint: str | os.PathLike[str],
    state: dict[str, Any],
    config: TrainConfig,
    dev: torch.device,
    n: int,
    seconds: float,
) -> dict[str, Any]:
    """The ``config.json`` of an embedded version: provenance and timings.

    Parameters
    ----------
    checkpoint : path-like
        The checkpoint embedded with (its path and SHA-256 are recorded).
    state, config
        Its dict and training configuration (:func:`load_model`).
    dev : torch.device
        The device that encoded.
    n : int
        Sources embedded.
    seconds : float
        Wall time of the embedding.

    Returns
    -------
    dict
        JSON-ready record (``embedding_dim``, ``n_sources``, timings...).
    """
    return {
        "checkpoint": str(Path(checkpoint).resolve()),
        "checkpoint_sha256": sha256_file(checkpoint),
        "checkpoint_epoch": int(state.get("epoch", 0)),
        "training_config": config.to_dict(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "device": str(dev),
        "embedding_dim": config.embedding_dim,
        "representation": "encoder output h, L2-normalised",
        "n_sources": n,
        "embed_seconds": round(seconds, 2),
        "embed_images_per_s": round(n / max(seconds, 1e-9), 1),
    }


def check_store(
    store: Store, config: TrainConfig, checkpoint: str | os.PathLike[str]
) -> None:
    """Raise unless ``store``'s bands and cutout size are the checkpoint's.

    Raises
    ------
    CheckpointError
        If they differ (the message names the store and the checkpoint).
    """
    check_data_matches(
        config, store.bands, store.cutout_size, f"store {store.root}", checkpoint
    )


def _prepare(
    store: Store | str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    device: str,
    batch_size: int | None,
) -> tuple[Store, SSLModel, TrainConfig, dict[str, Any], torch.device, int]:
    """Open the store and the model and check they belong together."""
    store = store if isinstance(store, Store) else Store.open(store)
    store.cutouts  # noqa: B018 - raises StoreError if the store has no cutouts
    dev = resolve_device(device)
    model, config, state = load_model(checkpoint, dev)
    check_store(store, config, checkpoint)
    batch_size = batch_size or auto_batch_size(model, config, dev)
    return store, model, config, state, dev, batch_size


def write_embeddings(
    store: Store | str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    device: str = "auto",
    batch_size: int | None = None,
    num_workers: int = 1,
    progress: Progress | None = None,
    bar: bool | None = None,
) -> dict[str, Any]:
    """Embed every cutout of ``store`` into ``directory`` (a version being built).

    Writes ``embeddings.npy`` (``(N, D)`` float32, L2-normalised rows,
    memory-mapped chunk by chunk) and ``config.json``; nothing else.

    Parameters
    ----------
    store : Store or path
        The store to embed.
    checkpoint : path-like
        Trained checkpoint.
    directory : path-like
        Existing directory, typically the one ``Store.new_version`` yields.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    batch_size : int, optional
        Cutouts per forward pass; by default measured from the free memory on
        CUDA (:func:`auto_batch_size`), :data:`DEFAULT_BATCH` on CPU.
    num_workers : int
        DataLoader reader processes.
    progress : callable, optional
        Called after each batch (see :func:`stream_batches`).
    bar : bool or None
        Show a tqdm bar: None on a terminal only, False never.

    Returns
    -------
    dict
        The ``config.json`` written.

    Raises
    ------
    StoreError
        If the store has no cutouts.
    CheckpointError
        If the checkpoint is unusable or was trained on other bands or sizes.
    DataError
        If fewer rows than the store's sources were read.
    """
    store, model, config, state, dev, batch_size = _prepare(
        store, checkpoint, device, batch_size
    )
    directory = Path(directory)
    n, dim = store.n_sources, config.embedding_dim
    emb = np.lib.format.open_memmap(
        directory / EMBEDDINGS, mode="w+", dtype=np.float32, shape=(n, dim)
    )
    t0 = time.perf_counter()
    done = stream_batches(
        model,
        config,
        dev,
        store,
        emb,
        batch_size=batch_size,
        num_workers=num_workers,
        progress=progress,
        bar=bar,
        desc=f"embed {directory.name}",
    )
    if done != n:
        msg = f"embedded {done} of {n} sources of {store.root}: store incomplete"
        raise DataError(msg)
    emb.flush()
    del emb
    seconds = time.perf_counter() - t0
    meta = version_config(checkpoint, state, config, dev, n, seconds)
    atomic.write_json(directory / CONFIG, meta)
    log.info(
        "embedded %d sources in %.1f s (%.0f img/s) on %s",
        n,
        seconds,
        n / max(seconds, 1e-9),
        dev,
    )
    return meta


def embed_store(
    store: Store | str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    version: str,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    make_current: bool = True,
    num_workers: int = 1,
    progress: Progress | None = None,
    bar: bool | None = None,
    before_publish: Callable[[Path], None] | None = None,
) -> Path:
    """Embed every cutout of ``store`` into a new version ``version``.

    The version holds the embeddings and ``config.json`` only; the caller
    adds the analysis (map, index, scores) through ``before_publish``, so
    this torch-side function never runs UMAP/FAISS/HDBSCAN itself.

    Parameters
    ----------
    store : Store or path
        The store to embed.
    checkpoint : path-like
        Trained checkpoint.
    version : str
        New version name (must not exist).
    device, batch_size, num_workers, progress, bar
        As for :func:`write_embeddings`.
    make_current : bool
        Make the new version the store's current one.
    before_publish : callable, optional
        Called with the temporary version directory once the embeddings are
        written, before the version is published (e.g. the analysis).

    Returns
    -------
    pathlib.Path
        The published version directory.

    Raises
    ------
    StoreError
        If the store has no cutouts or the version exists.
    CheckpointError
        If the checkpoint is unusable or was trained on other bands or sizes.
    """
    store = store if isinstance(store, Store) else Store.open(store)
    # Filled before the context exits: new_version writes it to the manifest
    # when it publishes, and the embedding dimension is known only then.
    entry: dict[str, Any] = {}
    with store.new_version(version, make_current=make_current, info=entry) as tmp:
        meta = write_embeddings(
            store,
            checkpoint,
            tmp,
            device=device,
            batch_size=batch_size,
            num_workers=num_workers,
            progress=progress,
            bar=bar,
        )
        entry.update(manifest_entry(meta))
        if before_publish is not None:
            before_publish(tmp)
    return store.version_dir(version)


def encode_store(
    store: Store | str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    *,
    device: str = "auto",
    batch_size: int | None = None,
    num_workers: int = 0,
    bar: bool | None = None,
) -> np.ndarray:
    """Representations of every cutout of ``store``, in memory (no version).

    Returns
    -------
    ndarray
        ``(N, D)`` float32, L2-normalised rows, in store row order.

    Raises
    ------
    CheckpointError
        If the checkpoint is unusable or was trained on other bands or sizes.
    """
    store, model, config, _, dev, batch_size = _prepare(
        store, checkpoint, device, batch_size
    )
    out = np.empty((store.n_sources, config.embedding_dim), np.float32)
    stream_batches(
        model,
        config,
        dev,
        store,
        out,
        batch_size=batch_size,
        num_workers=num_workers,
        bar=bar,
    )
    return out
