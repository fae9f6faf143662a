"""The one gateway of ``explorer`` to the torch side, and the job runner.

:class:`JobRunner` (start, watch, cancel a background job; defined in
:mod:`explorer.jobs.control`) is re-exported here; a job's pipeline runs the
torch worker given by :func:`worker_command` as its child.

The gateway functions (:func:`training_defaults`, :func:`train_encoder`,
:func:`embed_version`, :func:`encode_store`, :func:`embed_cutouts`) are how
the rest of ``explorer`` uses the encoder: this is the only module that names
``models``, always inside a function, so importing it never imports torch.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import DataError
from explorer.jobs import process
from explorer.jobs.control import JobRunner
from explorer.store import Store

__all__ = [
    "JobRunner",
    "embed_cutouts",
    "embed_version",
    "embedding_config",
    "encode_rows",
    "encode_store",
    "load_torch_side",
    "open_for_embedding",
    "train_encoder",
    "train_reference",
    "train_supervised",
    "training_defaults",
    "training_summary",
    "worker_command",
]

log = logging.getLogger(__name__)


def worker_command(directory: Path, staging: Path) -> list[str]:
    """The torch worker of a job: fine-tunes and/or embeds into ``staging``."""
    return [sys.executable, "-m", "models.worker", str(directory), str(staging)]


def training_defaults() -> dict[str, Any]:
    """The default training settings (``TrainConfig`` fields); imports no torch."""
    from models.api import training_defaults as defaults

    return defaults()


def train_encoder(
    store_root: Path,
    out: Path,
    settings: dict[str, Any],
    *,
    device: str = "auto",
    resume: bool = False,
    progress: bool = True,
    slim: bool = False,
    on_epoch_end: Callable[[int, Callable[[np.ndarray], np.ndarray]], Any]
    | None = None,
    rows: np.ndarray | None = None,
) -> Path:
    """Train a self-supervised encoder on the store's cutouts, in this process.

    Parameters
    ----------
    store_root : pathlib.Path
        The store.
    out : pathlib.Path
        Checkpoint file, rewritten atomically after every epoch.
    settings : dict
        Training setting overrides, e.g. ``{"width": 16, "epochs": 6}``
        (``None`` values keep the default).
    device : str
        ``"auto"`` (cuda > cpu), ``"cpu"`` or ``"cuda"``.
    resume : bool
        Continue from ``out`` if it exists.
    progress : bool
        Log a line per epoch.
    slim : bool
        Leave the optimiser state out of the checkpoint.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, encode)`` after every epoch, where ``encode``
        maps raw cutouts ``(n, bands, S, S)`` to ``(n, D)`` float32 unit ``h``
        of the current model; a returned dict is merged into that epoch's
        history entry (the benchmark's accuracy-vs-epochs curve).
    rows : ndarray, optional
        Train on these store rows only (a tuning subset, a benchmark split).

    Returns
    -------
    pathlib.Path
        The checkpoint written.

    Raises
    ------
    DataError
        If a settings key is not a training setting (the message names it).
    """
    from models.api import train_encoder as train

    return train(
        Path(store_root),
        Path(out),
        settings,
        device=device,
        resume=resume,
        progress=progress,
        slim=slim,
        on_epoch_end=on_epoch_end,
        rows=rows,
    )


def train_reference(
    cutouts: np.ndarray,
    settings: dict[str, Any],
    on_epoch_end: Callable[[int, Callable[[np.ndarray], np.ndarray]], Any]
    | None = None,
) -> list[dict[str, Any]]:
    """Train the benchmark's plain reference SimCLR on in-memory raw cutouts.

    Returns the per-epoch history (``on_epoch_end`` as for :func:`train_encoder`).
    """
    from models.api import train_reference as train

    return train(cutouts, settings, on_epoch_end)


def train_supervised(
    cutouts: np.ndarray,
    labels: np.ndarray,
    settings: dict[str, Any],
    bands: list[str],
    on_epoch_end: Callable[[int, Callable[[np.ndarray], np.ndarray]], Any]
    | None = None,
) -> list[dict[str, Any]]:
    """Train our encoder with a linear head on integer ``labels`` (CPU).

    Returns the per-epoch history (``on_epoch_end`` as for :func:`train_encoder`).
    """
    from models.api import train_supervised as train

    return train(cutouts, labels, settings, bands, on_epoch_end)


def load_torch_side() -> None:
    """Import the training and embedding code (and torch) now.

    A benchmark calls it first so that its timed calls do not include
    torch's import, which takes seconds.
    """
    import models.embed  # noqa: F401
    import models.train  # noqa: F401


def training_summary(checkpoint: Path) -> dict[str, Any]:
    """What a checkpoint records of its training run.

    Returns
    -------
    dict
        ``{"config", "epochs", "history", "device", "device_name"}``: the
        TrainConfig dict, completed epochs, per-epoch history entries, the
        device trained on and (on CUDA) the GPU's name.
    """
    from models.api import training_summary as summary

    return summary(Path(checkpoint))


def embed_version(
    store_root: Path,
    checkpoint: Path,
    version: str,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    workers: int = 0,
    progress: bool = True,
    make_current: bool = True,
    analyse: bool = True,
    map_method: str = "umap",
    map_seed: int | None = None,
) -> str:
    """Embed the store into a new version, analyse it and publish it (in process).

    Parameters
    ----------
    store_root : pathlib.Path
        The store.
    checkpoint : pathlib.Path
        Trained checkpoint.
    version : str
        Name of the new version (must not exist).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    batch_size : int, optional
        Cutouts per forward pass (default from free GPU memory; 512 on CPU).
    workers : int
        Data-loading worker processes.
    progress : bool
        Show progress bars.
    make_current : bool
        Make the new version current.
    analyse : bool
        Compute map, index and scores before publishing (the dashboard
        needs them; False writes the embeddings only).
    map_method : {"umap", "tsne", "pca"}
        The version's map method.
    map_seed : int, optional
        Seed of the map (None: unseeded, parallel).

    Returns
    -------
    str
        The version's name.
    """
    from explorer.analysis.pipeline import analyse_directory
    from models.api import embed_store

    store, previous = open_for_embedding(store_root, map_method)

    def analysis(directory: Path) -> None:
        analyse_directory(
            store,
            directory,
            previous=previous,
            progress=progress,
            map_method=map_method,
            map_seed=map_seed,
        )

    embed_store(
        store.root,
        Path(checkpoint),
        version,
        device=device,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        make_current=make_current,
        before_publish=analysis if analyse else None,
    )
    return version


def open_for_embedding(
    store_root: Path, map_method: str = "umap"
) -> tuple[Store, str | None]:
    """The store a new version is embedded into, and the version to align to.

    Shared by :func:`embed_version` and
    :func:`explorer.distributed.embed.embed_version_on_dask`.

    Parameters
    ----------
    store_root : pathlib.Path
        The store.
    map_method : str
        The new version's map method, checked before any embedding.

    Returns
    -------
    (Store, str or None)
        The store (opened with its health check) and its current version,
        or None when it has none or it is damaged.

    Raises
    ------
    DataError
        If ``map_method`` is unknown.
    StoreError
        If the store cannot be opened.
    """
    from explorer.analysis.map_methods import check_method

    check_method(map_method)  # before the embedding, not after it
    store = Store.open(store_root, check=True)
    previous = store.current_version
    if previous in store.damaged:  # nothing to align the new map with
        previous = None
    return store, previous


def encode_store(
    store_root: Path,
    checkpoint: Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    workers: int = 0,
    progress: bool = True,
) -> np.ndarray:
    """Representations of every cutout of the store, in memory (no version).

    Returns
    -------
    ndarray
        ``(N, D)`` float32, L2-normalised rows ``h``, in store row order.
    """
    from models.api import encode_store as encode

    return encode(
        Path(store_root),
        Path(checkpoint),
        device=device,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
    )


def embed_cutouts(
    checkpoint: Path, cutouts: np.ndarray, *, timeout_s: float = 120.0
) -> np.ndarray:
    """Embed a few cutouts with ``checkpoint`` in a subprocess (on the CPU).

    The calling process (the dashboard server) never imports torch; the
    child takes a few seconds, mostly importing torch.

    Parameters
    ----------
    checkpoint : pathlib.Path
        A checkpoint written by ``latentsky train``.
    cutouts : ndarray
        ``(n, bands, S, S)`` float32.
    timeout_s : float
        Seconds before the subprocess is given up.

    Returns
    -------
    ndarray
        ``(n, D)`` float32 L2-normalised representations.

    Raises
    ------
    DataError
        If the checkpoint is unusable, the cutouts do not match it, or the
        subprocess failed or timed out (the message gives its reason).
    """
    checkpoint = Path(checkpoint)
    command = [sys.executable, "-m", "models.embed_worker", str(checkpoint)]
    try:
        return process.embed_in_subprocess(command, cutouts, timeout_s)
    except DataError as exc:
        msg = f"cannot embed the upload with {checkpoint.name}: {exc}"
        raise DataError(msg) from exc


def encode_rows(
    store_root: Path,
    checkpoint: Path,
    start: int,
    stop: int,
    *,
    device: str = "auto",
    batch_size: int | None = None,
) -> np.ndarray:
    """``(stop - start, D)`` float32 unit ``h`` of store rows ``start:stop``.

    A ``latentsky embed --dask`` task (:mod:`explorer.distributed.embed`):
    the checkpoint is loaded once per worker process, not once per task.

    Raises
    ------
    CheckpointError
        As :func:`models.embed_blocks.encode_rows`.
    """
    from models.embed_blocks import encode_rows as encode

    return encode(
        store_root, checkpoint, start, stop, device=device, batch_size=batch_size
    )


def embedding_config(
    store_root: Path, checkpoint: Path, *, device: str = "auto", seconds: float = 0.0
) -> dict[str, Any]:
    """The ``config.json`` record of a version embedded with ``checkpoint``.

    Also checks, before any ``embed --dask`` task runs, that the checkpoint
    is usable and matches the store's bands and cutout size.

    Raises
    ------
    StoreError, CheckpointError
        As :func:`models.embed_blocks.embedding_config`.
    """
    from models.embed_blocks import embedding_config as config

    return config(store_root, checkpoint, device=device, seconds=seconds)
