"""Embed a store's cutouts with a trained encoder into a new store version.

The representation is the encoder output ``h`` (not the projector's ``z``),
L2-normalised, float32, written chunk by chunk into a memory-mapped
``embeddings.npy`` inside :meth:`explorer.store.Store.new_version`'s temporary
directory, with ``config.json``; then the analysis (map, index, scores) of
:mod:`explorer.analysis.pipeline` runs on that directory before the version is
published atomically. Inputs go through :class:`models.augment.Preprocess`,
the same deterministic path as training's views.
"""

from __future__ import annotations

import datetime as _dt
import json
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
from explorer.store import CONFIG, EMBEDDINGS, Store
from models.augment import Preprocess
from models.checkpoint import (
    check_data_matches,
    load_checkpoint,
    model_from_checkpoint,
    sha256_file,
)
from models.config import TrainConfig
from models.data import ShardBatches, make_loader
from models.encoder import SSLModel
from models.train import resolve_device

log = logging.getLogger(__name__)

DEFAULT_BATCH = 512
#: Share of the GPU's free memory one embedding batch may take.
GPU_MEMORY_SHARE = 0.5
#: Bounds of the automatic GPU batch size.
GPU_BATCH_RANGE = (256, 16384)
#: Cutouts in the forward pass that measures a GPU's memory per cutout.
_PROBE_BATCH = 64


