"""Encode one block of store rows with a checkpoint kept loaded per process.

The worker side of ``latentsky embed --dask`` (reached through
:func:`explorer.jobs.runner.encode_rows`): a dask worker process runs many
block tasks, and the checkpoint is read and the model built only on its
first one (:func:`cached_model`, keyed by the file's path, size and mtime, so
a rewritten checkpoint is reloaded). :func:`embedding_config` is the lead's
``config.json`` of the version, the same record :mod:`models.embed` writes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.store import Store
from models.config import TrainConfig
from models.embed import check_store, version_config
from models.encode import DEFAULT_BATCH, encode, load_model
from models.encoder import SSLModel
from models.train import resolve_device

log = logging.getLogger(__name__)

#: (path, size, mtime_ns, device) -> (model, config, checkpoint dict, device).
_MODELS: dict[tuple[str, int, int, str], tuple[Any, ...]] = {}


def cached_model(
    checkpoint: str | os.PathLike[str], device: str = "auto"
) -> tuple[SSLModel, TrainConfig, dict[str, Any], torch.device]:
    """The checkpoint's model on ``device``, loaded once per process.

    Returns
    -------
    tuple
        ``(model, config, state, device)`` as :func:`models.encode.load_model`
        plus the resolved device.

    Raises
    ------
    CheckpointError
        If the checkpoint is unusable.
    """
    path = Path(checkpoint).resolve()
    stat = path.stat() if path.is_file() else None
    key = (str(path), stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1)
    key = (*key, device)
    if key not in _MODELS:
        dev = resolve_device(device)
        _MODELS.clear()  # one checkpoint at a time per worker
        _MODELS[key] = (*load_model(path, dev), dev)
        log.info("loaded %s on %s in process %d", path.name, dev, os.getpid())
    return _MODELS[key]


def encode_rows(
    store_root: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    start: int,
    stop: int,
    *,
    device: str = "auto",
    batch_size: int | None = None,
) -> np.ndarray:
    """L2-normalised ``h`` of store rows ``start:stop``.

    Parameters
    ----------
    store_root : path-like
        The store.
    checkpoint : path-like
        Trained checkpoint (loaded once per process).
    start, stop : int
        Rows to encode, ``0 <= start < stop <= N``.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    batch_size : int, optional
        Cutouts per forward pass (default :data:`DEFAULT_BATCH`).

    Returns
    -------
    ndarray
        ``(stop - start, D)`` float32 unit rows.

    Raises
    ------
    CheckpointError
        If the checkpoint is unusable or was trained on other bands or sizes.
    """
    model, config, _, dev = cached_model(checkpoint, device)
    store = Store.open(store_root)
    check_store(store, config, checkpoint)
    step = batch_size or DEFAULT_BATCH
    out = np.empty((stop - start, config.embedding_dim), np.float32)
    for a in range(start, stop, step):
        b = min(a + step, stop)
        raw = torch.from_numpy(np.asarray(store.cutouts[a:b], dtype=np.float32))
        out[a - start : b - start] = encode(model, config, raw.to(dev)).cpu().numpy()
    return out


def embedding_config(
    store_root: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    *,
    device: str = "auto",
    seconds: float = 0.0,
) -> dict[str, Any]:
    """The ``config.json`` of a version embedded from ``checkpoint``.

    Also the lead's check, before any task runs, that the checkpoint is
    usable and matches the store's bands and cutout size.

    Parameters
    ----------
    store_root, checkpoint, device
        As for :func:`encode_rows` (``device`` as the workers resolve it).
    seconds : float
        Wall time of the embedding.

    Returns
    -------
    dict
        Provenance, ``embedding_dim``, ``n_sources`` and timings.

    Raises
    ------
    StoreError
        If the store has no cutouts.
    CheckpointError
        If the checkpoint is unusable or does not match the store.
    """
    store = Store.open(store_root)
    store.cutouts  # noqa: B018 - raises StoreError if the store has no cutouts
    _, config, state, dev = cached_model(checkpoint, device)
    check_store(store, config, checkpoint)
    return version_config(checkpoint, state, config, dev, store.n_sources, seconds)