def batch_for_memory(
    free_bytes: int,
    bytes_per_cutout: float,
    *,
    share: float = GPU_MEMORY_SHARE,
    bounds: tuple[int, int] = GPU_BATCH_RANGE,
) -> int:
    """Largest batch whose activations fit in ``share`` of ``free_bytes``.

    Rounded down to a multiple of 256 (whole warps/tiles) and clipped to
    ``bounds``.

    Parameters
    ----------
    free_bytes : int
        Free device memory in bytes.
    bytes_per_cutout : float
        Peak memory one cutout adds to a forward pass, in bytes.

    Returns
    -------
    int
        Batch size.
    """
    lo, hi = bounds
    if bytes_per_cutout <= 0:
        return hi
    fitting = int(share * free_bytes / bytes_per_cutout)
    return int(min(max((fitting // 256) * 256, lo), hi))


def auto_batch_size(model: SSLModel, config: TrainConfig, device: torch.device) -> int:
    """Embedding batch size for ``device``: measured from free memory on CUDA.

    On CUDA a probe forward pass of a few cutouts measures the peak memory per
    cutout, and the batch fills :data:`GPU_MEMORY_SHARE` of what is free, so
    large cards are kept busy. On CPU it is :data:`DEFAULT_BATCH`.
    """
    if device.type != "cuda":
        return DEFAULT_BATCH
    size = config.cutout_size
    probe = torch.zeros(_PROBE_BATCH, len(config.bands), size, size, device=device)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    encode(model, config, probe)
    torch.cuda.synchronize(device)
    per_cutout = (torch.cuda.max_memory_allocated(device) - before) / _PROBE_BATCH
    free, _total = torch.cuda.mem_get_info(device)
    batch = batch_for_memory(free, per_cutout)
    log.info(
        "GPU batch size %d (%.1f MiB free, %.2f MiB per cutout)",
        batch,
        free / 2**20,
        per_cutout / 2**20,
    )
    return batch


@torch.no_grad()
def encode(model: SSLModel, config: TrainConfig, raw: torch.Tensor) -> torch.Tensor:
    """L2-normalised representations ``h`` of raw cutouts.

    Parameters
    ----------
    model : SSLModel
        In eval mode, on the device of ``raw``.
    config : TrainConfig
        Its preprocessing settings (crop, centred region, stretch) are applied.
    raw : Tensor
        ``(n, bands, S, S)`` cutouts as stored (NaNs are zeroed).

    Returns
    -------
    Tensor
        ``(n, D)`` float32, unit rows.
    """
    x = Preprocess(config)(raw)
    if x.device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            h = model.encoder(x)
    else:
        h = model.encoder(x)
    return torch.nn.functional.normalize(h.float(), dim=1)


def _load(
    checkpoint: str | os.PathLike[str],
    device: torch.device,
) -> tuple[SSLModel, TrainConfig, dict[str, Any]]:
    state = load_checkpoint(checkpoint)
    model, config = model_from_checkpoint(state, checkpoint)
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    return model, config, state


def embed_arrays(
    checkpoint: str | os.PathLike[str],
    cutouts: np.ndarray,
    *,
    device: str = "auto",
    batch_size: int = DEFAULT_BATCH,
) -> np.ndarray:
    """Embed in-memory cutouts (e.g. an uploaded FITS file) with a checkpoint.

    Parameters
    ----------
    checkpoint : path-like
        A checkpoint written by ``latentsky train``.
    cutouts : ndarray
        ``(n, bands, S, S)`` or a single ``(bands, S, S)`` cutout; band count
        and size must match the training data.

    Returns
    -------
    ndarray
        ``(n, D)`` float32 L2-normalised representations.

    Raises
    ------
    DataError
        If ``cutouts`` does not have 3 or 4 dimensions or is not square.
    CheckpointError
        If the checkpoint is unusable or was trained on other bands or sizes.
    """
    arr = np.asarray(cutouts, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != arr.shape[-2]:
        msg = f"cutouts have shape {np.shape(cutouts)}, expected (n, bands, S, S)"
        raise DataError(msg)
    dev = resolve_device(device)
    model, config, _ = _load(checkpoint, dev)
    check_data_matches(
        config, arr.shape[1], arr.shape[-1], "the given cutouts", checkpoint
    )
    out = np.empty((len(arr), config.embedding_dim), np.float32)
    for start in range(0, len(arr), batch_size):
        raw = torch.from_numpy(arr[start : start + batch_size]).to(dev)
        out[start : start + len(raw)] = encode(model, config, raw).cpu().numpy()
    return out


def embed_store(
    store: Store | str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    version: str,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    make_current: bool = True,
    analyse: bool = True,
    num_workers: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Embed every cutout of ``store`` into a new version ``version``.

    Parameters
    ----------
    store : Store or path
        The store to embed.
    checkpoint : path-like
        Trained checkpoint.
    version : str
        New version name (must not exist).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    batch_size : int, optional
        Cutouts per forward pass; by default measured from the free memory on
        CUDA (:func:`auto_batch_size`), :data:`DEFAULT_BATCH` on CPU.
    make_current : bool
        Make the new version the store's current one.
    analyse : bool
        Run :func:`explorer.analysis.analyse_directory` before publishing.
    num_workers : int
        DataLoader reader processes.
    progress : callable, optional
        Called with ``{"phase": "embed", "done", "total", "fraction",
        "images_per_s", "eta_s"}`` after each batch.

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
    store.cutouts  # noqa: B018 - raises StoreError if the store has no cutouts
    dev = resolve_device(device)
    model, config, state = _load(checkpoint, dev)
    check_data_matches(
        config, store.bands, store.cutout_size, f"store {store.root}", checkpoint
    )
    n, dim = store.n_sources, config.embedding_dim
    previous = store.current_version
    info = {
        "embedding_dim": dim,
        "method": config.method,
        "checkpoint": str(Path(checkpoint).resolve()),
    }
    batch_size = batch_size or auto_batch_size(model, config, dev)
    dataset = ShardBatches(store.root, batch_size, shuffle=False, drop_last=False)
    loader = make_loader(dataset, num_workers, pin_memory=dev.type == "cuda")
    with store.new_version(version, make_current=make_current, info=info) as tmp:
        emb = np.lib.format.open_memmap(
            tmp / EMBEDDINGS, mode="w+", dtype=np.float32, shape=(n, dim)
        )
        t0, done = time.perf_counter(), 0
        for rows, raw in tqdm(
            loader,
            total=len(dataset),
            desc=f"embed {version}",
            unit="batch",
            disable=None,
        ):
            emb[rows.numpy()] = encode(model, config, raw.to(dev)).cpu().numpy()
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
        if done != n:
            msg = f"embedded {done} of {n} sources of {store.root}: store incomplete"
            raise DataError(msg)
        emb.flush()
        del emb
        seconds = time.perf_counter() - t0
        meta = {
            "checkpoint": str(Path(checkpoint).resolve()),
            "checkpoint_sha256": sha256_file(checkpoint),
            "checkpoint_epoch": int(state.get("epoch", 0)),
            "training_config": config.to_dict(),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "device": str(dev),
            "embedding_dim": dim,
            "representation": "encoder output h, L2-normalised",
            "n_sources": n,
            "embed_seconds": round(seconds, 2),
            "embed_images_per_s": round(n / max(seconds, 1e-9), 1),
        }
        (tmp / CONFIG).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        log.info(
            "embedded %d sources in %.1f s (%.0f img/s) on %s",
            n,
            seconds,
            n / max(seconds, 1e-9),
            dev,
        )
        if analyse:
            from explorer.analysis.pipeline import analyse_directory

            analyse_directory(store, tmp, previous=previous)
    return store.version_dir(version)
